"""SigV4 verification against what botocore signs (no database)."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sandbox import sigv4

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AKID = "AKIAIOSFODNN7EXAMPLE"
NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def signed(path="/sandbox/kms/", body=b'{"Limit": 5}', region="us-east-1", service="kms"):
    request = AWSRequest(
        method="POST",
        url=f"http://127.0.0.1:8000{path}",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "TrentService.ListKeys",
        },
    )
    from unittest import mock

    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        SigV4Auth(Credentials(AKID, SECRET), service, region).add_auth(request)
    headers = {name.lower(): value for name, value in request.headers.items()}
    headers["host"] = "127.0.0.1:8000"
    return sigv4.SignedRequest("POST", path, "", headers, body)


def credentials(access_key_id):
    return (SECRET, "us-east-1") if access_key_id == AKID else None


def verify(request, now=NOW):
    return sigv4.verify(request, service="kms", credentials_for=credentials, now=now)


def test_a_botocore_signature_verifies_with_the_full_path():
    auth = verify(signed())
    assert (auth.access_key_id, auth.region, auth.service) == (AKID, "us-east-1", "kms")
    assert verify(signed(path="/sandbox/kms")).signed_headers == (
        "content-type",
        "host",
        "x-amz-date",
        "x-amz-target",
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            lambda r: sigv4.SignedRequest(r.method, r.path, "", r.headers, b'{"Limit": 6}'),
            "InvalidSignatureException",
        ),
        (
            lambda r: sigv4.SignedRequest(r.method, "/other/", "", r.headers, r.body),
            "InvalidSignatureException",
        ),
        (
            lambda r: sigv4.SignedRequest(
                r.method, r.path, "", {**r.headers, "authorization": ""}, r.body
            ),
            "MissingAuthenticationTokenException",
        ),
        (
            lambda r: sigv4.SignedRequest(
                r.method, r.path, "", {**r.headers, "x-amz-security-token": "t"}, r.body
            ),
            "UnrecognizedClientException",
        ),
        (
            lambda r: sigv4.SignedRequest(
                r.method, r.path, "", {**r.headers, "authorization": "AWS4-HMAC-SHA1 x"}, r.body
            ),
            "IncompleteSignatureException",
        ),
        (
            lambda r: sigv4.SignedRequest(
                r.method, r.path, "", {**r.headers, "x-amz-date": "yesterday"}, r.body
            ),
            "IncompleteSignatureException",
        ),
    ],
)
def test_changes_after_signing_are_caught(change, code):
    with pytest.raises(sigv4.SigV4Error) as caught:
        verify(change(signed()))
    assert caught.value.code == code


def test_unknown_keys_regions_services_and_clocks():
    with pytest.raises(sigv4.SigV4Error) as caught:
        sigv4.verify(signed(), service="kms", credentials_for=lambda _: None, now=NOW)
    assert caught.value.code == "UnrecognizedClientException"
    for request in (signed(region="eu-west-1"), signed(service="s3")):
        with pytest.raises(sigv4.SigV4Error) as caught:
            verify(request)
        assert caught.value.code == "InvalidSignatureException"
    with pytest.raises(sigv4.SigV4Error, match="Signature expired"):
        verify(signed(), now=NOW + dt.timedelta(minutes=16))
    with pytest.raises(sigv4.SigV4Error, match="not yet current"):
        verify(signed(), now=NOW - dt.timedelta(minutes=16))
    assert verify(signed(), now=NOW + dt.timedelta(minutes=14))


def test_canonical_uri_and_query_follow_botocore():
    assert sigv4.canonical_uri("/sandbox/kms/") == "/sandbox/kms/"
    assert sigv4.canonical_uri("/a/./b/../c") == "/a/c"
    assert sigv4.canonical_uri("") == "/"
    assert sigv4.canonical_query("b=2&a=1&a=0") == "a=0&a=1&b=2"
