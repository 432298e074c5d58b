"""A learner completes lab 1 (KMS) and lab 5 (a CloudHSM cluster) through the sandbox UI."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADMIN_PASSWORD = "admin-pass-1"
ALICE_PASSWORD = "alice-pass-1"


def log_in(page, live_server, next_path: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill("learner")
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name=re.compile("Log in", re.I)).click()
    expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))


class Console:
    """Types into the console like a learner and returns what it printed."""

    def __init__(self, page) -> None:
        self.page = page
        self.input = page.locator("#console-command")
        self.entries = page.locator("#console-transcript > li")

    def run(self, command: str, *, ok: bool = True) -> str:
        before = self.entries.count()
        self.input.fill(command)
        self.input.press("Enter")
        expect(self.entries).to_have_count(before + 1)
        entry = self.entries.last
        if ok:
            expect(entry).not_to_have_class(re.compile("failed"))
        else:
            expect(entry).to_have_class(re.compile("failed"))
        expect(self.input).to_have_value("")
        output = entry.locator(".console-output")
        return output.inner_text() if output.count() else ""

    def run_json(self, command: str) -> dict:
        return json.loads(self.run(command))


def fast_forward(page, label: str) -> None:
    clock = page.locator("#sandbox-clock")
    before = clock.locator("p").inner_text()
    clock.get_by_role("button", name=label).click()
    expect(clock.locator("p")).not_to_have_text(before)


def test_a_learner_completes_lab_1_in_the_browser(live_server, page, learner):
    log_in(page, live_server, "/sandbox/")
    page.get_by_role("link", name="KMS basics: keys, aliases, encryption context").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Lab 1"))
    console = Console(page)

    key_id = console.run_json('aws kms create-key --description "lab 1"')["KeyMetadata"]["KeyId"]
    console.run(f"aws kms create-alias --alias-name alias/lab1 --target-key-id {key_id}")
    wrote = console.run(
        "aws kms encrypt --key-id alias/lab1 --plaintext SGVsbG8sIEtNUyE= "
        "--encryption-context purpose=lab1 --output text --query CiphertextBlob "
        "| base64 --decode > hello.enc"
    )
    assert "hello.enc" in wrote
    shown = console.run(
        "aws kms decrypt --ciphertext-blob fileb://hello.enc --encryption-context purpose=lab1 "
        "--output text --query Plaintext | base64 --decode"
    )
    assert shown == "Hello, KMS!"
    failed = console.run(
        "aws kms decrypt --ciphertext-blob fileb://hello.enc --encryption-context purpose=other",
        ok=False,
    )
    assert "InvalidCiphertextException" in failed

    # The history is one keystroke away.
    console.input.press("ArrowUp")
    expect(console.input).to_have_value(re.compile(r"--encryption-context purpose=other$"))
    console.input.fill("")

    page.get_by_role("button", name="Check my work").click()
    steps = page.locator("#lab-steps")
    expect(steps.get_by_text("Lab complete ✓")).to_be_visible()
    expect(steps.locator("li.step.passed")).to_have_count(5)

    page.get_by_role("link", name="Labs", exact=True).first.click()
    expect(page.get_by_text("You completed 1 of 10 labs.")).to_be_visible()

    # The overview's architecture view follows what the console does, without a reload.
    page.get_by_role("link", name="Overview").click()
    architecture = page.locator("#architecture-view")
    expect(architecture).to_contain_text("alias/lab1")
    Console(page).run("aws kms create-key --description live")
    expect(architecture.locator("rect.arch-key")).to_have_count(2)
    expect(page.locator("#quota-list")).to_contain_text("KMS keys2 of")  # and so do the quotas


def test_a_learner_completes_lab_5_in_the_browser(live_server, page, learner):
    log_in(page, live_server, "/sandbox/labs/cloudhsm-cluster/")
    console = Console(page)
    subnets = re.findall(r"subnet-0[0-9a-f]{16}", page.locator("main").inner_text())[:3]
    assert len(subnets) == 3

    cluster = console.run_json(
        f"aws cloudhsmv2 create-cluster --hsm-type hsm2m.medium --subnet-ids {' '.join(subnets)}"
    )["Cluster"]
    cluster_id = cluster["ClusterId"]
    assert cluster["State"] == "CREATE_IN_PROGRESS"
    fast_forward(page, "+15 minutes")
    console.run(
        f"aws cloudhsmv2 create-hsm --cluster-id {cluster_id} --availability-zone us-east-1a"
    )
    fast_forward(page, "+15 minutes")

    # The CA panel: a CA made in this browser session signs the cluster's CSR.
    page.reload()
    ca_panel = page.locator("#panel-ca")
    ca_panel.get_by_role("button", name="Generate a CA for me in this browser session").click()
    expect(ca_panel.get_by_text("A CA was generated")).to_be_visible()
    ca_panel.get_by_label("Cluster").first.select_option(cluster_id)
    ca_panel.get_by_role("button", name="Sign the CSR and initialize").click()
    expect(ca_panel.get_by_text("InitializeCluster: INITIALIZE_IN_PROGRESS")).to_be_visible()
    fast_forward(page, "+5 minutes")

    assert "activation successful" in console.run(f"cluster activate --password {ADMIN_PASSWORD}")
    for zone in ("us-east-1b", "us-east-1c"):
        console.run(
            f"aws cloudhsmv2 create-hsm --cluster-id {cluster_id} --availability-zone {zone}"
        )
    fast_forward(page, "+15 minutes")
    console.run(f"login --username admin --role admin --password {ADMIN_PASSWORD}")
    console.run(f"user create --username alice --role crypto-user --password {ALICE_PASSWORD}")
    console.run("logout")
    console.run(f"login --username alice --role crypto-user --password {ALICE_PASSWORD}")
    console.run(
        "key generate-symmetric aes --label lab5-key --key-length-bytes 32 "
        "--attributes encrypt=true decrypt=true"
    )
    console.run("logout")

    # Fail one HSM: the cluster is DEGRADED, the key still works.
    page.reload()
    hsm_panel = page.locator("#panel-hsm-ops")
    hsm_select = hsm_panel.locator("select[name=hsm_id]")
    failed_hsm = hsm_select.locator("option", has_text="us-east-1b").get_attribute("value")
    hsm_select.select_option(failed_hsm)
    hsm_panel.get_by_label(re.compile("Fail it")).check()
    hsm_panel.get_by_role("button", name="Apply").click()
    # The panel's own result message (its option label mentions DEGRADED too).
    expect(
        hsm_panel.get_by_role("status").filter(has_text="failed: it is DEGRADED")
    ).to_be_visible()
    clusters = console.run_json("aws cloudhsmv2 describe-clusters")["Clusters"]
    assert clusters[0]["State"] == "DEGRADED"

    use_panel = page.locator("#panel-hsm-use")
    use_panel.get_by_label("Crypto user").fill("alice")
    use_panel.get_by_label("Password").fill(ALICE_PASSWORD)
    use_panel.get_by_label("Key label").fill("lab5-key")
    use_panel.get_by_role("button", name="Encrypt and decrypt a test message").click()
    expect(use_panel.get_by_text("C_Decrypt: round trip OK.")).to_be_visible()

    # Replace it from the backup, let the new HSM come up, and check the work.
    page.reload()
    hsm_panel = page.locator("#panel-hsm-ops")
    hsm_panel.locator("select[name=hsm_id]").select_option(failed_hsm)
    hsm_panel.get_by_label(re.compile("Replace it")).check()
    hsm_panel.get_by_role("button", name="Apply").click()
    expect(hsm_panel.get_by_text(re.compile("created from that backup"))).to_be_visible()
    fast_forward(page, "+15 minutes")

    page.get_by_role("button", name="Check my work").click()
    steps = page.locator("#lab-steps")
    expect(steps.get_by_text("Lab complete ✓")).to_be_visible()
    expect(steps.locator("li.step.passed")).to_have_count(8)
