"""IAM identity policies of the account's principals, as KMS weighs them.

AWS evaluates a KMS request in this order: an explicit Deny anywhere (key policy or the
caller's IAM policies) wins; the key policy may allow the caller itself; the caller's IAM
policies count **only when the key policy allows the account** (a statement naming the account
root, as the default key policy does); otherwise a grant may allow it. This module keeps the
inline policies (``PutUserPolicy``/``PutRolePolicy``) and answers what they say about one
request; :mod:`.authorization` combines the answers.

An identity policy has no ``Principal`` element: it applies to the principal it is attached to
(a role's policies also to its assumed-role sessions). It is evaluated with the key policy
language by naming that principal in each statement.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from emulator.kms.errors import MalformedPolicyDocumentException, NotFoundException
from emulator.kms.policy import AccessRequest, KeyPolicy, PolicyVerdict, Principal
from emulator.kms.state import KmsState

__all__ = [
    "IAM_POLICY",
    "delete_policy",
    "get_policy",
    "identity_verdict",
    "list_policies",
    "put_policy",
    "root_of",
]

IAM_POLICY = "iam.policy"  # per principal ARN: {"policies": {name: document}}
MAX_POLICY_BYTES = 10_240  # IAM's limit for a user's inline policies, roughly


def root_of(account_id: str) -> Principal:
    principal = Principal.parse(f"arn:aws:iam::{account_id}:root")
    assert principal is not None
    return principal


def _owner(principal: Principal) -> str:
    """The identity whose policies apply: an assumed-role session answers to its role."""
    if principal.kind == "assumed-role":
        return f"arn:aws:iam::{principal.account}:role/{principal.name}"
    return principal.arn


def put_policy(kms: KmsState, owner_arn: str, name: str, document: str) -> None:
    """Attach (or replace) inline policy ``name``; the document must parse."""
    _as_key_policy(document, owner_arn)  # validates
    record = kms._get(IAM_POLICY, owner_arn) or {"policies": {}}
    record["policies"][name] = document
    kms._put(IAM_POLICY, owner_arn, record)


def get_policy(kms: KmsState, owner_arn: str, name: str) -> str:
    record = kms._get(IAM_POLICY, owner_arn) or {"policies": {}}
    if name not in record["policies"]:
        raise NotFoundException(f"The policy {name} of {owner_arn} does not exist.")
    return str(record["policies"][name])


def list_policies(kms: KmsState, owner_arn: str) -> list[str]:
    record = kms._get(IAM_POLICY, owner_arn) or {"policies": {}}
    return sorted(record["policies"])


def delete_policy(kms: KmsState, owner_arn: str, name: str) -> None:
    record = kms._get(IAM_POLICY, owner_arn) or {"policies": {}}
    if record["policies"].pop(name, None) is None:
        raise NotFoundException(f"The policy {name} of {owner_arn} does not exist.")
    kms._put(IAM_POLICY, owner_arn, record)


def identity_verdict(
    kms: KmsState, principal: Principal, action: str, resource: str, context: Any
) -> tuple[PolicyVerdict, str | None]:
    """What the caller's IAM policies say (Deny beats Allow) and the deciding policy's name."""
    if principal.account != kms.account_id or principal.is_root:
        return PolicyVerdict(None), None
    owner = _owner(principal)
    record = kms._get(IAM_POLICY, owner)
    if not record:
        return PolicyVerdict(None), None
    found: tuple[PolicyVerdict, str | None] = (PolicyVerdict(None), None)
    for name, document in sorted(record["policies"].items()):
        verdict = _parsed(document, owner).evaluate(
            AccessRequest(principal, action, resource, context)
        )
        if verdict.effect == "Deny":
            return verdict, name
        if verdict.effect == "Allow" and found[0].effect is None:
            found = (verdict, name)
    return found


@functools.lru_cache(maxsize=256)
def _parsed(document: str, owner_arn: str) -> KeyPolicy:
    """``_as_key_policy``, memoised process-wide: a pure function of its arguments, asked on
    every key operation of a principal with IAM policies."""
    return _as_key_policy(document, owner_arn)


def _as_key_policy(document: str, owner_arn: str) -> KeyPolicy:
    if len(document.encode()) > MAX_POLICY_BYTES:
        raise MalformedPolicyDocumentException("The identity policy is too large.")
    try:
        parsed = json.loads(document)
    except ValueError:
        raise MalformedPolicyDocumentException("The policy is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise MalformedPolicyDocumentException("The policy must be a JSON object.")
    statements = parsed.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise MalformedPolicyDocumentException("The policy has no Statement.")
    named = []
    for statement in statements:
        if not isinstance(statement, dict):
            raise MalformedPolicyDocumentException("Each Statement must be an object.")
        if "Principal" in statement or "NotPrincipal" in statement:
            raise MalformedPolicyDocumentException(
                "An identity-based policy has no Principal: it applies to its user or role."
            )
        if "Resource" not in statement and "NotResource" not in statement:
            raise MalformedPolicyDocumentException("Each statement needs a Resource.")
        named.append({**statement, "Principal": {"AWS": owner_arn}})
    return KeyPolicy.parse(json.dumps({**parsed, "Statement": named}))
