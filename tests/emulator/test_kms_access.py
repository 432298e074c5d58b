"""Authorization: key policies (principals, actions, resources, conditions, explicit deny),
grants (tokens, constraints, retire, revoke) and explain_access."""

from __future__ import annotations

import json

import pytest

from emulator.kms import Kms
from emulator.kms.errors import (
    AccessDeniedException,
    DisabledException,
    InvalidArnException,
    InvalidGrantIdException,
    InvalidGrantTokenException,
    NotFoundException,
    ValidationException,
)
from tests.emulator.test_kms_support import (
    ACCOUNT,
    ALICE,
    APP_ROLE,
    APP_SESSION,
    BOB,
    OUTSIDE_ROOT,
    OUTSIDER,
    ROOT,
    ROOT_ADMIN,
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


def key_with(kms: Kms, *statements: dict[str, object]) -> str:
    return new_key(kms, Policy=policy(ROOT_ADMIN, *statements))


def can(kms: Kms, principal: str, key_id: str, context: dict[str, str] | None = None) -> bool:
    params: dict[str, object] = {"KeyId": key_id, "Plaintext": b"x"}
    if context is not None:
        params["EncryptionContext"] = context
    try:
        kms.encrypt(principal, params)
    except AccessDeniedException:
        return False
    return True


# --- key policy basics ----------------------------------------------------------------------------


def test_default_policy_allows_only_the_account_root(kms: Kms) -> None:
    key_id = new_key(kms)

    assert can(kms, ROOT, key_id)
    with pytest.raises(AccessDeniedException) as denied:
        kms.encrypt(ALICE, {"KeyId": key_id, "Plaintext": b"x"})
    assert str(denied.value.message) == (
        f"User: {ALICE} is not authorized to perform: kms:Encrypt on resource: {arn_of(key_id)} "
        "because no resource-based policy allows the kms:Encrypt action"
    )


def test_a_statement_naming_a_user_allows_only_its_actions(kms: Kms) -> None:
    key_id = key_with(kms, statement("Allow", ALICE, ["kms:Encrypt", "kms:DescribeKey"]))
    blob = kms.encrypt(ALICE, {"KeyId": key_id, "Plaintext": b"x"})["CiphertextBlob"]

    kms.describe_key(ALICE, {"KeyId": key_id})
    with pytest.raises(AccessDeniedException):
        kms.decrypt(ALICE, {"CiphertextBlob": blob})
    assert not can(kms, BOB, key_id)


def test_explicit_deny_beats_allow(kms: Kms) -> None:
    key_id = key_with(kms, statement("Deny", "*", "kms:Encrypt", Sid="NoEncrypt"))

    with pytest.raises(AccessDeniedException, match="with an explicit deny in a resource-based"):
        kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x"})
    kms.describe_key(ROOT, {"KeyId": key_id})


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        ("kms:Encrypt*", True),
        ("kms:*", True),
        ("*", True),
        ("KMS:encrypt", True),
        ("kms:Encryp?", True),
        ("kms:Decrypt", False),
        ("kms:En", False),
        ("s3:*", False),
    ],
)
def test_action_wildcards_are_case_insensitive_globs(kms: Kms, action: str, allowed: bool) -> None:
    key_id = key_with(kms, statement("Allow", ALICE, action))

    assert can(kms, ALICE, key_id) is allowed


def test_principal_lists_star_and_account_ids(kms: Kms) -> None:
    listed = key_with(kms, statement("Allow", [ALICE, BOB], "kms:Encrypt"))
    everyone = key_with(kms, statement("Allow", "*", "kms:Encrypt"))
    account_id = key_with(kms, statement("Allow", ACCOUNT, "kms:Encrypt"))

    assert can(kms, ALICE, listed) and can(kms, BOB, listed)
    assert can(kms, BOB, everyone) and can(kms, OUTSIDER, arn_of(everyone))
    assert can(kms, ROOT, account_id) and not can(kms, ALICE, account_id)


def test_a_role_arn_matches_its_assumed_role_sessions(kms: Kms) -> None:
    key_id = key_with(kms, statement("Allow", APP_ROLE, "kms:Encrypt"))

    assert can(kms, APP_SESSION, key_id)
    assert can(kms, APP_ROLE, key_id)
    assert not can(kms, f"arn:aws:sts::{ACCOUNT}:assumed-role/other/session-1", key_id)


