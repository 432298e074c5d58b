"""A learner completes lab 10 in the browser: a file uploaded through the Files panel, SSE-KMS
from the console's aws s3api, a CloudHSM key refused, the custom key store's key used by S3,
the HSM key found with the CloudHSM CLI, and the grader's verdict. Lab 8's store is set up
first, the way the lab 8 tests build it."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from sandbox.services import sandbox_for
from tests.browser.test_sandbox_browser import Console, log_in
from tests.sandbox.test_lab10 import connected_store_key
from tests.sandbox.test_labs import KMSUSER_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_learner_completes_lab_10_in_the_browser(live_server, page, learner, tmp_path):
    hsm_backed = connected_store_key(sandbox_for(learner))
    log_in(page, live_server, "/sandbox/labs/s3-native-integration/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lab 10")

    upload = tmp_path / "q3.csv"
    upload.write_bytes(b"revenue,42\n")
    files = page.locator("#files")
    if not files.locator("details").get_attribute("open"):
        files.locator("summary").click()
    files.locator("input[type=file]").set_input_files(str(upload))
    files.get_by_role("button", name="Save file").click()
    expect(files.get_by_role("link", name="q3.csv")).to_be_visible()

    console = Console(page)
    key_arn = console.run_json("aws kms create-key --description s3-lab")["KeyMetadata"]["Arn"]
    console.run("aws s3api create-bucket --bucket reports")
    put = "aws s3api put-object --bucket reports --key {key} --body q3.csv "
    put += "--server-side-encryption aws:kms --ssekms-key-id {kms}"
    stored = console.run_json(put.format(key="q3.csv", kms=key_arn))
    assert stored["SSEKMSKeyId"] == key_arn
    console.run("aws s3api get-object --bucket reports --key q3.csv copy.csv")
    refused = console.run(put.format(key="hsm.csv", kms="lab5-key"), ok=False)
    assert "KMS.NotFoundException" in refused
    console.run(put.format(key="hsm.csv", kms=hsm_backed))
    console.run(f"login --username kmsuser --role crypto-user --password {KMSUSER_PASSWORD}")
    found = json.loads(console.run(f"key list --filter attr.label={hsm_backed} --verbose"))
    assert found["data"]["total_key_count"] == 1
    console.run("logout")

    page.get_by_role("button", name="Check my work").click()
    steps = page.locator("#lab-steps")
    expect(steps.get_by_text("Lab complete ✓")).to_be_visible()
    expect(steps.locator("li.step.passed")).to_have_count(5)

    # The audit log shows what S3 asked KMS for, on the learner's behalf.
    page.goto(live_server.url + "/sandbox/audit/?log=kms")
    expect(page.get_by_text("invoked by s3.amazonaws.com").first).to_be_visible()
