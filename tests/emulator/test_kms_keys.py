"""Key lifecycle: CreateKey, DescribeKey, ListKeys, enable/disable, deletion, tags,
policies, quota."""

from __future__ import annotations

import json

import pytest

from emulator.kms import Kms
from emulator.kms.errors import (
    AccessDeniedException,
    DisabledException,
    InvalidArnException,
    InvalidCiphertextException,
    InvalidMarkerException,
    KMSInvalidStateException,
    LimitExceededException,
    MalformedPolicyDocumentException,
    NotFoundException,
    TagException,
    UnsupportedOperationException,
    ValidationException,
)
from tests.emulator.test_kms_support import (
    ACCOUNT,
    ALICE,
    DAY,
    OUTSIDER,
    ROOT,
    ROOT_ADMIN,
    START,
    Env,
    _fresh_cache,
    arn_of,
    env,
    kms,
    new_key,
    policy,
    statement,
)

__all__ = ["_fresh_cache", "env", "kms"]  # fixtures used by name


def test_create_key_returns_metadata_shaped_like_aws(kms: Kms) -> None:
    metadata = kms.create_key(ROOT, {"Description": "orders"})["KeyMetadata"]

    assert metadata == {
        "AWSAccountId": ACCOUNT,
        "KeyId": metadata["KeyId"],
        "Arn": arn_of(metadata["KeyId"]),
        "CreationDate": START.timestamp(),
        "Enabled": True,
        "Description": "orders",
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeyState": "Enabled",
        "Origin": "AWS_KMS",
        "KeyManager": "CUSTOMER",
        "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
        "KeySpec": "SYMMETRIC_DEFAULT",
        "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
        "MultiRegion": False,
        "CurrentKeyMaterialId": metadata["CurrentKeyMaterialId"],
    }
    assert len(metadata["CurrentKeyMaterialId"]) == 64
    int(metadata["CurrentKeyMaterialId"], 16)


