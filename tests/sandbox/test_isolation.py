"""One learner never reaches another's sandbox: not by key id, ARN, access key or URL."""

from __future__ import annotations

import json

import pytest

from sandbox.console import console_run
from sandbox.services import access_key_create, file_save

from .conftest import signed_post

pytestmark = pytest.mark.django_db


def create_key(client, credentials) -> dict:
    response = signed_post(
        client, "CreateKey", {}, access_key_id=credentials[0], secret=credentials[1]
    )
    return json.loads(response.content)["KeyMetadata"]


def test_two_learners_get_different_accounts(account, other_account):
    assert account.account_id != other_account.account_id
    assert len(account.account_id) == len(other_account.account_id) == 12


def test_key_ids_and_arns_of_one_learner_are_not_found_by_the_other(client, account, other_account):
    mine = access_key_create(account=account)
    theirs = access_key_create(account=other_account)
    mine_pair, theirs_pair = (mine[0].access_key_id, mine[1]), (theirs[0].access_key_id, theirs[1])
    key = create_key(client, mine_pair)
    for reference in (key["KeyId"], key["Arn"]):
        response = signed_post(
            client,
            "Encrypt",
            {"KeyId": reference, "Plaintext": "aGk="},
            access_key_id=theirs_pair[0],
            secret=theirs_pair[1],
        )
        assert response.status_code == 400
        assert json.loads(response.content)["__type"] == "NotFoundException"
    blob = json.loads(
        signed_post(
            client,
            "Encrypt",
            {"KeyId": key["KeyId"], "Plaintext": "aGk="},
            access_key_id=mine_pair[0],
            secret=mine_pair[1],
        ).content
    )["CiphertextBlob"]
    stolen = signed_post(
        client,
        "Decrypt",
        {"CiphertextBlob": blob},
        access_key_id=theirs_pair[0],
        secret=theirs_pair[1],
    )
    assert json.loads(stolen.content)["__type"] in (
        "NotFoundException",
        "InvalidCiphertextException",
    )
    listed = json.loads(
        signed_post(
            client, "ListKeys", {}, access_key_id=theirs_pair[0], secret=theirs_pair[1]
        ).content
    )
    assert listed["Keys"] == []


def test_the_console_of_one_learner_cannot_use_the_other_s_key(account, other_account):
    created = console_run(account=account, line="aws kms create-key --query KeyMetadata.Arn")
    arn = created.output.strip().strip('"')
    answer = console_run(account=other_account, line=f"aws kms describe-key --key-id {arn}")
    assert not answer.ok and "NotFoundException" in answer.output


def test_an_access_key_signs_only_for_its_own_account(client, account, other_account):
    key, secret = access_key_create(account=account)
    made = create_key(client, (key.access_key_id, secret))
    assert made["Arn"].split(":")[4] == account.account_id


def test_pages_never_show_or_touch_another_learner_s_things(
    client, learner, other_learner, account, other_account
):
    key, _secret = access_key_create(account=other_account)
    file_save(account=other_account, name="theirs.txt", content=b"private")
    client.force_login(learner)
    assert client.get("/sandbox/files/theirs.txt/").status_code == 404
    assert client.post("/sandbox/files/theirs.txt/delete/").status_code == 404
    for action in ("reveal", "rotate", "revoke"):
        response = client.post(f"/sandbox/credentials/{key.access_key_id}/{action}/")
        assert response.status_code == 404
    key.refresh_from_db()
    assert key.is_active
    page = client.get("/sandbox/credentials/").content.decode()
    assert key.access_key_id not in page
    assert other_account.account_id not in client.get("/sandbox/").content.decode()
    assert other_account.files.filter(name="theirs.txt").exists()
