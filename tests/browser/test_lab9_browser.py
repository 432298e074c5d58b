"""A learner completes lab 9 in the browser: an access key from the Access keys page, the
client setup the lab page shows, the real pkcs11-tool and openssl in a shell, the signed file
uploaded through the Files panel, and the grader's verdict."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from sandbox.services import sandbox_for
from tests.browser.test_sandbox_browser import ALICE_PASSWORD, log_in
from tests.emulator.pkcs11.p11kit import lab_9_commands, shell_in
from tests.sandbox.conftest import build_active_cluster

pytestmark = [
    pytest.mark.browser,
    pytest.mark.softhsm,
    pytest.mark.django_db(transaction=True),
]


def test_a_learner_completes_lab_9_with_real_pkcs11_tools(live_server, page, learner, tmp_path):
    cluster_id = build_active_cluster(sandbox_for(learner), hsms_in=("us-east-1a", "us-east-1b"))
    log_in(page, live_server, "/sandbox/credentials/")
    page.get_by_role("button", name="Create an access key").click()
    access_key_id = page.locator("#akid").inner_text()
    secret = page.locator("#secret").inner_text()

    page.goto(f"{live_server.url}/sandbox/labs/cloudhsm-client-pkcs11/")
    setup = page.locator("#panel-hsm-client")
    expect(setup).to_contain_text(cluster_id)
    expect(setup).to_contain_text(f"AWS_ACCESS_KEY_ID={access_key_id}")
    exports = dict(re.findall(r'^export (\w+)="?(.*?)"?$', setup.locator("pre").inner_text(), re.M))
    env = {**os.environ, **exports, "AWS_SECRET_ACCESS_KEY": secret}
    # The endpoint on the page is this server's own address, as the browser reached it.
    assert f"--endpoint {live_server.url}/sandbox/cloudhsm/client/" in env["P11_KIT_SERVER_ADDRESS"]

    lab_9_commands(shell_in(env, tmp_path), cluster_id, f"alice:{ALICE_PASSWORD}")

    for name in ("release.txt", "release.txt.sig"):
        files = page.locator("#files")
        if not files.locator("details").get_attribute("open"):
            files.locator("summary").click()
        files.locator("input[type=file]").set_input_files(str(tmp_path / name))
        files.get_by_role("button", name="Save file").click()
        expect(page.locator("#files").get_by_role("link", name=name)).to_be_visible()

    page.get_by_role("button", name="Check my work").click()
    steps = page.locator("#lab-steps")
    expect(steps.get_by_text("Lab complete ✓")).to_be_visible()
    expect(steps.locator("li.step.passed")).to_have_count(5)


def test_the_lab_page_fits_a_phone_with_files_listed(live_server, page, learner):
    # Lab 5's CA panel saves files; each row's Delete button carries a visually hidden name,
    # which once escaped the table's own scrolling and widened the page.
    build_active_cluster(sandbox_for(learner), hsms_in=("us-east-1a", "us-east-1b"))
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, "/sandbox/")
    for slug in ("cloudhsm-client-pkcs11", "cloudhsm-cluster", "tls-offload-private-ca"):
        page.goto(f"{live_server.url}/sandbox/labs/{slug}/")
        expect(page.locator("#files table")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{slug} is {width} px wide at phone width"