@pytest.mark.parametrize(
    ("spec", "usage", "field", "algorithms"),
    [
        (
            "RSA_2048",
            "ENCRYPT_DECRYPT",
            "EncryptionAlgorithms",
            ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"],
        ),
        (
            "RSA_2048",
            "SIGN_VERIFY",
            "SigningAlgorithms",
            [
                "RSASSA_PSS_SHA_256",
                "RSASSA_PSS_SHA_384",
                "RSASSA_PSS_SHA_512",
                "RSASSA_PKCS1_V1_5_SHA_256",
                "RSASSA_PKCS1_V1_5_SHA_384",
                "RSASSA_PKCS1_V1_5_SHA_512",
            ],
        ),
        ("ECC_NIST_P256", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_256"]),
        ("ECC_NIST_P384", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_384"]),
        ("ECC_NIST_P521", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_512"]),
        ("ECC_SECG_P256K1", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_256"]),
        ("HMAC_224", "GENERATE_VERIFY_MAC", "MacAlgorithms", ["HMAC_SHA_224"]),
        ("HMAC_256", "GENERATE_VERIFY_MAC", "MacAlgorithms", ["HMAC_SHA_256"]),
        ("HMAC_384", "GENERATE_VERIFY_MAC", "MacAlgorithms", ["HMAC_SHA_384"]),
        ("HMAC_512", "GENERATE_VERIFY_MAC", "MacAlgorithms", ["HMAC_SHA_512"]),
    ],
)
def test_each_key_spec_lists_only_its_own_algorithms(
    kms: Kms, spec: str, usage: str, field: str, algorithms: list[str]
) -> None:
    metadata = kms.create_key(ROOT, {"KeySpec": spec, "KeyUsage": usage})["KeyMetadata"]

    assert metadata["KeySpec"] == metadata["CustomerMasterKeySpec"] == spec
    assert metadata["KeyUsage"] == usage
    assert metadata[field] == algorithms
    others = {"EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms"} - {field}
    assert not others & metadata.keys()
    assert "CurrentKeyMaterialId" not in metadata


def test_customer_master_key_spec_is_accepted_as_the_old_name(kms: Kms) -> None:
    metadata = kms.create_key(
        ROOT, {"CustomerMasterKeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}
    )["KeyMetadata"]

    assert metadata["KeySpec"] == "HMAC_256"


def test_key_spec_and_customer_master_key_spec_together_are_rejected(kms: Kms) -> None:
    with pytest.raises(ValidationException):
        kms.create_key(ROOT, {"KeySpec": "HMAC_256", "CustomerMasterKeySpec": "HMAC_256"})


@pytest.mark.parametrize(
    ("spec", "usage"),
    [
        ("ECC_NIST_P256", None),
        ("SYMMETRIC_DEFAULT", "SIGN_VERIFY"),
        ("HMAC_256", "ENCRYPT_DECRYPT"),
        ("RSA_2048", "GENERATE_VERIFY_MAC"),
    ],
)
def test_key_usage_must_fit_the_key_spec(kms: Kms, spec: str, usage: str | None) -> None:
    params = {"KeySpec": spec} | ({"KeyUsage": usage} if usage else {})

    with pytest.raises(ValidationException, match="not compatible"):
        kms.create_key(ROOT, params)


@pytest.mark.parametrize(
    "params",
    [
        {"KeySpec": "SM2", "KeyUsage": "SIGN_VERIFY"},
        {"KeySpec": "ML_DSA_65", "KeyUsage": "SIGN_VERIFY"},
        {"KeySpec": "ECC_NIST_P256", "KeyUsage": "KEY_AGREEMENT"},
        {"Origin": "EXTERNAL", "KeySpec": "RSA_2048"},  # symmetric imports only
        {"MultiRegion": True, "KeySpec": "RSA_2048"},  # symmetric multi-Region keys only
    ],
)
def test_features_the_emulator_lacks_are_unsupported_not_faked(
    kms: Kms, params: dict[str, object]
) -> None:
    with pytest.raises(UnsupportedOperationException):
        kms.create_key(ROOT, params)


def test_invalid_enum_values_are_validation_errors(kms: Kms) -> None:
    with pytest.raises(ValidationException, match="enum value set"):
        kms.create_key(ROOT, {"KeySpec": "AES_256"})


def test_describe_key_accepts_id_arn_alias_name_and_alias_arn(kms: Kms) -> None:
    key_id = new_key(kms)
    kms.create_alias(ROOT, {"AliasName": "alias/orders", "TargetKeyId": key_id})

    for reference in (
        key_id,
        arn_of(key_id),
        "alias/orders",
        f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/orders",
    ):
        assert kms.describe_key(ROOT, {"KeyId": reference})["KeyMetadata"]["KeyId"] == key_id


@pytest.mark.parametrize(
    ("reference", "error", "message"),
    [
        ("0b0e7c68-3f6b-4c4a-9b6e-2ce5f1f1f1f1", NotFoundException, "does not exist"),
        ("not-a-key", NotFoundException, "Invalid keyId"),
        ("alias/missing", NotFoundException, "is not found"),
        ("arn:aws:kms:eu-west-1:111122223333:key/x", NotFoundException, "does not exist"),
        ("arn:aws:kms", InvalidArnException, "Invalid arn"),
    ],
)
def test_describe_key_of_an_unknown_key(
    kms: Kms, reference: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        kms.describe_key(ROOT, {"KeyId": reference})


def test_list_keys_pages_with_marker_and_truncated(kms: Kms) -> None:
    created = sorted(new_key(kms) for _ in range(5))

    first = kms.list_keys(ROOT, {"Limit": 2})
    second = kms.list_keys(ROOT, {"Limit": 2, "Marker": first["NextMarker"]})
    third = kms.list_keys(ROOT, {"Limit": 2, "Marker": second["NextMarker"]})

    assert first["Truncated"] and second["Truncated"] and not third["Truncated"]
    assert "NextMarker" not in third
    listed = [entry["KeyId"] for page in (first, second, third) for entry in page["Keys"]]
    assert listed == created
    assert first["Keys"][0] == {"KeyId": created[0], "KeyArn": arn_of(created[0])}


def test_list_keys_limit_bounds_and_bad_marker(kms: Kms) -> None:
    new_key(kms)
    for limit in (0, 1001):
        with pytest.raises(ValidationException):
            kms.list_keys(ROOT, {"Limit": limit})
    with pytest.raises(InvalidMarkerException):
        kms.list_keys(ROOT, {"Marker": "garbage"})
    assert len(kms.list_keys(ROOT, {"Limit": 1000})["Keys"]) == 1


def test_update_key_description(kms: Kms) -> None:
    key_id = new_key(kms)

    kms.update_key_description(ROOT, {"KeyId": key_id, "Description": "new"})

    assert kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]["Description"] == "new"


def test_disable_and_enable(kms: Kms) -> None:
    key_id = new_key(kms)

    kms.disable_key(ROOT, {"KeyId": key_id})
    disabled = kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]
    with pytest.raises(DisabledException, match=f"{arn_of(key_id)} is disabled."):
        kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x"})
    kms.enable_key(ROOT, {"KeyId": key_id})

    assert (disabled["KeyState"], disabled["Enabled"]) == ("Disabled", False)
    assert kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]["KeyState"] == "Enabled"


def test_management_operations_take_key_ids_not_aliases(kms: Kms) -> None:
    key_id = new_key(kms)
    kms.create_alias(ROOT, {"AliasName": "alias/a", "TargetKeyId": key_id})

    with pytest.raises(NotFoundException):
        kms.disable_key(ROOT, {"KeyId": "alias/a"})


def test_schedule_key_deletion_defaults_to_30_days(env: Env, kms: Kms) -> None:
    key_id = new_key(kms)

    result = kms.schedule_key_deletion(ROOT, {"KeyId": key_id})
    metadata = kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]

    deletion = (START + 30 * DAY).timestamp()
    assert result == {
        "KeyId": arn_of(key_id),
        "DeletionDate": deletion,
        "KeyState": "PendingDeletion",
        "PendingWindowInDays": 30,
    }
    assert metadata["KeyState"] == "PendingDeletion"
    assert metadata["Enabled"] is False
    assert metadata["DeletionDate"] == deletion
    assert metadata["PendingDeletionWindowInDays"] == 30


@pytest.mark.parametrize("days", [6, 31, 0])
def test_pending_window_must_be_7_to_30_days(kms: Kms, days: int) -> None:
    key_id = new_key(kms)

    with pytest.raises(ValidationException, match="pendingWindowInDays"):
        kms.schedule_key_deletion(ROOT, {"KeyId": key_id, "PendingWindowInDays": days})


def test_keys_pending_deletion_refuse_crypto_and_management(kms: Kms) -> None:
    key_id = new_key(kms)
    kms.schedule_key_deletion(ROOT, {"KeyId": key_id, "PendingWindowInDays": 7})

    pending = f"{arn_of(key_id)} is pending deletion."
    with pytest.raises(KMSInvalidStateException, match=pending):
        kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x"})
    for call in (kms.enable_key, kms.disable_key, kms.schedule_key_deletion):
        with pytest.raises(KMSInvalidStateException, match=pending):
            call(ROOT, {"KeyId": key_id})
    with pytest.raises(KMSInvalidStateException):
        kms.update_key_description(ROOT, {"KeyId": key_id, "Description": "x"})
    with pytest.raises(KMSInvalidStateException):
        kms.tag_resource(ROOT, {"KeyId": key_id, "Tags": [{"TagKey": "a", "TagValue": "b"}]})
    assert kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_cancel_key_deletion_leaves_the_key_disabled(kms: Kms) -> None:
    key_id = new_key(kms)
    kms.schedule_key_deletion(ROOT, {"KeyId": key_id, "PendingWindowInDays": 7})

    result = kms.cancel_key_deletion(ROOT, {"KeyId": key_id})
    metadata = kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]

    assert result == {"KeyId": arn_of(key_id)}
    assert metadata["KeyState"] == "Disabled"
    assert "DeletionDate" not in metadata and "PendingDeletionWindowInDays" not in metadata


def test_cancel_key_deletion_of_a_key_not_pending_deletion(kms: Kms) -> None:
    key_id = new_key(kms)

    with pytest.raises(KMSInvalidStateException, match="is not pending deletion"):
        kms.cancel_key_deletion(ROOT, {"KeyId": key_id})


def test_the_clock_finishes_deletion_and_removes_aliases_grants_and_tags(env: Env) -> None:
    kms = env.kms()
    key_id = new_key(kms, Tags=[{"TagKey": "team", "TagValue": "a"}])
    keep = new_key(kms)
    kms.create_alias(ROOT, {"AliasName": "alias/doomed", "TargetKeyId": key_id})
    kms.create_grant(ROOT, {"KeyId": key_id, "GranteePrincipal": ALICE, "Operations": ["Encrypt"]})
    kms.schedule_key_deletion(ROOT, {"KeyId": key_id, "PendingWindowInDays": 7})

    env.clock.advance(7 * DAY - DAY / 24)
    assert env.kms().tick() == []
    env.clock.advance(DAY / 12)
    kms = env.kms()
    keys = kms.list_keys(ROOT)["Keys"]

    assert [entry["KeyId"] for entry in keys] == [keep]
    assert kms.list_aliases(ROOT)["Aliases"] == []
    with pytest.raises(NotFoundException):
        kms.describe_key(ROOT, {"KeyId": key_id})
    assert not [k for k in env.storage.list("kms.grant")]
    assert not [k for k in env.storage.list("kms.tags")]
    assert not [k for k in env.storage.list("kms.material") if key_id in k[0]]
    deletion = [e for e in env.events() if e["operation"] == "DeleteKey"]
    assert deletion == [
        {
            "time": env.clock.now().isoformat(),
            "principal": "kms.amazonaws.com",
            "operation": "DeleteKey",
            "target": arn_of(key_id),
            "result": "Success",
            "detail": {},
        }
    ]


def test_a_deleted_keys_ciphertext_no_longer_decrypts(env: Env) -> None:
    kms = env.kms()
    key_id = new_key(kms)
    blob = kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x"})["CiphertextBlob"]
    kms.schedule_key_deletion(ROOT, {"KeyId": key_id, "PendingWindowInDays": 7})
    env.clock.advance(8 * DAY)

    with pytest.raises(InvalidCiphertextException):
        env.kms().decrypt(ROOT, {"CiphertextBlob": blob})


def test_key_quota_is_configurable(env: Env) -> None:
    kms = env.kms(max_keys=2)
    new_key(kms)
    new_key(kms)

    with pytest.raises(LimitExceededException, match="limit of 2 KMS keys"):
        new_key(kms)


# --- tags ---------------------------------------------------------------------------------------


def test_tags_are_added_overwritten_listed_and_removed(kms: Kms) -> None:
    key_id = new_key(kms, Tags=[{"TagKey": "team", "TagValue": "a"}])

    kms.tag_resource(
        ROOT,
        {
            "KeyId": key_id,
            "Tags": [{"TagKey": "team", "TagValue": "b"}, {"TagKey": "env", "TagValue": "prod"}],
        },
    )
    listed = kms.list_resource_tags(ROOT, {"KeyId": key_id})
    kms.untag_resource(ROOT, {"KeyId": key_id, "TagKeys": ["team", "absent"]})

    assert listed == {
        "Tags": [{"TagKey": "env", "TagValue": "prod"}, {"TagKey": "team", "TagValue": "b"}],
        "Truncated": False,
    }
    assert kms.list_resource_tags(ROOT, {"KeyId": key_id})["Tags"] == [
        {"TagKey": "env", "TagValue": "prod"}
    ]


def test_tags_paginate(kms: Kms) -> None:
    key_id = new_key(kms, Tags=[{"TagKey": f"k{i}", "TagValue": ""} for i in range(3)])

    first = kms.list_resource_tags(ROOT, {"KeyId": key_id, "Limit": 2})
    rest = kms.list_resource_tags(ROOT, {"KeyId": key_id, "Marker": first["NextMarker"]})

    assert [t["TagKey"] for t in first["Tags"] + rest["Tags"]] == ["k0", "k1", "k2"]
    with pytest.raises(ValidationException):
        kms.list_resource_tags(ROOT, {"KeyId": key_id, "Limit": 51})


def test_aws_prefixed_tags_are_reserved(kms: Kms) -> None:
    key_id = new_key(kms)

    with pytest.raises(TagException):
        kms.tag_resource(ROOT, {"KeyId": key_id, "Tags": [{"TagKey": "aws:x", "TagValue": "1"}]})
    with pytest.raises(TagException):
        new_key(kms, Tags=[{"TagKey": "aws:x", "TagValue": "1"}])


def test_at_most_fifty_tags(kms: Kms) -> None:
    key_id = new_key(kms, Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(50)])

    with pytest.raises(LimitExceededException):
        kms.tag_resource(ROOT, {"KeyId": key_id, "Tags": [{"TagKey": "one-more", "TagValue": "v"}]})


