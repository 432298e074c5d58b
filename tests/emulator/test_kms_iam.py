"""IAM identity policies weighed with key policies and grants, in AWS's order: an explicit
Deny anywhere wins; the key policy must allow the account for IAM policies to count; grants
last. And the condition keys the exams use, in key policies and identity policies alike."""

from __future__ import annotations

import json

import pytest

from emulator.kms import Kms, iam
from emulator.kms.errors import AccessDeniedException, MalformedPolicyDocumentException
from tests.emulator.test_kms_support import (
    ACCOUNT,
    ALICE,
    APP_ROLE,
    APP_SESSION,
    OUTSIDER,
    ROOT,
    ROOT_ADMIN,
    Env,
    _fresh_cache,
    env,
    kms,
    new_key,
    policy,
    statement,
)

__all__ = ["_fresh_cache", "env", "kms"]  # fixtures used by name


def identity(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action="kms:*", resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action="kms:*", resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def attach(kms: Kms, owner: str, *statements: dict, name: str = "p") -> None:
    iam.put_policy(kms, owner, name, identity(*statements))


def test_an_iam_allow_counts_when_the_key_policy_allows_the_account(kms: Kms) -> None:
    key_id = new_key(kms)  # the default key policy: the account root may do kms:*
    with pytest.raises(AccessDeniedException):
        kms.encrypt(ALICE, {"KeyId": key_id, "Plaintext": b"x"})
    attach(kms, ALICE, allow("kms:Encrypt"))
    kms.encrypt(ALICE, {"KeyId": key_id, "Plaintext": b"x"})
    decision = kms.explain_access(ALICE, "Encrypt", key_id)
    assert decision.allowed and decision.source == "iam"
    assert "allows the account" in decision.reason
    assert not kms.explain_access(ALICE, "Decrypt", key_id).allowed


def test_without_the_account_statement_iam_policies_do_not_count(kms: Kms) -> None:
    key_id = new_key(
        kms,
        Policy=policy(
            statement("Allow", ROOT, "kms:PutKeyPolicy"), statement("Allow", ROOT, "kms:Describe*")
        ),
    )
    attach(kms, ALICE, allow())
    with pytest.raises(AccessDeniedException):
        kms.encrypt(ALICE, {"KeyId": key_id, "Plaintext": b"x"})
    decision = kms.explain_access(ALICE, "Encrypt", key_id)
    assert not decision.allowed and "IAM policies do not count" in decision.reason


def test_an_explicit_deny_in_an_iam_policy_beats_a_key_policy_allow_and_a_grant(kms: Kms) -> None:
    key_id = new_key(kms, Policy=policy(ROOT_ADMIN, statement("Allow", ALICE, "kms:*")))
    kms.encrypt(ALICE, {"KeyId": key_id, "Plaintext": b"x"})
    kms.create_grant(ROOT, {"KeyId": key_id, "GranteePrincipal": ALICE, "Operations": ["Encrypt"]})
    attach(kms, ALICE, deny("kms:Encrypt"))
    with pytest.raises(AccessDeniedException, match="identity-based policy"):
        kms.encrypt(ALICE, {"KeyId": key_id, "Plaintext": b"x"})
    decision = kms.explain_access(ALICE, "Encrypt", key_id)
    assert not decision.allowed and decision.source == "iam-deny"


def test_an_explicit_deny_in_the_key_policy_beats_an_iam_allow(kms: Kms) -> None:
    key_id = new_key(kms, Policy=policy(ROOT_ADMIN, statement("Deny", ALICE, "kms:Decrypt")))
    attach(kms, ALICE, allow())
    blob = kms.encrypt(ALICE, {"KeyId": key_id, "Plaintext": b"x"})["CiphertextBlob"]
    with pytest.raises(AccessDeniedException, match="resource-based policy"):
        kms.decrypt(ALICE, {"CiphertextBlob": blob})


def test_a_roles_policies_apply_to_its_sessions_and_never_to_other_accounts(kms: Kms) -> None:
    key_id = new_key(kms)
    attach(kms, APP_ROLE, allow("kms:Encrypt"))
    kms.encrypt(APP_SESSION, {"KeyId": key_id, "Plaintext": b"x"})
    assert not kms.explain_access(OUTSIDER, "Encrypt", key_id).allowed


def test_identity_policies_are_validated(kms: Kms) -> None:
    with pytest.raises(MalformedPolicyDocumentException, match="no Principal"):
        iam.put_policy(kms, ALICE, "p", identity({**allow(), "Principal": "*"}))
    with pytest.raises(MalformedPolicyDocumentException):
        iam.put_policy(kms, ALICE, "p", "{not json")
    assert iam.list_policies(kms, ALICE) == []


@pytest.mark.parametrize(
    ("condition", "context", "allowed"),
    [
        ({"StringEquals": {"kms:CallerAccount": ACCOUNT}}, {}, True),
        ({"StringEquals": {"kms:CallerAccount": "444455556666"}}, {}, False),
        ({"StringEquals": {"kms:EncryptionContext:dept": "hr"}}, {"dept": "hr"}, True),
        ({"StringEquals": {"kms:EncryptionContext:dept": "hr"}}, {"dept": "it"}, False),
        (
            {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["dept"]}},
            {"dept": "hr"},
            True,
        ),
        (
            {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["dept"]}},
            {"team": "x"},
            False,
        ),
        ({"ArnEquals": {"aws:PrincipalArn": ALICE}}, {}, True),
        ({"ArnEquals": {"aws:PrincipalArn": APP_ROLE}}, {}, False),
    ],
)
def test_condition_keys_in_an_identity_policy(kms: Kms, condition, context, allowed) -> None:
    key_id = new_key(kms)
    attach(kms, ALICE, allow("kms:Encrypt", Condition=condition))
    assert kms.explain_access(ALICE, "Encrypt", key_id, context).allowed is allowed


def test_via_service_and_grant_for_aws_resource_hold_only_for_calls_an_aws_service_makes(
    env: Env, kms: Kms
) -> None:
    key_id = new_key(
        kms,
        Policy=policy(
            ROOT_ADMIN,
            statement(
                "Allow",
                ALICE,
                ["kms:GenerateDataKey", "kms:CreateGrant"],
                Condition={
                    "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                },
            ),
        ),
    )
    request = {"KeyId": key_id, "KeySpec": "AES_256"}
    with pytest.raises(AccessDeniedException):
        kms.generate_data_key(ALICE, request)  # a direct call: no kms:ViaService
    for_s3 = env.kms()
    for_s3.via_service = "s3.us-east-1.amazonaws.com"
    assert len(for_s3.generate_data_key(ALICE, request)["Plaintext"]) == 32
    for_ebs = env.kms()
    for_ebs.via_service = "ec2.us-east-1.amazonaws.com"
    with pytest.raises(AccessDeniedException):
        for_ebs.generate_data_key(ALICE, request)