def test_not_principal_and_not_action(kms: Kms) -> None:
    key_id = key_with(
        kms,
        statement("Allow", [ALICE, BOB], "kms:*"),
        {
            "Effect": "Deny",
            "NotPrincipal": {"AWS": [ROOT, ALICE]},
            "NotAction": ["kms:Describe*"],
            "Resource": "*",
        },
    )

    assert can(kms, ALICE, key_id)
    assert not can(kms, BOB, key_id)
    kms.describe_key(BOB, {"KeyId": key_id})


def test_resource_must_match_the_key_arn(kms: Kms) -> None:
    key_id = new_key(kms)
    other = new_key(kms)
    kms.put_key_policy(
        ROOT,
        {
            "KeyId": key_id,
            "Policy": policy(
                ROOT_ADMIN,
                statement("Allow", ALICE, "kms:Encrypt") | {"Resource": arn_of(key_id)},
                statement("Allow", BOB, "kms:Encrypt") | {"Resource": arn_of(other)},
            ),
        },
    )

    assert can(kms, ALICE, key_id) and not can(kms, BOB, key_id)


def test_statements_without_action_or_resource_have_no_effect(kms: Kms) -> None:
    key_id = key_with(
        kms,
        {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": BOB}, "Action": "kms:*"},
    )

    assert not can(kms, ALICE, key_id) and not can(kms, BOB, key_id)


# --- conditions -----------------------------------------------------------------------------------


def test_string_equals_on_an_encryption_context_key(kms: Kms) -> None:
    key_id = key_with(
        kms,
        statement(
            "Allow",
            ALICE,
            "kms:Encrypt",
            Condition={"StringEquals": {"kms:EncryptionContext:tenant": ["t-1", "t-2"]}},
        ),
    )

    assert can(kms, ALICE, key_id, {"tenant": "t-2", "other": "x"})
    assert not can(kms, ALICE, key_id, {"tenant": "t-3"})
    assert not can(kms, ALICE, key_id, {"Tenant": "t-1"})  # context keys are case-sensitive
    assert not can(kms, ALICE, key_id)


def test_condition_key_names_are_case_insensitive(kms: Kms) -> None:
    key_id = key_with(
        kms,
        statement(
            "Allow",
            ALICE,
            "kms:Encrypt",
            Condition={"StringLike": {"KMS:ENCRYPTIONCONTEXT:tenant": "t-*"}},
        ),
    )

    assert can(kms, ALICE, key_id, {"tenant": "t-99"})
    assert not can(kms, ALICE, key_id, {"tenant": "x-1"})


def test_for_any_and_for_all_values_of_encryption_context_keys(kms: Kms) -> None:
    any_key = key_with(
        kms,
        statement(
            "Allow",
            ALICE,
            "kms:Encrypt",
            Condition={"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["tenant"]}},
        ),
    )
    all_keys = key_with(
        kms,
        statement(
            "Allow",
            ALICE,
            "kms:Encrypt",
            Condition={
                "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["tenant", "app"]}
            },
        ),
    )

    assert can(kms, ALICE, any_key, {"tenant": "1", "extra": "2"})
    assert not can(kms, ALICE, any_key, {"extra": "2"})
    assert not can(kms, ALICE, any_key)
    assert can(kms, ALICE, all_keys, {"tenant": "1", "app": "a"})
    assert not can(kms, ALICE, all_keys, {"tenant": "1", "extra": "2"})
    # The classic trap, kept faithfully: ForAllValues over no keys at all is true.
    assert can(kms, ALICE, all_keys)


def test_null_and_if_exists_and_negated_operators(kms: Kms) -> None:
    require_context = key_with(
        kms,
        statement("Allow", ALICE, "kms:Encrypt"),
        statement(
            "Deny", ALICE, "kms:Encrypt", Condition={"Null": {"kms:EncryptionContextKeys": "true"}}
        ),
    )
    if_exists = key_with(
        kms,
        statement(
            "Allow",
            ALICE,
            "kms:Encrypt",
            Condition={"StringEqualsIfExists": {"kms:EncryptionContext:tenant": "t-1"}},
        ),
    )
    not_equals = key_with(
        kms,
        statement(
            "Allow",
            ALICE,
            "kms:Encrypt",
            Condition={"StringNotEquals": {"kms:EncryptionContext:tenant": "blocked"}},
        ),
    )

    assert not can(kms, ALICE, require_context) and can(kms, ALICE, require_context, {"a": "b"})
    assert can(kms, ALICE, if_exists) and can(kms, ALICE, if_exists, {"tenant": "t-1"})
    assert not can(kms, ALICE, if_exists, {"tenant": "t-2"})
    assert can(kms, ALICE, not_equals) and not can(kms, ALICE, not_equals, {"tenant": "blocked"})


def test_other_condition_keys(kms: Kms) -> None:
    key_id = key_with(
        kms,
        statement(
            "Allow",
            "*",
            "kms:Encrypt",
            Condition={
                "StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:KeySpec": "SYMMETRIC_DEFAULT"},
                "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/a*"},
            },
        ),
        statement(
            "Allow",
            ALICE,
            "kms:EnableKeyRotation",
            Condition={"NumericLessThanEquals": {"kms:RotationPeriodInDays": 180}},
        ),
    )

    assert can(kms, ALICE, key_id) and not can(kms, BOB, key_id)
    kms.enable_key_rotation(ALICE, {"KeyId": key_id, "RotationPeriodInDays": 90})
    with pytest.raises(AccessDeniedException):
        kms.enable_key_rotation(ALICE, {"KeyId": key_id, "RotationPeriodInDays": 365})


