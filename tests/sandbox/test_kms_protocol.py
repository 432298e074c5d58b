"""The AWS JSON 1.1 protocol edges of /sandbox/kms/: errors as AWS sends them, never a 500."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import override_settings

from sandbox.models import SandboxEvent

from .conftest import signed_post

pytestmark = pytest.mark.django_db


def error_of(response) -> tuple[int, str]:
    assert response["Content-Type"] == "application/x-amz-json-1.1"
    body = json.loads(response.content)
    assert set(body) == {"__type", "message"}
    return response.status_code, body["__type"]


def test_a_signed_request_is_answered_with_the_aws_json_content_type(client, credentials):
    response = signed_post(
        client, "CreateKey", {}, access_key_id=credentials[0], secret=credentials[1]
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-amz-json-1.1"
    assert response["x-amzn-RequestId"]
    assert json.loads(response.content)["KeyMetadata"]["KeyState"] == "Enabled"


def test_an_empty_body_means_an_empty_request(client, credentials):
    response = signed_post(
        client, "ListKeys", None, raw=b"", access_key_id=credentials[0], secret=credentials[1]
    )
    assert response.status_code == 200
    assert json.loads(response.content)["Keys"] == []


def test_an_unsigned_request_is_missing_its_token(client):
    response = client.post("/sandbox/kms/", data=b"{}", content_type="application/x-amz-json-1.1")
    assert error_of(response) == (400, "MissingAuthenticationTokenException")
    assert client.get("/sandbox/kms/").status_code == 400


def test_a_tampered_body_breaks_the_signature(client, credentials):
    response = signed_post(client, "ListKeys", {}, access_key_id=credentials[0], secret="y" * 40)
    assert error_of(response) == (400, "InvalidSignatureException")


def test_an_old_signature_has_expired(client, credentials):
    old = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=20)
    response = signed_post(
        client, "ListKeys", {}, access_key_id=credentials[0], secret=credentials[1], when=old
    )
    assert error_of(response) == (400, "InvalidSignatureException")
    assert "Signature expired" in json.loads(response.content)["message"]


def test_a_signature_from_the_future_is_refused(client, credentials):
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=20)
    response = signed_post(
        client, "ListKeys", {}, access_key_id=credentials[0], secret=credentials[1], when=later
    )
    assert error_of(response) == (400, "InvalidSignatureException")


def test_a_signature_for_another_service_is_refused(client, credentials):
    response = signed_post(
        client, "ListKeys", {}, access_key_id=credentials[0], secret=credentials[1], service="s3"
    )
    assert error_of(response) == (400, "InvalidSignatureException")


def test_an_unknown_access_key_is_unrecognized(client):
    response = signed_post(client, "ListKeys", {}, access_key_id="AKIA0000000000000000", secret="s")
    assert error_of(response) == (400, "UnrecognizedClientException")


def test_a_malformed_body_is_a_serialization_error(client, credentials):
    for raw in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        response = signed_post(
            client, "ListKeys", None, raw=raw, access_key_id=credentials[0], secret=credentials[1]
        )
        assert error_of(response) == (400, "SerializationException")


def test_a_blob_that_is_not_base64_is_a_serialization_error(client, credentials):
    response = signed_post(
        client,
        "Encrypt",
        {"KeyId": "alias/x", "Plaintext": "not base64!"},
        access_key_id=credentials[0],
        secret=credentials[1],
    )
    assert error_of(response) == (400, "SerializationException")


def test_an_unknown_target_is_an_unknown_operation(client, credentials):
    for target in ("TrentService.Frobnicate", "DynamoDB_20120810.ListTables", ""):
        response = signed_post(
            client,
            "ListKeys",
            {},
            access_key_id=credentials[0],
            secret=credentials[1],
            target=target,
        )
        assert error_of(response) == (400, "UnknownOperationException")


def test_a_request_over_64_kib_is_refused_before_it_is_read(client, credentials):
    response = signed_post(
        client,
        "Encrypt",
        {"KeyId": "alias/x", "Plaintext": "QQ==" * 20000},
        access_key_id=credentials[0],
        secret=credentials[1],
    )
    assert error_of(response) == (413, "ValidationException")


def test_the_server_enforces_bounds_botocore_checks_client_side(client, credentials):
    response = signed_post(
        client,
        "GenerateRandom",
        {"NumberOfBytes": 5000},
        access_key_id=credentials[0],
        secret=credentials[1],
    )
    assert error_of(response) == (400, "ValidationException")


@override_settings(SANDBOX_KMS_RATE_LIMIT=3)
def test_more_requests_than_the_rate_limit_are_throttled(client, credentials):
    statuses = [
        signed_post(client, "ListKeys", {}, access_key_id=credentials[0], secret=credentials[1])
        for _ in range(5)
    ]
    assert [r.status_code for r in statuses[:3]] == [200, 200, 200]
    assert error_of(statuses[-1]) == (400, "ThrottlingException")


def test_failed_calls_are_audited_and_the_audit_never_holds_plaintext(client, credentials):
    made = signed_post(client, "CreateKey", {}, access_key_id=credentials[0], secret=credentials[1])
    key_id = json.loads(made.content)["KeyMetadata"]["KeyId"]
    signed_post(
        client,
        "Encrypt",
        {"KeyId": key_id, "Plaintext": "c2VjcmV0LXBsYWludGV4dA=="},
        access_key_id=credentials[0],
        secret=credentials[1],
    )
    failed = signed_post(
        client,
        "Decrypt",
        {"CiphertextBlob": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
        access_key_id=credentials[0],
        secret=credentials[1],
    )
    assert error_of(failed) == (400, "InvalidCiphertextException")
    events = list(SandboxEvent.objects.order_by("id"))
    assert [(e.operation, e.result) for e in events] == [
        ("CreateKey", "Success"),
        ("Encrypt", "Success"),
        ("Decrypt", "InvalidCiphertextException"),
    ]
    assert not events[-1].succeeded
    stored = json.dumps([e.data for e in events])
    assert "c2VjcmV0LXBsYWludGV4dA" not in stored and "secret-plaintext" not in stored


@pytest.mark.logs_errors
def test_an_internal_fault_is_a_500_kms_internal_exception(client, credentials, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("sandbox.kms_api.decode_request", broken)
    response = signed_post(
        client, "ListKeys", {}, access_key_id=credentials[0], secret=credentials[1]
    )
    assert error_of(response) == (500, "KMSInternalException")
    assert b"boom" not in response.content