def test_malformed_tags_are_validation_errors(kms: Kms) -> None:
    key_id = new_key(kms)

    with pytest.raises(ValidationException):
        kms.tag_resource(ROOT, {"KeyId": key_id, "Tags": [{"Key": "a", "Value": "b"}]})
    with pytest.raises(ValidationException):
        kms.tag_resource(ROOT, {"KeyId": key_id, "Tags": [{"TagKey": "", "TagValue": "b"}]})


# --- key policies -------------------------------------------------------------------------------


def test_default_policy_is_awss_root_statement(kms: Kms) -> None:
    key_id = new_key(kms)

    result = kms.get_key_policy(ROOT, {"KeyId": key_id})
    document = json.loads(result["Policy"])

    assert result["PolicyName"] == "default"
    assert document == {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": ROOT},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    assert kms.list_key_policies(ROOT, {"KeyId": key_id}) == {
        "PolicyNames": ["default"],
        "Truncated": False,
    }


def test_put_key_policy_stores_the_text_verbatim(kms: Kms) -> None:
    key_id = new_key(kms)
    text = policy(ROOT_ADMIN, statement("Allow", ALICE, "kms:Encrypt"))

    kms.put_key_policy(ROOT, {"KeyId": key_id, "PolicyName": "default", "Policy": text})

    assert kms.get_key_policy(ROOT, {"KeyId": key_id})["Policy"] == text
    kms.encrypt(ALICE, {"KeyId": key_id, "Plaintext": b"x"})