# --- accounts and principals ----------------------------------------------------------------------


def test_other_accounts_use_keys_only_where_the_policy_says_so(kms: Kms) -> None:
    shared = key_with(kms, statement("Allow", OUTSIDE_ROOT, "kms:*"))

    assert can(kms, OUTSIDE_ROOT, arn_of(shared))
    assert not can(kms, OUTSIDER, arn_of(shared))  # root statements match only the root
    with pytest.raises(AccessDeniedException):
        kms.put_key_policy(OUTSIDE_ROOT, {"KeyId": arn_of(shared), "Policy": policy(ROOT_ADMIN)})


@pytest.mark.parametrize(
    "principal", ["alice", "arn:aws:iam::123:user/a", "arn:aws:s3:::bucket", ""]
)
def test_callers_must_be_iam_principal_arns(env: Env, kms: Kms, principal: str) -> None:
    with pytest.raises(AccessDeniedException, match="not a valid IAM principal ARN"):
        kms.list_keys(principal)
    assert env.last_event()["result"] == "AccessDeniedException"


def test_explain_access_names_the_deciding_statement(kms: Kms) -> None:
    key_id = key_with(
        kms,
        statement("Allow", ALICE, "kms:*", Sid="AliceUses"),
        statement("Deny", ALICE, "kms:Decrypt", Sid="ButNeverDecrypts"),
    )

    allowed = kms.explain_access(ALICE, "Encrypt", key_id)
    denied = kms.explain_access(ALICE, "kms:Decrypt", key_id)
    nothing = kms.explain_access(BOB, "Encrypt", key_id, {"a": "b"})
    invalid = kms.explain_access("bob", "Encrypt", key_id)

    assert (allowed.allowed, allowed.source, allowed.statement_sid, allowed.statement_index) == (
        True,
        "policy",
        "AliceUses",
        1,
    )
    assert "AliceUses" in allowed.reason
    assert (denied.allowed, denied.explicit_deny, denied.statement_sid) == (
        False,
        True,
        "ButNeverDecrypts",
    )
    assert (nothing.allowed, nothing.source, nothing.explicit_deny) == (False, "none", False)
    assert nothing.resource == arn_of(key_id) and nothing.action == "kms:Encrypt"
    assert invalid.allowed is False
    with pytest.raises(NotFoundException):
        kms.explain_access(ALICE, "Encrypt", "alias/none")


# --- grants ---------------------------------------------------------------------------------------


def grant(kms: Kms, key_id: str, grantee: str = ALICE, **params: object) -> dict[str, str]:
    request: dict[str, object] = {"KeyId": key_id, "GranteePrincipal": grantee}
    request.setdefault("Operations", ["Encrypt", "Decrypt"])
    request.update(params)
    return kms.create_grant(ROOT, request)


def test_a_grant_delegates_its_operations(kms: Kms) -> None:
    key_id = new_key(kms)
    created = grant(kms, key_id)

    blob = kms.encrypt(ALICE, {"KeyId": key_id, "Plaintext": b"x"})["CiphertextBlob"]
    assert kms.decrypt(ALICE, {"CiphertextBlob": blob})["Plaintext"] == b"x"
    with pytest.raises(AccessDeniedException):
        kms.generate_data_key(ALICE, {"KeyId": key_id, "KeySpec": "AES_256"})
    assert len(created["GrantId"]) == 64
    decision = kms.explain_access(ALICE, "Encrypt", key_id)
    assert (decision.allowed, decision.source, decision.grant_id) == (
        True,
        "grant",
        created["GrantId"],
    )


