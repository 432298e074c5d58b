"""Grant operations: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.

A grant lets its grantee principal run some operations on one key, optionally only with a
matching encryption context. Grant tokens are sealed grant ids: a token names its grant and
cannot be forged without the host's master key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from emulator.kms import authorization
from emulator.kms.access import CONTEXT_OPERATIONS
from emulator.kms.errors import (
    AccessDeniedException,
    DisabledException,
    InvalidArnException,
    InvalidGrantIdException,
    LimitExceededException,
    NotFoundException,
    ValidationException,
)
from emulator.kms.policy import Principal, PrincipalPattern
from emulator.kms.records import GRANT, GrantRecord, KeyRecord
from emulator.kms.state import JSON, Call, KmsState, dry_run, listing, page_of

MAX_GRANTS_PER_KEY = 50_000
_GRANT_ID = re.compile(r"^[0-9a-f]{64}$")
_ALWAYS = ("CreateGrant", "RetireGrant", "DescribeKey")
_OPERATIONS_BY_KIND = {
    "symmetric": frozenset((*_ALWAYS, *CONTEXT_OPERATIONS)),
    "rsa-encryption": frozenset(
        (*_ALWAYS, "Decrypt", "Encrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey")
    ),
    "signing": frozenset((*_ALWAYS, "Sign", "Verify", "GetPublicKey")),
    "mac": frozenset((*_ALWAYS, "GenerateMac", "VerifyMac")),
}


def _kind(key: KeyRecord) -> str:
    if key.key_usage == "SIGN_VERIFY":
        return "signing"
    if key.key_usage == "GENERATE_VERIFY_MAC":
        return "mac"
    return "symmetric" if key.is_symmetric else "rsa-encryption"


def _at_least_as_strict(
    new: Mapping[str, Mapping[str, str]] | None, old: Mapping[str, Mapping[str, str]] | None
) -> bool:
    """A grant created through a constrained grant keeps (or tightens) its constraints."""
    if not old:
        return True
    if not new:
        return False
    old_equals, new_equals = old.get("EncryptionContextEquals"), new.get("EncryptionContextEquals")
    if old_equals is not None and dict(old_equals) != dict(new_equals or {}):
        return False
    old_subset = old.get("EncryptionContextSubset")
    if old_subset is not None:
        stricter = dict(new.get("EncryptionContextSubset") or new_equals or {})
        if any(stricter.get(k) != v for k, v in old_subset.items()):
            return False
    return True


def _grant_entry(kms: KmsState, grant: GrantRecord) -> JSON:
    entry: JSON = {
        "KeyId": kms.key_arn(grant.key_id),
        "GrantId": grant.grant_id,
        "CreationDate": grant.created,
        "GranteePrincipal": grant.grantee,
        "IssuingAccount": grant.issuing_account,
        "Operations": list(grant.operations),
    }
    if grant.name is not None:
        entry["Name"] = grant.name
    if grant.retiring is not None:
        entry["RetiringPrincipal"] = grant.retiring
    if grant.constraints:
        entry["Constraints"] = {k: dict(v) for k, v in grant.constraints.items()}
    return entry


def _check_grant_id(grant_id: str) -> None:
    if not _GRANT_ID.match(grant_id):
        raise InvalidGrantIdException(f"Invalid grant ID {grant_id}.")


def _find_grant(kms: KmsState, grant_id: str, key_id: str | None = None) -> GrantRecord:
    if key_id is not None:
        data = kms._get(GRANT, f"{key_id}/{grant_id}")
        if data is not None:
            return GrantRecord.from_dict(data)
    else:
        for object_id, data in kms._scan(GRANT):
            if object_id.endswith("/" + grant_id):
                return GrantRecord.from_dict(data)
    raise NotFoundException(f"Grant ID {grant_id} not found.")


def create_grant(kms: KmsState, call: Call, request: JSON) -> JSON:
    """CreateGrant: let GranteePrincipal run Operations on the key (optionally only
    with a matching encryption context). Returns GrantId and a GrantToken."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    kms._check_grant_tokens(request.get("GrantTokens"))
    grantee = request.get("GranteePrincipal")
    if grantee is None:
        raise ValidationException("GranteePrincipal is required.")
    for member in ("GranteePrincipal", "RetiringPrincipal"):
        value = request.get(member)
        if value is not None and PrincipalPattern.from_arn(value) in (
            None,
            PrincipalPattern("any"),
        ):
            raise InvalidArnException(f"{member} {value} is not a valid principal ARN.")
    operations = list(dict.fromkeys(request["Operations"]))
    allowed = _OPERATIONS_BY_KIND[_kind(key)]
    invalid = [operation for operation in operations if operation not in allowed]
    if invalid:
        raise ValidationException(
            f"Grant operations {', '.join(invalid)} are not valid for "
            f"{kms.key_arn(key.key_id)} ({key.key_spec}, {key.key_usage})."
        )
    constraints = request.get("Constraints") or None
    if constraints and (
        not key.is_symmetric or not any(op in CONTEXT_OPERATIONS for op in operations)
    ):
        raise ValidationException(
            "Encryption context grant constraints are supported only on grants for "
            "symmetric encryption KMS keys that include an operation taking an "
            "encryption context."
        )
    extra: dict[str, tuple[str, ...]] = {
        "kms:grantoperations": tuple(operations),
        "kms:granteeprincipal": (grantee,),
        "kms:grantisforawsresource": ("false",),
    }
    if request.get("RetiringPrincipal"):
        extra["kms:retiringprincipal"] = (request["RetiringPrincipal"],)
    if constraints:
        extra["kms:grantconstrainttype"] = tuple(constraints)
    via_grant = authorization.authorize(kms, call, key, "kms:CreateGrant", None, extra)
    if via_grant is not None:
        source = _find_grant(kms, via_grant, key.key_id)
        if not set(operations) <= set(source.operations) or not _at_least_as_strict(
            constraints, source.constraints
        ):
            raise AccessDeniedException(
                f"User: {call.principal_arn} is not authorized to perform: kms:CreateGrant "
                f"on resource: {kms.key_arn(key.key_id)}: grant {source.grant_id} allows "
                "creating grants only with the same or fewer operations and equal or "
                "stricter constraints"
            )
    if key.state == "Disabled":
        raise DisabledException(f"{kms.key_arn(key.key_id)} is disabled.")
    kms._reject_pending_deletion(key)
    dry_run(request)
    existing = kms._grants_of(key.key_id)
    name = request.get("Name")
    retiring = request.get("RetiringPrincipal")
    for grant in existing:
        if (
            name is not None
            and grant.name == name
            and (
                grant.grantee,
                sorted(grant.operations),
                grant.constraints,
                grant.retiring,
            )
            == (grantee, sorted(operations), constraints, retiring)
        ):
            return {"GrantToken": kms._grant_token(grant.grant_id), "GrantId": grant.grant_id}
    if len(existing) >= MAX_GRANTS_PER_KEY:
        raise LimitExceededException(
            f"{kms.key_arn(key.key_id)} has reached the limit of {MAX_GRANTS_PER_KEY} grants."
        )
    grant = GrantRecord(
        grant_id=kms._random_hex(32),
        key_id=key.key_id,
        grantee=grantee,
        operations=operations,
        created=kms._now(),
        issuing_account=kms._root_arn,
        name=name,
        retiring=retiring,
        constraints=(
            {kind: dict(context) for kind, context in constraints.items()} if constraints else None
        ),
    )
    kms._put(GRANT, f"{key.key_id}/{grant.grant_id}", grant.to_dict())
    call.detail["grantId"] = grant.grant_id
    return {"GrantToken": kms._grant_token(grant.grant_id), "GrantId": grant.grant_id}


