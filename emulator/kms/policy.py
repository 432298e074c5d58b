"""Key policies: parse, validate and evaluate the IAM policy language as KMS uses it.

Supported: ``Statement`` as a list or a single object; ``Effect`` Allow/Deny; ``Principal`` /
``NotPrincipal`` (``"*"``, ``{"AWS": arn | [arn, ...]}``, a bare account id); ``Action`` /
``NotAction`` with ``*`` and ``?`` wildcards (case-insensitive, like IAM); ``Resource`` /
``NotResource``; ``Condition`` with the String*, Arn*, Numeric*, Bool and Null operators,
``...IfExists`` and the ``ForAnyValue:`` / ``ForAllValues:`` set qualifiers.

Principal matching: a statement naming an account root (``arn:aws:iam::111122223333:root``
or ``111122223333``) matches only the root principal itself here; for every other principal of
that account it is what lets their IAM policies count (:mod:`.iam`, combined in
:mod:`.authorization`), as in AWS. Any other principal (user, role, assumed-role session) is
allowed by the key policy only by a statement that names it (a role ARN also matches the
role's assumed-role sessions) or by ``"*"``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from emulator.kms.errors import LimitExceededException, MalformedPolicyDocumentException

__all__ = [
    "MAX_POLICY_BYTES",
    "AccessRequest",
    "KeyPolicy",
    "PolicyVerdict",
    "Principal",
    "PrincipalPattern",
    "default_key_policy",
    "normalize_condition_key",
    "wildcard_match",
]

MAX_POLICY_BYTES = 32 * 1024

_PRINCIPAL_ARN = re.compile(
    r"^arn:aws:(?P<service>iam|sts)::(?P<account>\d{12}):(?P<resource>[\w+=,.@/-]+)$"
)
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ACTION = re.compile(r"^[a-zA-Z0-9*?-]+:[a-zA-Z0-9*?]+$")


@dataclass(frozen=True)
class Principal:
    """A caller: an IAM or STS ARN, parsed."""

    arn: str
    account: str
    kind: str  # root, user, role, group, assumed-role, federated-user
    name: str  # user or role name (last path segment); "" for root

    @property
    def is_root(self) -> bool:
        return self.kind == "root"

    @classmethod
    def parse(cls, arn: str) -> Principal | None:
        """Parse ``arn``; None when it is not an IAM/STS principal ARN."""
        match = _PRINCIPAL_ARN.match(arn) if isinstance(arn, str) else None
        if match is None:
            return None
        service, account, resource = match.group("service", "account", "resource")
        if service == "iam":
            if resource == "root":
                return cls(arn, account, "root", "")
            kind, _, rest = resource.partition("/")
            if kind in ("user", "role", "group") and rest and not rest.endswith("/"):
                return cls(arn, account, kind, rest.rsplit("/", 1)[-1])
            return None
        kind, _, rest = resource.partition("/")
        if kind == "assumed-role":
            role, _, session = rest.partition("/")
            if role and session:
                return cls(arn, account, kind, role)
        if kind == "federated-user" and rest:
            return cls(arn, account, kind, rest)
        return None


class AccessRequest(NamedTuple):
    """What is being asked: who, which action (``kms:Encrypt``), on which key, in what context.

    ``context`` maps condition keys (lower case, except the part after
    ``kms:EncryptionContext:``) to their values; multi-valued keys hold several.
    """

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, Sequence[str]]


class PolicyVerdict(NamedTuple):
    """``effect`` is "Allow", "Deny" or None (no statement applies: implicit deny)."""

    effect: str | None
    statement_index: int | None = None
    statement_sid: str | None = None


def default_key_policy(account_id: str) -> str:
    """The policy AWS gives a key created without one: the account root may do kms:*."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "key-default-1",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        },
        indent=2,
    )


