"""Who may call an operation on a key, in AWS's order: an explicit Deny in the key policy or
the caller's IAM policies wins; then the key policy's Allow; then the caller's IAM policies,
which count only when the key policy allows the account (:mod:`.iam`); then grants. With
explainable decisions (``decide``) and the fast check every key operation runs
(``authorize``). Policy evaluation itself is :mod:`.policy`; grant matching :mod:`.access`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from emulator.kms import iam
from emulator.kms.access import CROSS_ACCOUNT_ACTIONS, ConditionContext, Decision, grant_allows
from emulator.kms.errors import AccessDeniedException
from emulator.kms.policy import AccessRequest, KeyPolicy, PolicyVerdict, Principal
from emulator.kms.records import KeyRecord
from emulator.kms.specs import GRANT_OPERATIONS
from emulator.kms.state import CACHE_LIMIT, Call, KmsState

# Process-wide memos of pure functions (bounded: cleared when full).
_POLICIES: dict[str, KeyPolicy] = {}
_VERDICTS: dict[tuple[str, str, str, str], PolicyVerdict] = {}


def _policy(text: str) -> KeyPolicy:
    # Process-wide: a parsed policy is a pure function of its text (and never mutated).
    policy = _POLICIES.get(text)
    if policy is None:
        if len(_POLICIES) > CACHE_LIMIT:
            _POLICIES.clear()
        policy = _POLICIES[text] = KeyPolicy.parse(text)
    return policy


@dataclass(frozen=True)
class Ask:
    """One question to the rules: may ``principal`` do ``action`` on ``key`` (with this
    encryption context and these extra condition keys)?"""

    kms: KmsState
    principal: Principal
    key: KeyRecord
    action: str
    encryption_context: Mapping[str, str] | None
    extra: Mapping[str, Sequence[str]] | None

    def context(self) -> ConditionContext:
        extra = _with_service(self.kms, self.extra)
        return ConditionContext(self.principal, self.key, self.encryption_context, extra)


def _verdict(ask: Ask) -> PolicyVerdict:
    policy = _policy(ask.key.policy)
    resource = ask.kms._arn_prefix + "key/" + ask.key.key_id
    # Without conditions a verdict is a pure function of the policy text, the caller's
    # ARN, the action and the key's ARN: memoised process-wide.
    memo = (
        (ask.key.policy, ask.principal.arn, ask.action, resource) if policy.unconditional else None
    )
    if memo is not None:
        found = _VERDICTS.get(memo)
        if found is not None:
            return found
    verdict = policy.evaluate(AccessRequest(ask.principal, ask.action, resource, ask.context()))
    if memo is not None:
        if len(_VERDICTS) > CACHE_LIMIT:
            _VERDICTS.clear()
        _VERDICTS[memo] = verdict
    return verdict


def _with_service(
    kms: KmsState, extra: Mapping[str, Sequence[str]] | None
) -> Mapping[str, Sequence[str]] | None:
    """kms:ViaService and kms:GrantIsForAWSResource when an AWS service made the call."""
    if kms.via_service is None:
        return extra
    return {
        **(extra or {}),
        "kms:viaservice": (kms.via_service,),
        "kms:grantisforawsresource": ("true",),
    }


def _iam(ask: Ask) -> tuple[PolicyVerdict, str | None]:
    """The caller's IAM policies' verdict (None unless a principal of this account has some)."""
    kms, principal = ask.kms, ask.principal
    if principal.is_root or principal.account != kms.account_id:
        return PolicyVerdict(None), None
    arn = kms.key_arn(ask.key.key_id)
    return iam.identity_verdict(kms, principal, ask.action, arn, ask.context())


def _key_policy_allows_account(ask: Ask) -> int | None:
    """The key policy statement that lets IAM policies count (it allows the account root)."""
    kms = ask.kms
    root = iam.root_of(kms.account_id)
    request = AccessRequest(root, ask.action, kms.key_arn(ask.key.key_id), ask.context())
    verdict = _policy(ask.key.policy).evaluate(request)
    return verdict.statement_index if verdict.effect == "Allow" else None


def _allowing_grant(ask: Ask) -> str | None:
    operation = ask.action[4:]
    if operation not in GRANT_OPERATIONS:
        return None
    for grant in ask.kms._grants_of(ask.key.key_id):
        if grant_allows(
            grant, ask.principal, operation, ask.encryption_context, ask.key.is_symmetric
        ):
            return grant.grant_id
    return None


def decide(
    kms: KmsState,
    principal: Principal,
    key: KeyRecord,
    action: str,
    encryption_context: Mapping[str, str] | None = None,
    extra: Mapping[str, Sequence[str]] | None = None,
) -> Decision:
    """Key policy (explicit Deny wins), then grants. No audit, no state checks."""
    resource = kms.key_arn(key.key_id)
    if principal.account != kms.account_id and action not in CROSS_ACCOUNT_ACTIONS:
        return Decision(
            False,
            f"{action} cannot be used on a KMS key in another AWS account.",
            action,
            principal.arn,
            resource,
            "none",
        )
    ask = Ask(kms, principal, key, action, encryption_context, extra)
    verdict = _verdict(ask)
    identity, policy_name = _iam(ask)
    if identity.effect == "Deny" and verdict.effect != "Deny":
        return Decision(
            False,
            f"Explicitly denied by IAM policy {policy_name!r} of {principal.arn}; an explicit "
            "Deny overrides every Allow and every grant.",
            action,
            principal.arn,
            resource,
            "iam-deny",
        )
    iam_note = ""
    if verdict.effect is None and identity.effect == "Allow":
        gate = _key_policy_allows_account(ask)
        if gate is not None:
            return Decision(
                True,
                f"Allowed by IAM policy {policy_name!r}, which counts because key policy "
                f"{_policy(key.policy).describe(gate)} allows the account.",
                action,
                principal.arn,
                resource,
                "iam",
                gate,
            )
        iam_note = (
            f" IAM policy {policy_name!r} allows it, but the key policy does not allow the "
            "account, so IAM policies do not count for this key."
        )
    if verdict.effect is not None and verdict.statement_index is not None:
        label = _policy(key.policy).describe(verdict.statement_index)
        allowed = verdict.effect == "Allow"
        reason = (
            f"Allowed by key policy {label}."
            if allowed
            else f"Explicitly denied by key policy {label}; an explicit Deny overrides "
            "every Allow and every grant."
        )
        return Decision(
            allowed,
            reason,
            action,
            principal.arn,
            resource,
            "policy",
            verdict.statement_index,
            verdict.statement_sid,
        )
    grant_id = _allowing_grant(ask)
    if grant_id is not None:
        return Decision(
            True,
            f"Allowed by grant {grant_id}.",
            action,
            principal.arn,
            resource,
            "grant",
            grant_id=grant_id,
        )
    return Decision(
        False,
        f"No key policy statement and no grant allows {action} for {principal.arn}.{iam_note}",
        action,
        principal.arn,
        resource,
        "none",
    )


def authorize(
    kms: KmsState,
    call: Call,
    key: KeyRecord,
    action: str,
    encryption_context: Mapping[str, str] | None = None,
    extra: Mapping[str, Sequence[str]] | None = None,
) -> str | None:
    """Raise AccessDeniedException unless allowed; return the grant id if a grant (not
    the key policy) allowed it. Same rules as ``decide``, minus building the reason."""
    principal = call.principal
    if principal is None:
        principal = call.caller  # raises
    explicit = False
    identity = key_verdict = PolicyVerdict(None)
    if principal.account == kms.account_id or action in CROSS_ACCOUNT_ACTIONS:
        ask = Ask(kms, principal, key, action, encryption_context, extra)
        # The memo lookup of _verdict, inlined: this runs on every key operation.
        policy = _POLICIES.get(key.policy)
        verdict = None
        if policy is not None and policy.unconditional:
            names = kms._key_names.get(key.key_id) or kms._name_key(key.key_id)
            verdict = _VERDICTS.get((key.policy, principal.arn, action, names[1]))
        if verdict is None:
            verdict = _verdict(ask)
        key_verdict = verdict
        if not principal.is_root and principal.account == kms.account_id:
            identity, _ = _iam(ask)
        if verdict.effect == "Allow" and identity.effect != "Deny":
            return None
        explicit = verdict.effect == "Deny" or identity.effect == "Deny"
        if (
            not explicit
            and identity.effect == "Allow"
            and _key_policy_allows_account(ask) is not None
        ):
            return None
        if not explicit:
            grant_id = _allowing_grant(ask)
            if grant_id is not None:
                call.detail["grantId"] = grant_id
                return grant_id
    if identity.effect == "Deny" and key_verdict.effect != "Deny":
        why = "with an explicit deny in an identity-based policy"
    elif explicit:
        why = "with an explicit deny in a resource-based policy"
    else:
        why = f"because no resource-based policy allows the {action} action"
    raise AccessDeniedException(
        f"User: {call.principal_arn} is not authorized to perform: {action} "
        f"on resource: {kms.key_arn(key.key_id)} {why}"
    )


def authorize_account(kms: KmsState, call: Call, action: str, resource: str = "*") -> None:
    """IAM-only operations (CreateKey, ListKeys, custom key stores...). The emulator has
    no IAM policies: every principal of this account is allowed, others are not."""
    if call.caller.account != kms.account_id:
        raise AccessDeniedException(
            f"User: {call.principal_arn} is not authorized to perform: {action} on "
            f"resource: {resource} because no identity-based policy allows the {action} action"
        )
