"""The SigV4 endpoints run without the browser's middleware; every other page keeps it."""

from __future__ import annotations

import json

import pytest

from .conftest import signed_post

pytestmark = pytest.mark.django_db


def test_a_signed_request_is_answered_without_session_or_browser_headers(
    client, learner, credentials
):
    client.force_login(learner)  # a browser session rides along: the endpoint ignores it
    response = signed_post(
        client, "CreateKey", {}, access_key_id=credentials[0], secret=credentials[1]
    )
    assert response.status_code == 200
    assert json.loads(response.content)["KeyMetadata"]["KeyState"] == "Enabled"
    # SecurityMiddleware still runs first; the browser's middleware below it does not.
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in response
    assert "X-Frame-Options" not in response
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")


def test_the_session_does_not_authenticate_a_signed_endpoint(client, learner):
    client.force_login(learner)
    response = client.post(
        "/sandbox/kms/",
        data=b"{}",
        content_type="application/x-amz-json-1.1",
        HTTP_X_AMZ_TARGET="TrentService.ListKeys",
    )
    assert response.status_code == 400
    assert json.loads(response.content)["__type"] == "MissingAuthenticationTokenException"


def test_other_addresses_under_the_prefixes_keep_the_whole_stack(client, learner):
    client.force_login(learner)
    missing = client.get("/sandbox/kms-not-an-endpoint/")
    assert missing.status_code == 404
    assert "Content-Security-Policy" in missing
    assert "X-Frame-Options" in missing
    page = client.get("/sandbox/")
    assert page.status_code == 200
    assert "Content-Security-Policy" in page