def list_grants(kms: KmsState, call: Call, request: JSON) -> JSON:
    """ListGrants of one key, optionally filtered by GrantId or GranteePrincipal."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, "kms:ListGrants")
    if request.get("GrantId") is not None:
        _check_grant_id(request["GrantId"])
    grants = [
        grant
        for grant in kms._grants_of(key.key_id)
        if request.get("GrantId") in (None, grant.grant_id)
        and request.get("GranteePrincipal") in (None, grant.grantee)
    ]
    page, marker = page_of(
        grants, lambda grant: grant.grant_id, request.get("Limit", 50), request.get("Marker")
    )
    return listing("Grants", [_grant_entry(kms, grant) for grant in page], marker)


def list_retirable_grants(kms: KmsState, call: Call, request: JSON) -> JSON:
    """ListRetirableGrants: grants, on any key, whose RetiringPrincipal is the given one."""
    authorization.authorize_account(kms, call, "kms:ListRetirableGrants")
    grants = [
        GrantRecord.from_dict(data)
        for _, data in kms._scan(GRANT)
        if data.get("retiring") == request["RetiringPrincipal"]
    ]
    page, marker = page_of(
        grants, lambda grant: grant.grant_id, request.get("Limit", 50), request.get("Marker")
    )
    return listing("Grants", [_grant_entry(kms, grant) for grant in page], marker)


def retire_grant(kms: KmsState, call: Call, request: JSON) -> JSON:
    """RetireGrant by GrantToken, or by KeyId and GrantId. Allowed to the retiring
    principal, to the grantee when the grant includes RetireGrant, to the account root,
    and to principals the key policy allows kms:RetireGrant."""
    token: str | None = request.get("GrantToken")
    key_ref: str | None = request.get("KeyId")
    grant_id: str | None = request.get("GrantId")
    key_id: str | None = None
    if key_ref is not None:
        key_id = kms._resolve(call, key_ref, allow_alias=False).key_id
    if token is not None:
        grant_id = kms._grant_id_of_token(token)
    elif key_id is None or grant_id is None:
        raise ValidationException("Specify either GrantToken, or both KeyId and GrantId.")
    _check_grant_id(grant_id)
    grant = _find_grant(kms, grant_id, key_id)
    call.target = kms.key_arn(grant.key_id)
    if not _may_retire(kms, call.caller, grant):
        raise AccessDeniedException(
            f"User: {call.principal_arn} is not authorized to perform: kms:RetireGrant on "
            f"resource: {call.target} because it is neither the retiring principal nor a "
            "grantee allowed to retire this grant"
        )
    dry_run(request)
    kms._delete(GRANT, f"{grant.key_id}/{grant.grant_id}")
    return {}


def _may_retire(kms: KmsState, caller: Principal, grant: GrantRecord) -> bool:
    for candidate, needed in ((grant.retiring, None), (grant.grantee, "RetireGrant")):
        if candidate is None or (needed is not None and needed not in grant.operations):
            continue
        pattern = PrincipalPattern.from_arn(candidate)
        if pattern is not None and pattern.matches(caller):
            return True
    if caller.is_root and caller.arn == grant.issuing_account:
        return True
    key = kms._get_key(grant.key_id)
    if key is None:
        return False
    # Only the key policy counts here: another grant's RetireGrant covers that grant only.
    decision = authorization.decide(kms, caller, key, "kms:RetireGrant")
    return decision.allowed and decision.source == "policy"


def revoke_grant(kms: KmsState, call: Call, request: JSON) -> JSON:
    """RevokeGrant: needs kms:RevokeGrant in the key policy."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, "kms:RevokeGrant")
    _check_grant_id(request["GrantId"])
    grant = _find_grant(kms, request["GrantId"], key.key_id)
    dry_run(request)
    kms._delete(GRANT, f"{key.key_id}/{grant.grant_id}")
    return {}