def test_only_the_default_policy_name_exists(kms: Kms) -> None:
    key_id = new_key(kms)

    with pytest.raises(NotFoundException):
        kms.get_key_policy(ROOT, {"KeyId": key_id, "PolicyName": "AWS_RAM"})
    with pytest.raises(NotFoundException):
        kms.put_key_policy(
            ROOT, {"KeyId": key_id, "PolicyName": "other", "Policy": policy(ROOT_ADMIN)}
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"Statement": []}', "no Statement"),
        (
            policy({"Effect": "Maybe", "Principal": "*", "Action": "kms:*", "Resource": "*"}),
            "Effect",
        ),
        (policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}), "no principal"),
        (policy(statement("Allow", "arn:aws:iam::12:user/x", "kms:*")), "invalid principals"),
        (
            policy(statement("Allow", ROOT, "kms:*", Condition={"StringSortOf": {"a": "b"}})),
            "condition",
        ),
        (policy(statement("Allow", ROOT, "not an action")), "invalid action"),
        ('{"Version": "2000-01-01", "Statement": {}}', "version"),
    ],
)
def test_malformed_policies_are_rejected(kms: Kms, text: str, message: str) -> None:
    key_id = new_key(kms)

    with pytest.raises(MalformedPolicyDocumentException, match=message):
        kms.put_key_policy(
            ROOT, {"KeyId": key_id, "Policy": text, "BypassPolicyLockoutSafetyCheck": True}
        )