def test_grant_tokens_are_checked(kms: Kms) -> None:
    key_id = new_key(kms)
    token = grant(kms, key_id)["GrantToken"]

    kms.encrypt(ALICE, {"KeyId": key_id, "Plaintext": b"x", "GrantTokens": [token]})
    with pytest.raises(InvalidGrantTokenException):
        kms.encrypt(
            ALICE, {"KeyId": key_id, "Plaintext": b"x", "GrantTokens": [token[:-4] + "AAAA"]}
        )
    with pytest.raises(ValidationException):
        kms.encrypt(ALICE, {"KeyId": key_id, "Plaintext": b"x", "GrantTokens": [token] * 11})


def test_grant_constraints_on_encryption_context(kms: Kms) -> None:
    equals_key, subset_key = new_key(kms), new_key(kms)
    grant(kms, equals_key, Constraints={"EncryptionContextEquals": {"Tenant": "t-1"}})
    grant(kms, subset_key, Constraints={"EncryptionContextSubset": {"tenant": "t-1"}})

    assert can(kms, ALICE, equals_key, {"tenant": "t-1"})  # grant constraint keys ignore case
    assert not can(kms, ALICE, equals_key, {"tenant": "T-1"})  # values do not
    assert not can(kms, ALICE, equals_key, {"tenant": "t-1", "x": "y"})
    assert can(kms, ALICE, subset_key, {"tenant": "t-1", "x": "y"})
    assert not can(kms, ALICE, subset_key, {"x": "y"})


def test_an_explicit_deny_beats_a_grant(kms: Kms) -> None:
    key_id = key_with(kms, statement("Deny", ALICE, "kms:Encrypt"))
    grant(kms, key_id)

    assert not can(kms, ALICE, key_id)


def test_create_grant_validation(kms: Kms) -> None:
    key_id = new_key(kms)
    signing = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")

    with pytest.raises(ValidationException, match="not valid for"):
        grant(kms, key_id, Operations=["Sign"])
    with pytest.raises(ValidationException, match="enum value set"):
        grant(kms, key_id, Operations=["Fly"])
    with pytest.raises(ValidationException, match="constraints"):
        grant(
            kms, signing, Operations=["Sign"], Constraints={"EncryptionContextEquals": {"a": "b"}}
        )
    with pytest.raises(InvalidArnException):
        grant(kms, key_id, grantee="alice")
    with pytest.raises(ValidationException, match="GranteePrincipal"):
        kms.create_grant(ROOT, {"KeyId": key_id, "Operations": ["Encrypt"]})
    kms.disable_key(ROOT, {"KeyId": key_id})
    with pytest.raises(DisabledException):
        grant(kms, key_id)


def test_a_named_grant_is_idempotent(kms: Kms) -> None:
    key_id = new_key(kms)

    first = grant(kms, key_id, Name="app")
    second = grant(kms, key_id, Name="app")
    third = grant(kms, key_id, Name="app", Operations=["Encrypt"])

    assert first["GrantId"] == second["GrantId"] != third["GrantId"]
    assert first["GrantToken"] != second["GrantToken"]
    assert len(kms.list_grants(ROOT, {"KeyId": key_id})["Grants"]) == 2


def test_a_grant_with_create_grant_delegates_no_more_than_it_has(kms: Kms) -> None:
    key_id = new_key(kms)
    grant(kms, key_id, Operations=["Encrypt", "CreateGrant"])

    kms.create_grant(ALICE, {"KeyId": key_id, "GranteePrincipal": BOB, "Operations": ["Encrypt"]})
    with pytest.raises(AccessDeniedException, match="same or fewer operations"):
        kms.create_grant(
            ALICE, {"KeyId": key_id, "GranteePrincipal": BOB, "Operations": ["Decrypt"]}
        )
    assert can(kms, BOB, key_id)


def test_list_grants_shape_filters_and_pages(kms: Kms) -> None:
    key_id = new_key(kms)
    first = grant(
        kms,
        key_id,
        Name="one",
        RetiringPrincipal=BOB,
        Constraints={"EncryptionContextSubset": {"a": "b"}},
    )
    grant(kms, key_id, grantee=BOB)
    grant(kms, key_id, grantee=BOB, Operations=["Encrypt"])

    listed = kms.list_grants(ROOT, {"KeyId": key_id, "GrantId": first["GrantId"]})["Grants"]
    by_bob = kms.list_grants(ROOT, {"KeyId": key_id, "GranteePrincipal": BOB})["Grants"]
    page = kms.list_grants(ROOT, {"KeyId": key_id, "Limit": 2})
    rest = kms.list_grants(ROOT, {"KeyId": key_id, "Marker": page["NextMarker"]})

    assert listed == [
        {
            "KeyId": arn_of(key_id),
            "GrantId": first["GrantId"],
            "CreationDate": listed[0]["CreationDate"],
            "GranteePrincipal": ALICE,
            "IssuingAccount": ROOT,
            "Operations": ["Encrypt", "Decrypt"],
            "Name": "one",
            "RetiringPrincipal": BOB,
            "Constraints": {"EncryptionContextSubset": {"a": "b"}},
        }
    ]
    assert len(by_bob) == 2
    assert page["Truncated"] and len(page["Grants"] + rest["Grants"]) == 3
    with pytest.raises(InvalidGrantIdException):
        kms.list_grants(ROOT, {"KeyId": key_id, "GrantId": "not-a-grant"})
    assert kms.list_retirable_grants(ROOT, {"RetiringPrincipal": BOB})["Grants"] == listed


