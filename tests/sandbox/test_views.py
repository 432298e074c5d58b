"""The sandbox pages, each with and without HX-Request, and who may see them."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from sandbox.models import ConsoleEntry, LabProgress, SandboxAccessKey, SandboxEvent, SandboxFile
from sandbox.services import CONSOLE_HISTORY_KEPT, access_key_secret, console_record

from .conftest import run, signed_post

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PAGES = [
    "/sandbox/",
    "/sandbox/labs/",
    "/sandbox/labs/kms-basics/",
    "/sandbox/labs/cloudhsm-cluster/",
    "/sandbox/audit/",
    "/sandbox/credentials/",
    "/sandbox/reset/",
]


@pytest.fixture
def logged_in(client, learner):
    client.force_login(learner)
    return client


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", PAGES)
def test_every_page_renders_for_a_learner(logged_in, url):
    response = logged_in.get(url)
    assert response.status_code == 200
    assert b"Account <code>" in response.content


def test_the_nav_links_to_the_sandbox(logged_in):
    assert b'href="/sandbox/"' in logged_in.get("/lessons/").content


def test_the_sandbox_page_shows_account_subnets_and_a_live_architecture(logged_in, account):
    page = logged_in.get("/sandbox/").content.decode()
    assert account.account_id in page
    assert 'hx-trigger="sandbox-changed from:body"' in page
    assert "<svg" in page and "us-east-1a" in page
    assert "subnet-0" in page


def test_the_architecture_region_alone_for_htmx_and_a_redirect_otherwise(logged_in):
    run_in = logged_in.post("/sandbox/console/", {"command": "aws kms create-key --description x"})
    assert run_in.status_code == 200
    partial = logged_in.get("/sandbox/architecture/", **HTMX)
    assert partial.status_code == 200
    assert partial.content.decode().lstrip().startswith('<div id="architecture-view"')
    assert b"SYMMETRIC_DEFAULT" in partial.content
    # The quotas panel comes along out of band, so its counts follow the change.
    assert '<dl id="quota-list" class="quota-list" hx-swap-oob="true">' in partial.text
    assert "<dt>KMS keys</dt><dd>1 of " in partial.text
    assert "HX-Request" in partial["Vary"]
    plain = logged_in.get("/sandbox/architecture/")
    assert plain.status_code == 302 and plain["Location"].endswith("#architecture")


def test_console_with_htmx_appends_one_entry_and_signals_a_change(logged_in):
    response = logged_in.post("/sandbox/console/", {"command": "aws kms list-keys"}, **HTMX)
    body = response.content.decode()
    assert body.strip().startswith('<li class="console-entry')
    assert "&quot;Keys&quot;: []" in body
    assert "sandbox-changed" in json.loads(response["HX-Trigger"])
    helper = logged_in.post("/sandbox/console/", {"command": "help"}, **HTMX)
    assert "HX-Trigger" not in helper
    assert ConsoleEntry.objects.count() == 2


def test_the_transcript_keeps_the_newest_commands_of_each_sandbox(account, other_account):
    other = other_account
    console_record(account=other, command="theirs", output="", ok=True)
    for number in range(CONSOLE_HISTORY_KEPT + 5):
        console_record(account=account, command=f"help {number}", output="", ok=True)
    kept = list(
        ConsoleEntry.objects.filter(account=account)
        .order_by("id")
        .values_list("command", flat=True)
    )
    assert len(kept) == CONSOLE_HISTORY_KEPT
    assert kept[0] == "help 5" and kept[-1] == f"help {CONSOLE_HISTORY_KEPT + 4}"
    assert ConsoleEntry.objects.filter(account=other).count() == 1  # another sandbox's stays


def test_console_without_javascript_renders_the_page_with_the_answer(logged_in):
    response = logged_in.post("/sandbox/console/", {"command": "aws kms create-key"})
    assert response.status_code == 200
    assert b"KeyMetadata" in response.content
    assert b"<h1>Your crypto sandbox</h1>" in response.content
    lab = logged_in.post("/sandbox/console/", {"command": "ls", "next": "kms-basics"})
    assert b"Lab 1: KMS basics" in lab.content


def test_a_data_key_is_shown_once_then_only_its_redaction(logged_in, account):
    key_id = json.loads(run(account, "aws kms create-key").output)["KeyMetadata"]["KeyId"]
    shown = logged_in.post(
        "/sandbox/console/",
        {"command": f"aws kms generate-data-key --key-id {key_id} --key-spec AES_256"},
        **HTMX,
    )
    plaintext = json.loads(
        shown.content.decode()
        .split('<pre class="console-output">')[1]
        .split("</pre>")[0]
        .replace("&quot;", '"')
    )["Plaintext"]
    later = logged_in.get("/sandbox/").content.decode()
    assert plaintext not in later
    assert "not kept in history" in later


def test_console_clear_empties_the_transcript(logged_in):
    logged_in.post("/sandbox/console/", {"command": "help"})
    response = logged_in.post("/sandbox/console/", {"command": "clear"}, **HTMX)
    assert response["HX-Retarget"] == "#console-transcript"
    assert ConsoleEntry.objects.count() == 0


def test_files_upload_download_and_delete(logged_in, account):
    upload = SimpleUploadedFile("notes.txt", b"hello file")
    response = logged_in.post("/sandbox/files/", {"upload": upload})
    assert response.status_code == 302
    assert SandboxFile.objects.get(account=account, name="notes.txt").size == 10
    logged_in.post("/sandbox/files/", {"name": "policy.json", "text": '{"a": 1}'})
    download = logged_in.get("/sandbox/files/policy.json/")
    assert download.content == b'{"a": 1}'
    assert download["Content-Disposition"] == 'attachment; filename="policy.json"'
    bad = logged_in.post("/sandbox/files/", {"name": "../etc/passwd", "text": "x"}, follow=True)
    assert not SandboxFile.objects.filter(name__contains="passwd").exists()
    assert b"letters, digits" in bad.content
    logged_in.post("/sandbox/files/notes.txt/delete/")
    assert not SandboxFile.objects.filter(name="notes.txt").exists()


def test_access_keys_are_created_revealed_rotated_and_revoked(logged_in, client):
    created = logged_in.post("/sandbox/credentials/", {"user_name": "root"})
    key = SandboxAccessKey.objects.get()
    secret = access_key_secret(key)
    page = created.content.decode()
    assert key.access_key_id in page and secret in page
    assert "boto3.client(" in page and "aws --endpoint-url" in page
    assert created["Cache-Control"] == "no-store"
    assert len(key.access_key_id) == 20 and key.access_key_id.startswith("AKIA")
    assert len(secret) == 40 and secret not in key.sealed_secret
    rotated = logged_in.post(f"/sandbox/credentials/{key.access_key_id}/rotate/")
    assert rotated.status_code == 200
    key.refresh_from_db()
    assert not key.is_active
    new = SandboxAccessKey.objects.get(status="Active")
    assert logged_in.post(f"/sandbox/credentials/{new.access_key_id}/reveal/").status_code == 200
    logged_in.post(f"/sandbox/credentials/{new.access_key_id}/revoke/")
    new.refresh_from_db()
    assert not new.is_active
    refused = signed_post(
        Client(), "ListKeys", {}, access_key_id=new.access_key_id, secret=access_key_secret(new)
    )
    assert json.loads(refused.content)["__type"] == "UnrecognizedClientException"


def test_the_clock_moves_forward_and_tells_the_architecture(logged_in, account):
    response = logged_in.post("/sandbox/clock/", {"step": "1d"}, **HTMX)
    assert response.status_code == 200
    assert "sandbox-changed" in json.loads(response["HX-Trigger"])
    assert b'id="sandbox-clock"' in response.content
    account.refresh_from_db()
    assert account.clock_offset_seconds == 86400
    plain = logged_in.post("/sandbox/clock/", {"step": "7d", "next": "key-lifecycle"})
    assert plain["Location"] == "/sandbox/labs/key-lifecycle/"


def test_reset_empties_the_sandbox_but_keeps_keys_and_completions(logged_in, account, learner):
    run(account, "aws kms create-key")
    logged_in.post("/sandbox/credentials/", {"user_name": "root"})
    LabProgress.objects.create(user=learner, lab_slug="kms-basics", passed_steps=["x"])
    assert logged_in.get("/sandbox/reset/").status_code == 200
    logged_in.post("/sandbox/reset/")
    assert not account.engine_objects.exists() and not SandboxEvent.objects.exists()
    assert SandboxAccessKey.objects.filter(status="Active").count() == 1
    assert LabProgress.objects.get().passed_steps == []


def test_audit_log_filters_paginates_and_answers_htmx_with_the_table(logged_in, account):
    for _ in range(30):
        run(account, "aws kms list-keys")
    run(account, "aws kms describe-key --key-id alias/none", ok=False)
    page = logged_in.get("/sandbox/audit/")
    assert b"31 events" in page.content and b"Older" in page.content
    failed = logged_in.get("/sandbox/audit/?result=failure", **HTMX)
    body = failed.content.decode()
    assert body.lstrip().startswith('<div id="audit-table">')
    assert "1 event" in body and "NotFoundException" in body
    by_operation = logged_in.get("/sandbox/audit/?service=kms&operation=ListKeys&page=2")
    assert b"page 2 of 2" in by_operation.content
    assert logged_in.get("/sandbox/audit/?service=hsm").content.count(b"<tr class=") == 0
    assert logged_in.get("/sandbox/audit/?page=999").status_code == 200


def test_check_my_work_records_progress_and_answers_htmx_with_the_steps(
    logged_in, account, learner
):
    key_id = json.loads(run(account, "aws kms create-key").output)["KeyMetadata"]["KeyId"]
    response = logged_in.post("/sandbox/labs/kms-basics/check/", **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="lab-steps"')
    assert "1 of 5 steps pass" in body
    assert key_id in body
    progress = LabProgress.objects.get(user=learner, lab_slug="kms-basics")
    assert progress.passed_steps == ["create-key"] and not progress.is_complete
    full = logged_in.post("/sandbox/labs/kms-basics/check/")
    assert b'<h1 id="lab-title">' in full.content
    assert logged_in.get("/sandbox/labs/no-such-lab/").status_code == 404


def test_lab_panels_work_with_and_without_htmx(logged_in, account):
    key_id = json.loads(run(account, "aws kms create-key").output)["KeyMetadata"]["KeyId"]
    logged_in.post("/sandbox/files/", {"name": "doc.txt", "text": "some words"})
    url = "/sandbox/labs/envelope-encryption/do/envelope-encrypt/"
    partial = logged_in.post(
        url, {"file_name": "doc.txt", "key_id": key_id, "context": "a=b"}, **HTMX
    )
    assert partial.content.decode().lstrip().startswith('<section id="panel-envelope"')
    assert b"Plaintext data key" in partial.content
    assert "sandbox-changed" in json.loads(partial["HX-Trigger"])
    page = logged_in.post(
        "/sandbox/labs/envelope-encryption/do/envelope-decrypt/",
        {"package": "doc.txt.envelope.json"},
    )
    assert b"Identical" in page.content and b"<h1" in page.content
    invalid = logged_in.post(url, {"file_name": "", "key_id": ""}, **HTMX)
    assert b"This field is required" in invalid.content
    assert logged_in.post("/sandbox/labs/envelope-encryption/do/nope/").status_code == 404


def test_pages_are_csrf_protected_and_the_endpoint_is_not(learner, credentials):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(learner)
    assert strict.post("/sandbox/console/", {"command": "help"}).status_code == 403
    assert strict.post("/sandbox/reset/").status_code == 403
    signed = signed_post(
        strict, "ListKeys", {}, access_key_id=credentials[0], secret=credentials[1]
    )
    assert signed.status_code == 200


def test_management_command_prints_a_working_key_pair(learner, client):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("sandbox_credentials", learner.username, stdout=out)
    pair = json.loads(out.getvalue())
    assert pair["AccessKeyId"].startswith("AKIA") and len(pair["SecretAccessKey"]) == 40
    assert pair["Principal"].endswith(":root") and pair["EndpointPath"] == "/sandbox/kms/"
    response = signed_post(
        client, "ListKeys", {}, access_key_id=pair["AccessKeyId"], secret=pair["SecretAccessKey"]
    )
    assert response.status_code == 200
    with pytest.raises(Exception, match="No user"):
        call_command("sandbox_credentials", "nobody", stdout=StringIO())


def test_cloudhsm_lab_pages_and_panels_with_a_live_cluster(logged_in, account):
    from .conftest import ALICE_PASSWORD, build_active_cluster

    cluster_id = build_active_cluster(account)
    for slug in (
        "cloudhsm-cluster",
        "pkcs11-attributes",
        "tls-offload-private-ca",
        "custom-key-store",
    ):
        page = logged_in.get(f"/sandbox/labs/{slug}/")
        assert page.status_code == 200, slug
    body = logged_in.get("/sandbox/labs/cloudhsm-cluster/").content.decode()
    hsm_id = body.split('<option value="hsm-')[1].split('"')[0]
    failed = logged_in.post(
        "/sandbox/labs/cloudhsm-cluster/do/hsm-change/",
        {"hsm_id": f"hsm-{hsm_id}", "operation": "fail"},
        **HTMX,
    )
    assert b"DEGRADED" in failed.content
    used = logged_in.post(
        "/sandbox/labs/cloudhsm-cluster/do/hsm-use/",
        {
            "cluster_id": cluster_id,
            "username": "alice",
            "password": ALICE_PASSWORD,
            "label": "lab5-key",
        },
        **HTMX,
    )
    assert b"round trip OK" in used.content
    assert ALICE_PASSWORD.encode() not in used.content
    wrong = logged_in.post(
        "/sandbox/labs/cloudhsm-cluster/do/hsm-use/",
        {
            "cluster_id": cluster_id,
            "username": "alice",
            "password": "wrong-pass",
            "label": "lab5-key",
        },
        **HTMX,
    )
    assert b"CKR_PIN_INCORRECT" in wrong.content
    read = logged_in.post(
        "/sandbox/labs/pkcs11-attributes/do/hsm-read/",
        {
            "cluster_id": cluster_id,
            "username": "alice",
            "password": ALICE_PASSWORD,
            "label": "lab5-key",
        },
    )
    assert b"CKR_ATTRIBUTE_SENSITIVE" in read.content
    generated = logged_in.post("/sandbox/labs/cloudhsm-cluster/do/ca-generate/", **HTMX)
    assert b"Your session CA certificate" in generated.content
    assert b"PRIVATE KEY" not in generated.content


def test_an_overlong_command_is_answered_in_the_transcript_not_with_an_error_page(logged_in):
    long_command = "aws kms encrypt --plaintext " + "x" * 20_000
    plain = logged_in.post("/sandbox/console/", {"command": long_command})
    assert plain.status_code == 200
    assert b"The command is too long" in plain.content
    fragment = logged_in.post("/sandbox/console/", {"command": long_command}, **HTMX)
    assert fragment.status_code == 200 and b"The command is too long" in fragment.content
    assert "HX-Trigger" not in fragment  # the engine was not touched
