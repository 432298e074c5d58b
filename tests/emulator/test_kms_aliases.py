"""Aliases: naming rules, the reserved alias/aws/ prefix, update, delete, listing."""

from __future__ import annotations

import pytest

from emulator.kms import Kms
from emulator.kms.errors import (
    AlreadyExistsException,
    InvalidAliasNameException,
    KMSInvalidStateException,
    NotAuthorizedException,
    NotFoundException,
    ValidationException,
)
from tests.emulator.test_kms_support import (
    ACCOUNT,
    DAY,
    ROOT,
    START,
    Env,
    _fresh_cache,
    arn_of,
    env,
    kms,
    new_key,
)

__all__ = ["_fresh_cache", "env", "kms"]  # fixtures used by name


def alias_arn(name: str) -> str:
    return f"arn:aws:kms:us-east-1:{ACCOUNT}:{name}"


def test_create_alias_and_use_it_for_crypto(kms: Kms) -> None:
    key_id = new_key(kms)

    assert (
        kms.create_alias(ROOT, {"AliasName": "alias/orders", "TargetKeyId": arn_of(key_id)}) == {}
    )
    blob = kms.encrypt(ROOT, {"KeyId": "alias/orders", "Plaintext": b"x"})["CiphertextBlob"]

    assert (
        kms.decrypt(ROOT, {"CiphertextBlob": blob, "KeyId": alias_arn("alias/orders")})["Plaintext"]
        == b"x"
    )
    assert kms.list_aliases(ROOT) == {
        "Aliases": [
            {
                "AliasName": "alias/orders",
                "AliasArn": alias_arn("alias/orders"),
                "TargetKeyId": key_id,
                "CreationDate": START.timestamp(),
                "LastUpdatedDate": START.timestamp(),
            }
        ],
        "Truncated": False,
    }


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("orders", InvalidAliasNameException),
        ("alias/", InvalidAliasNameException),
        ("alias/a:b", InvalidAliasNameException),
        ("alias/has space", ValidationException),
        ("alias/aws/ebs", NotAuthorizedException),
        ("alias/aws/mine", NotAuthorizedException),
    ],
)
def test_alias_name_rules(kms: Kms, name: str, error: type[Exception]) -> None:
    key_id = new_key(kms)

    with pytest.raises(error):
        kms.create_alias(ROOT, {"AliasName": name, "TargetKeyId": key_id})


def test_alias_names_are_unique(kms: Kms) -> None:
    key_id = new_key(kms)
    kms.create_alias(ROOT, {"AliasName": "alias/a", "TargetKeyId": key_id})

    with pytest.raises(AlreadyExistsException, match=alias_arn("alias/a")):
        kms.create_alias(ROOT, {"AliasName": "alias/a", "TargetKeyId": new_key(kms)})


def test_alias_targets_must_be_keys(kms: Kms) -> None:
    key_id = new_key(kms)
    kms.create_alias(ROOT, {"AliasName": "alias/a", "TargetKeyId": key_id})

    with pytest.raises(ValidationException, match="Aliases must refer to keys"):
        kms.create_alias(ROOT, {"AliasName": "alias/b", "TargetKeyId": "alias/a"})
    with pytest.raises(NotFoundException):
        kms.create_alias(
            ROOT, {"AliasName": "alias/b", "TargetKeyId": "1e3a5b7c-0000-4000-8000-000000000000"}
        )


def test_no_alias_for_a_key_pending_deletion(kms: Kms) -> None:
    key_id = new_key(kms)
    kms.schedule_key_deletion(ROOT, {"KeyId": key_id})

    with pytest.raises(KMSInvalidStateException):
        kms.create_alias(ROOT, {"AliasName": "alias/a", "TargetKeyId": key_id})


def test_update_alias_points_it_at_another_key(env: Env, kms: Kms) -> None:
    first, second = new_key(kms), new_key(kms)
    kms.create_alias(ROOT, {"AliasName": "alias/current", "TargetKeyId": first})
    env.clock.advance(DAY)

    kms.update_alias(ROOT, {"AliasName": "alias/current", "TargetKeyId": second})
    alias = kms.list_aliases(ROOT)["Aliases"][0]

    assert alias["TargetKeyId"] == second
    assert alias["LastUpdatedDate"] > alias["CreationDate"]
    assert kms.describe_key(ROOT, {"KeyId": "alias/current"})["KeyMetadata"]["KeyId"] == second


def test_update_alias_needs_the_same_kind_of_key(kms: Kms) -> None:
    symmetric = new_key(kms)
    hmac_key = new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    kms.create_alias(ROOT, {"AliasName": "alias/a", "TargetKeyId": symmetric})

    with pytest.raises(ValidationException, match="same type"):
        kms.update_alias(ROOT, {"AliasName": "alias/a", "TargetKeyId": hmac_key})
    with pytest.raises(NotFoundException):
        kms.update_alias(ROOT, {"AliasName": "alias/missing", "TargetKeyId": symmetric})


def test_update_alias_to_a_key_pending_deletion_fails(kms: Kms) -> None:
    first, second = new_key(kms), new_key(kms)
    kms.create_alias(ROOT, {"AliasName": "alias/a", "TargetKeyId": first})
    kms.schedule_key_deletion(ROOT, {"KeyId": second})

    with pytest.raises(KMSInvalidStateException):
        kms.update_alias(ROOT, {"AliasName": "alias/a", "TargetKeyId": second})


def test_delete_alias(kms: Kms) -> None:
    key_id = new_key(kms)
    kms.create_alias(ROOT, {"AliasName": "alias/a", "TargetKeyId": key_id})

    kms.delete_alias(ROOT, {"AliasName": "alias/a"})

    assert kms.list_aliases(ROOT)["Aliases"] == []
    with pytest.raises(NotFoundException, match="is not found"):
        kms.delete_alias(ROOT, {"AliasName": "alias/a"})
    kms.describe_key(ROOT, {"KeyId": key_id})


def test_list_aliases_filters_by_key_and_pages(kms: Kms) -> None:
    first, second = new_key(kms), new_key(kms)
    for index in range(3):
        kms.create_alias(ROOT, {"AliasName": f"alias/first-{index}", "TargetKeyId": first})
    kms.create_alias(ROOT, {"AliasName": "alias/second", "TargetKeyId": second})

    page = kms.list_aliases(ROOT, {"KeyId": first, "Limit": 2})
    rest = kms.list_aliases(ROOT, {"KeyId": first, "Limit": 2, "Marker": page["NextMarker"]})

    names = [a["AliasName"] for a in page["Aliases"] + rest["Aliases"]]
    assert names == ["alias/first-0", "alias/first-1", "alias/first-2"]
    assert [
        a["AliasName"] for a in kms.list_aliases(ROOT, {"KeyId": arn_of(second)})["Aliases"]
    ] == ["alias/second"]
    with pytest.raises(ValidationException):
        kms.list_aliases(ROOT, {"Limit": 101})