def test_list_grants_needs_permission(kms: Kms) -> None:
    key_id = new_key(kms)

    with pytest.raises(AccessDeniedException):
        kms.list_grants(ALICE, {"KeyId": key_id})


def test_retire_grant_by_token_or_id_by_those_allowed(kms: Kms) -> None:
    key_id = new_key(kms)
    by_retiree = grant(kms, key_id, RetiringPrincipal=BOB)
    by_grantee = grant(kms, key_id, Operations=["Encrypt", "RetireGrant"])
    by_root = grant(kms, key_id)

    with pytest.raises(AccessDeniedException):
        kms.retire_grant(ALICE, {"GrantToken": by_retiree["GrantToken"]})
    kms.retire_grant(BOB, {"GrantToken": by_retiree["GrantToken"]})
    kms.retire_grant(ALICE, {"KeyId": key_id, "GrantId": by_grantee["GrantId"]})
    kms.retire_grant(ROOT, {"KeyId": arn_of(key_id), "GrantId": by_root["GrantId"]})

    assert kms.list_grants(ROOT, {"KeyId": key_id})["Grants"] == []
    with pytest.raises(NotFoundException):
        kms.retire_grant(BOB, {"GrantToken": by_retiree["GrantToken"]})
    with pytest.raises(InvalidGrantTokenException):
        kms.retire_grant(BOB, {"GrantToken": "forged"})
    with pytest.raises(ValidationException):
        kms.retire_grant(BOB, {"KeyId": key_id})


def test_revoke_grant(kms: Kms) -> None:
    key_id = new_key(kms)
    created = grant(kms, key_id)

    with pytest.raises(AccessDeniedException):
        kms.revoke_grant(ALICE, {"KeyId": key_id, "GrantId": created["GrantId"]})
    kms.revoke_grant(ROOT, {"KeyId": key_id, "GrantId": created["GrantId"]})

    assert not can(kms, ALICE, key_id)
    with pytest.raises(NotFoundException):
        kms.revoke_grant(ROOT, {"KeyId": key_id, "GrantId": created["GrantId"]})
    with pytest.raises(InvalidGrantIdException):
        kms.revoke_grant(ROOT, {"KeyId": key_id, "GrantId": "123"})


def test_re_encrypt_needs_from_and_to(kms: Kms) -> None:
    source, destination = new_key(kms), new_key(kms)
    blob = kms.encrypt(ROOT, {"KeyId": source, "Plaintext": b"x"})["CiphertextBlob"]
    grant(kms, source, Operations=["ReEncryptFrom"])

    with pytest.raises(AccessDeniedException, match="kms:ReEncryptTo"):
        kms.re_encrypt(ALICE, {"CiphertextBlob": blob, "DestinationKeyId": destination})
    grant(kms, destination, Operations=["ReEncryptTo"])
    kms.re_encrypt(ALICE, {"CiphertextBlob": blob, "DestinationKeyId": destination})


def test_policy_conditions_see_grant_requests(kms: Kms) -> None:
    key_id = key_with(
        kms,
        statement(
            "Allow",
            ALICE,
            "kms:CreateGrant",
            Condition={
                "ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt", "Decrypt"]}
            },
        ),
    )

    kms.create_grant(ALICE, {"KeyId": key_id, "GranteePrincipal": BOB, "Operations": ["Decrypt"]})
    with pytest.raises(AccessDeniedException):
        kms.create_grant(
            ALICE, {"KeyId": key_id, "GranteePrincipal": BOB, "Operations": ["ReEncryptFrom"]}
        )
    assert (
        json.loads(kms.get_key_policy(ROOT, {"KeyId": key_id})["Policy"])["Statement"][0]
        == ROOT_ADMIN
    )