@lru_cache(maxsize=1024)
def _wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM-style glob: ``*`` any run, ``?`` one character, nothing else special."""
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _wildcard_regex(pattern, ignore_case).match(value) is not None


# --- principals in policies -------------------------------------------------------------------


@dataclass(frozen=True)
class PrincipalPattern:
    kind: str  # any, root, arn, role
    account: str = ""
    arn: str = ""
    name: str = ""

    @classmethod
    def from_arn(cls, item: str) -> PrincipalPattern | None:
        """The pattern for one ``AWS`` principal entry; None when it is not valid."""
        if item == "*":
            return cls("any")
        if _ACCOUNT_ID.match(item):
            return cls("root", account=item)
        parsed = Principal.parse(item)
        if parsed is None:
            return None
        if parsed.is_root:
            return cls("root", account=parsed.account)
        if parsed.kind == "role":
            return cls("role", account=parsed.account, arn=item, name=parsed.name)
        return cls("arn", arn=item)

    def matches(self, caller: Principal) -> bool:
        if self.kind == "any":
            return True
        if self.kind == "root":
            return caller.is_root and caller.account == self.account
        if self.kind == "role":
            return caller.arn == self.arn or (
                caller.kind == "assumed-role"
                and caller.account == self.account
                and caller.name == self.name
            )
        return caller.arn == self.arn


def _principal_patterns(value: Any) -> tuple[PrincipalPattern, ...]:
    invalid = MalformedPolicyDocumentException(
        "Policy contains a statement with one or more invalid principals."
    )
    if value == "*":
        return (PrincipalPattern("any"),)
    if not isinstance(value, dict) or not value:
        raise invalid
    patterns: list[PrincipalPattern] = []
    for principal_type, entries in value.items():
        if principal_type not in ("AWS", "Service", "Federated", "CanonicalUser"):
            raise invalid
        items = [entries] if isinstance(entries, str) else entries
        if not isinstance(items, list) or not items:
            raise invalid
        for item in items:
            if not isinstance(item, str) or not item:
                raise invalid
            if principal_type != "AWS":
                # Service and federated principals never call the emulator directly.
                continue
            pattern = PrincipalPattern.from_arn(item)
            if pattern is None:
                raise invalid
            patterns.append(pattern)
    return tuple(patterns)


# --- conditions -------------------------------------------------------------------------------

_STRING_OPERATORS = {
    "StringEquals": ("equals", False),
    "StringNotEquals": ("equals", True),
    "StringEqualsIgnoreCase": ("iequals", False),
    "StringNotEqualsIgnoreCase": ("iequals", True),
    "StringLike": ("like", False),
    "StringNotLike": ("like", True),
    "ArnEquals": ("like", False),
    "ArnLike": ("like", False),
    "ArnNotEquals": ("like", True),
    "ArnNotLike": ("like", True),
    "NumericEquals": ("num_eq", False),
    "NumericNotEquals": ("num_eq", True),
    "NumericLessThan": ("num_lt", False),
    "NumericLessThanEquals": ("num_le", False),
    "NumericGreaterThan": ("num_gt", False),
    "NumericGreaterThanEquals": ("num_ge", False),
    "Bool": ("bool", False),
    "Null": ("null", False),
}


def normalize_condition_key(key: str) -> str:
    """Condition key names are case-insensitive; encryption context keys are not."""
    prefix = "kms:encryptioncontext:"
    if key[: len(prefix)].lower() == prefix:
        return prefix + key[len(prefix) :]
    return key.lower()


def _as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare(test: str, actual: str, expected: str) -> bool:
    if test == "equals":
        return actual == expected
    if test == "iequals":
        return actual.lower() == expected.lower()
    if test == "like":
        return wildcard_match(expected, actual)
    if test == "bool":
        return actual.lower() == expected.lower()
    left, right = _as_number(actual), _as_number(expected)
    if left is None or right is None:
        return False
    return {
        "num_eq": left == right,
        "num_lt": left < right,
        "num_le": left <= right,
        "num_gt": left > right,
        "num_ge": left >= right,
    }[test]


@dataclass(frozen=True)
class _Condition:
    test: str
    negated: bool
    qualifier: str | None  # None, "any", "all"
    if_exists: bool
    key: str
    values: tuple[str, ...]

    def holds(self, context: Mapping[str, Sequence[str]]) -> bool:
        actual = context.get(self.key) or ()
        if self.test == "null":
            return any((not actual) == (value.lower() == "true") for value in self.values)

        def hit(value: str) -> bool:
            return any(_compare(self.test, value, expected) for expected in self.values)

        if self.qualifier == "all":
            # ForAllValues over an empty set is true: IAM's classic trap, kept on purpose.
            if self.negated:
                return all(not hit(value) for value in actual)
            return all(hit(value) for value in actual)
        if not actual:
            if self.qualifier == "any":
                return self.if_exists
            return self.if_exists or self.negated
        if self.qualifier == "any" and self.negated:
            return any(not hit(value) for value in actual)
        matched = any(hit(value) for value in actual)
        return not matched if self.negated else matched


def _parse_conditions(block: Any) -> tuple[_Condition, ...]:
    if block is None:
        return ()
    if not isinstance(block, dict):
        raise MalformedPolicyDocumentException("Policy contains a malformed Condition block.")
    conditions: list[_Condition] = []
    for raw_operator, clauses in block.items():
        qualifier: str | None = None
        operator = raw_operator
        for prefix, name in (("ForAnyValue:", "any"), ("ForAllValues:", "all")):
            if operator.startswith(prefix):
                qualifier, operator = name, operator[len(prefix) :]
        if_exists = operator.endswith("IfExists") and operator != "IfExists"
        if if_exists:
            operator = operator[: -len("IfExists")]
        if operator not in _STRING_OPERATORS or not isinstance(clauses, dict):
            raise MalformedPolicyDocumentException(
                f"Policy contains an unsupported condition operator: {raw_operator}"
            )
        test, negated = _STRING_OPERATORS[operator]
        for key, raw_values in clauses.items():
            items = raw_values if isinstance(raw_values, list) else [raw_values]
            values = []
            for item in items:
                if isinstance(item, bool):
                    values.append("true" if item else "false")
                elif isinstance(item, (str, int, float)):
                    values.append(str(item))
                else:
                    raise MalformedPolicyDocumentException(
                        "Policy contains a malformed Condition block."
                    )
            conditions.append(
                _Condition(
                    test,
                    negated,
                    qualifier,
                    if_exists,
                    normalize_condition_key(str(key)),
                    tuple(values),
                )
            )
    return tuple(conditions)


# --- statements and the policy ----------------------------------------------------------------


def _string_list(value: Any, element: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise MalformedPolicyDocumentException(f"Policy contains a malformed {element} element.")
    return tuple(items)


class _Patterns:
    """A list of IAM globs compiled once: exact names in a set, wildcards as regexes."""

    __slots__ = ("anything", "exact", "ignore_case", "wild")

    def __init__(self, patterns: tuple[str, ...], *, ignore_case: bool) -> None:
        self.ignore_case = ignore_case
        self.anything = "*" in patterns
        fold = str.lower if ignore_case else str
        self.exact = frozenset(fold(p) for p in patterns if "*" not in p and "?" not in p)
        self.wild = tuple(_wildcard_regex(p, ignore_case) for p in patterns if "*" in p or "?" in p)

    def match(self, value: str) -> bool:
        if self.anything:
            return True
        if (value.lower() if self.ignore_case else value) in self.exact:
            return True
        return any(regex.match(value) for regex in self.wild)


@dataclass(frozen=True)
class _Statement:
    index: int
    sid: str | None
    effect: str
    principals: tuple[PrincipalPattern, ...]
    not_principal: bool
    actions: _Patterns | None
    not_action: bool
    resources: _Patterns | None
    not_resource: bool
    conditions: tuple[_Condition, ...]

    def applies(self, request: AccessRequest) -> bool:
        # A statement missing Action or Resource has no effect (AWS accepts it silently).
        if self.actions is None or self.resources is None:
            return False
        principal = request.principal
        if any(p.matches(principal) for p in self.principals) == self.not_principal:
            return False
        if self.actions.match(request.action) == self.not_action:
            return False
        if self.resources.match(request.resource) == self.not_resource:
            return False
        return all(condition.holds(request.context) for condition in self.conditions)

    def label(self) -> str:
        return f"statement {self.index}" + (f" ({self.sid!r})" if self.sid else "")


def _parse_statement(index: int, raw: Any) -> _Statement:
    if not isinstance(raw, dict):
        raise MalformedPolicyDocumentException("Policy contains a malformed Statement.")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicyDocumentException(
            "Policy contains a statement with an invalid Effect: it must be Allow or Deny."
        )
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise MalformedPolicyDocumentException("Policy contains a statement with an invalid Sid.")
    if ("Principal" in raw) == ("NotPrincipal" in raw):
        raise MalformedPolicyDocumentException(
            "Policy contains a statement with no principal."
            if "Principal" not in raw
            else "A statement cannot have both Principal and NotPrincipal."
        )
    not_principal = "NotPrincipal" in raw
    principals = _principal_patterns(raw["NotPrincipal" if not_principal else "Principal"])
    if "Action" in raw and "NotAction" in raw:
        raise MalformedPolicyDocumentException("A statement cannot have both Action and NotAction.")
    not_action = "NotAction" in raw
    actions = _string_list(raw.get("NotAction" if not_action else "Action"), "Action")
    for action in actions or ():
        if action != "*" and not _ACTION.match(action):
            raise MalformedPolicyDocumentException(
                f"Policy contains a statement with an invalid action: {action}"
            )
    not_resource = "NotResource" in raw
    resources = _string_list(raw.get("NotResource" if not_resource else "Resource"), "Resource")
    return _Statement(
        index=index,
        sid=sid,
        effect=effect,
        principals=principals,
        not_principal=not_principal,
        actions=_Patterns(actions, ignore_case=True) if actions is not None else None,
        not_action=not_action,
        resources=_Patterns(resources, ignore_case=False) if resources is not None else None,
        not_resource=not_resource,
        conditions=_parse_conditions(raw.get("Condition")),
    )


class KeyPolicy:
    """A parsed key policy. Build with ``KeyPolicy.parse(text)``; evaluate many times."""

    __slots__ = ("statements", "unconditional")

    def __init__(self, statements: tuple[_Statement, ...]) -> None:
        self.statements = statements
        # Without conditions a verdict depends only on principal, action and resource.
        self.unconditional = not any(statement.conditions for statement in statements)

    @classmethod
    def parse(cls, text: str) -> KeyPolicy:
        """Validate and parse; raise MalformedPolicyDocumentException or LimitExceeded."""
        if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
            raise LimitExceededException(
                f"The key policy exceeds the maximum size of {MAX_POLICY_BYTES} bytes."
            )
        try:
            document = json.loads(text)
        except ValueError:
            raise MalformedPolicyDocumentException("The policy is not valid JSON.") from None
        if not isinstance(document, dict):
            raise MalformedPolicyDocumentException("The policy must be a JSON object.")
        version = document.get("Version", "2012-10-17")
        if version not in ("2012-10-17", "2008-10-17"):
            raise MalformedPolicyDocumentException(f"Unsupported policy version: {version}")
        raw_statements = document.get("Statement")
        if isinstance(raw_statements, dict):
            raw_statements = [raw_statements]
        if not isinstance(raw_statements, list) or not raw_statements:
            raise MalformedPolicyDocumentException("The policy has no Statement.")
        return cls(tuple(_parse_statement(i, raw) for i, raw in enumerate(raw_statements)))

    def evaluate(self, request: AccessRequest) -> PolicyVerdict:
        """Explicit Deny beats Allow; no applicable statement means implicit deny."""
        allowed: _Statement | None = None
        for statement in self.statements:
            if not statement.applies(request):
                continue
            if statement.effect == "Deny":
                return PolicyVerdict("Deny", statement.index, statement.sid)
            if allowed is None:
                allowed = statement
        if allowed is None:
            return PolicyVerdict(None)
        return PolicyVerdict("Allow", allowed.index, allowed.sid)

    def describe(self, index: int) -> str:
        return self.statements[index].label()