def test_policies_over_32_kb_exceed_the_limit(kms: Kms) -> None:
    key_id = new_key(kms)
    huge = policy(ROOT_ADMIN, statement("Allow", ROOT, "kms:*", Sid="x" * 33_000))

    with pytest.raises(LimitExceededException):
        kms.put_key_policy(ROOT, {"KeyId": key_id, "Policy": huge})


def test_lockout_safety_check_on_put_and_create(kms: Kms) -> None:
    key_id = new_key(kms)
    alice_only = policy(statement("Allow", ALICE, "kms:*"))

    with pytest.raises(MalformedPolicyDocumentException, match="will not allow you to update"):
        kms.put_key_policy(ROOT, {"KeyId": key_id, "Policy": alice_only})
    with pytest.raises(MalformedPolicyDocumentException, match="will not allow you to update"):
        kms.create_key(ROOT, {"Policy": alice_only})
    kms.put_key_policy(
        ROOT, {"KeyId": key_id, "Policy": alice_only, "BypassPolicyLockoutSafetyCheck": True}
    )

    with pytest.raises(AccessDeniedException):
        kms.describe_key(ROOT, {"KeyId": key_id})
    kms.describe_key(ALICE, {"KeyId": key_id})


def test_create_key_with_a_policy_for_someone_else(kms: Kms) -> None:
    metadata = kms.create_key(ALICE, {"Policy": policy(statement("Allow", ALICE, "kms:*"))})[
        "KeyMetadata"
    ]

    with pytest.raises(AccessDeniedException):
        kms.describe_key(ROOT, {"KeyId": metadata["KeyId"]})


def test_other_accounts_cannot_create_or_list_keys(kms: Kms) -> None:
    with pytest.raises(AccessDeniedException, match="identity-based policy"):
        kms.create_key(OUTSIDER)
    with pytest.raises(AccessDeniedException):
        kms.list_keys(OUTSIDER)
