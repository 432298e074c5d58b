"""``/sandbox/cloudhsm/client/`` refuses what it must, with the error a client can show."""

from __future__ import annotations

import json

import pytest

from sandbox.models import SandboxEvent
from sandbox.services import access_key_create
from tests.sandbox.conftest import ALICE_PASSWORD, build_active_cluster, signed_post

pytestmark = pytest.mark.django_db

PATH = "/sandbox/cloudhsm/client/"


def call(client, credentials, name, arguments=None, *, raw=None, service="cloudhsm"):
    body = {"call": name, "arguments": arguments or {}}
    return signed_post(
        client,
        "",
        body,
        access_key_id=credentials[0],
        secret=credentials[1],
        service=service,
        path=PATH,
        raw=raw,
    )


def test_a_call_runs_on_the_learners_cluster_and_is_audited(client, learner, account, credentials):
    cluster_id = build_active_cluster(account, hsms_in=("us-east-1a", "us-east-1b"))
    opened = call(client, credentials, "open_session", {"cluster_id": cluster_id})
    assert opened.status_code == 200
    session = opened.json()["result"]
    login = {"session_id": session, "username": "alice", "role": "crypto-user"}
    wrong = call(client, credentials, "login", {**login, "password": "nope"})
    assert (wrong.status_code, wrong.json()["error"]) == (400, "CKR_PIN_INCORRECT")
    right = call(client, credentials, "login", {**login, "password": ALICE_PASSWORD})
    assert right.status_code == 200
    random = call(client, credentials, "generate_random", {"session_id": session, "length": 8})
    assert len(random.json()["result"]["b64"]) == 12
    logins = SandboxEvent.objects.filter(account=account, log="hsm", operation="Login")
    assert [event.succeeded for event in logins.order_by("id")][-2:] == [False, True]
    assert logins.order_by("id").last().data["source"] == "CloudHSM PKCS #11 library"
    client.force_login(learner)
    assert "via CloudHSM PKCS #11 library" in client.get("/sandbox/audit/").content.decode()


def test_another_accounts_cluster_is_not_there(client, account, other_account):
    cluster_id = build_active_cluster(account, hsms_in=("us-east-1a", "us-east-1b"))
    key, secret = access_key_create(account=other_account)
    answer = call(client, (key.access_key_id, secret), "open_session", {"cluster_id": cluster_id})
    assert (answer.status_code, answer.json()["error"]) == (400, "CKR_TOKEN_NOT_PRESENT")


@pytest.mark.parametrize(
    ("name", "arguments", "code"),
    [
        ("format_disk", {}, "CKR_FUNCTION_NOT_SUPPORTED"),
        ("open_session", {}, "CKR_ARGUMENTS_BAD"),
        ("open_session", {"cluster_id": 7}, "CKR_ARGUMENTS_BAD"),
        ("open_session", {"cluster_id": "c", "surprise": 1}, "CKR_ARGUMENTS_BAD"),
        ("generate_random", {"session_id": "s", "length": True}, "CKR_ARGUMENTS_BAD"),
        ("close_session", {"session_id": "sess-unknown"}, "CKR_SESSION_HANDLE_INVALID"),
    ],
)
def test_bad_calls_are_pkcs11_errors(client, credentials, name, arguments, code):
    answer = call(client, credentials, name, arguments)
    assert (answer.status_code, answer.json()["error"]) == (400, code)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"{not json", "SerializationException"),
        (b"[1, 2]", "SerializationException"),
        (
            json.dumps({"call": "open_session", "arguments": {"x": {"b64": "%%"}}}).encode(),
            "SerializationException",
        ),
    ],
)
def test_malformed_bodies_are_refused_before_the_hsms(client, credentials, raw, kind):
    answer = call(client, credentials, "", raw=raw)
    assert (answer.status_code, answer.json()["__type"]) == (400, kind)


def test_unsigned_and_wrongly_scoped_requests_are_refused(client, credentials):
    unsigned = client.post(PATH, data=b"{}", content_type="application/json")
    assert unsigned.status_code == 400
    assert unsigned.json()["__type"] in (
        "MissingAuthenticationTokenException",
        "IncompleteSignatureException",
    )
    kms_scoped = call(client, credentials, "open_session", {"cluster_id": "c"}, service="kms")
    assert kms_scoped.json()["__type"] == "InvalidSignatureException"
    assert client.get(PATH).status_code == 400
