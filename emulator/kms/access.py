"""Access decisions: key policy first (explicit Deny wins), then grants.

``Decision`` is what ``Kms.explain_access`` returns and what the lab trace shows: whether a
principal may perform an action on a key, and which statement or grant decided it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emulator.kms.policy import Principal, PrincipalPattern
from emulator.kms.records import GrantRecord, KeyRecord

__all__ = [
    "CONTEXT_OPERATIONS",
    "CROSS_ACCOUNT_ACTIONS",
    "ConditionContext",
    "Decision",
    "grant_allows",
]

# Actions a principal of another account may be allowed by a key policy or grant (AWS's
# "Cross-account use: Yes" operations); everything else is same-account only.
CROSS_ACCOUNT_ACTIONS = frozenset(
    "kms:" + name
    for name in (
        "CreateGrant",
        "Decrypt",
        "DescribeKey",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateMac",
        "GetKeyRotationStatus",
        "GetPublicKey",
        "ListGrants",
        "ReEncryptFrom",
        "ReEncryptTo",
        "RetireGrant",
        "RevokeGrant",
        "Sign",
        "Verify",
        "VerifyMac",
    )
)

# Grant operations that take an encryption context: only these honour grant constraints.
CONTEXT_OPERATIONS = frozenset(
    (
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "ReEncryptFrom",
        "ReEncryptTo",
    )
)


@dataclass(frozen=True)
class Decision:
    """The outcome of an access check and the reason for it.

    ``source`` is "policy" (a key policy statement decided: ``statement_index``/
    ``statement_sid``), "iam" (the caller's IAM policy allowed it; ``statement_index`` is the
    key policy statement that lets IAM count), "iam-deny" (an IAM policy denied it), "grant"
    (``grant_id`` allowed it), "account" (an IAM-only operation, decided by account
    membership) or "none" (implicit deny).
    """

    allowed: bool
    reason: str
    action: str
    principal: str
    resource: str | None
    source: str
    statement_index: int | None = None
    statement_sid: str | None = None
    grant_id: str | None = None

    @property
    def explicit_deny(self) -> bool:
        return not self.allowed and self.source == "policy"


class ConditionContext(Mapping[str, Sequence[str]]):
    """Condition keys of one request, computed only when a policy asks for them."""

    __slots__ = ("_context", "_extra", "_key", "_principal")

    def __init__(
        self,
        principal: Principal,
        key: KeyRecord,
        encryption_context: Mapping[str, str] | None,
        extra: Mapping[str, Sequence[str]] | None,
    ) -> None:
        self._principal = principal
        self._key = key
        self._context = encryption_context or {}
        self._extra = extra or {}

    def __getitem__(self, name: str) -> Sequence[str]:
        found: Sequence[str] | None = self.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def get(self, name: str, default: Any = None) -> Any:
        if name.startswith("kms:encryptioncontext:"):
            value = self._context.get(name[len("kms:encryptioncontext:") :])
            return (value,) if value is not None else default
        if name == "kms:encryptioncontextkeys":
            return tuple(self._context) or default
        if name in ("kms:calleraccount", "aws:principalaccount"):
            return (self._principal.account,)
        if name == "aws:principalarn":
            return (self._principal.arn,)
        if name == "kms:keyspec" or name == "kms:customermasterkeyspec":
            return (self._key.key_spec,)
        if name == "kms:keyusage" or name == "kms:customermasterkeyusage":
            return (self._key.key_usage,)
        if name == "kms:keyorigin":
            return (self._key.origin,)
        if name == "kms:multiregion":
            return ("true" if self._key.primary_region is not None else "false",)
        return self._extra.get(name, default)

    def _names(self) -> list[str]:
        names = [
            "kms:calleraccount",
            "aws:principalaccount",
            "aws:principalarn",
            "kms:keyspec",
            "kms:keyusage",
            "kms:keyorigin",
            "kms:multiregion",
        ]
        names += ["kms:encryptioncontext:" + key for key in self._context]
        if self._context:
            names.append("kms:encryptioncontextkeys")
        return names + list(self._extra)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


def _context_lower(context: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in context.items()}


def constraints_hold(
    constraints: Mapping[str, Mapping[str, str]] | None, context: Mapping[str, str]
) -> bool:
    """Grant constraints: keys compare case-insensitively, values exactly (AWS's rule)."""
    if not constraints:
        return True
    request = _context_lower(context)
    equals = constraints.get("EncryptionContextEquals")
    if equals is not None and _context_lower(equals) != request:
        return False
    subset = constraints.get("EncryptionContextSubset")
    if subset is not None:
        for key, value in _context_lower(subset).items():
            if request.get(key) != value:
                return False
    return True


def grant_allows(
    grant: GrantRecord,
    principal: Principal,
    operation: str,
    encryption_context: Mapping[str, str] | None,
    key_is_symmetric: bool,
) -> bool:
    """Does ``grant`` let ``principal`` run ``operation`` (a grant operation name)?"""
    if operation not in grant.operations:
        return False
    pattern = PrincipalPattern.from_arn(grant.grantee)
    if pattern is None or not pattern.matches(principal):
        return False
    if operation in CONTEXT_OPERATIONS and key_is_symmetric:
        return constraints_hold(grant.constraints, encryption_context or {})
    return True
