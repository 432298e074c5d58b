"""``Kms``: the emulated AWS Key Management Service.

Every operation is a plain function ``operation(kms, call, request) -> response`` in the
module of its concern (:mod:`.keys`, :mod:`.aliases`, :mod:`.crypto`, :mod:`.grants`,
:mod:`.keystores`). ``OPERATIONS`` maps each AWS operation name to its function, and
:func:`run` runs one call: tick, authenticate, validate, execute, audit (always).

Requests and responses are dicts shaped like the AWS JSON. Blob members (Plaintext,
CiphertextBlob, Message, Signature, Mac, PublicKey, ...) are ``bytes`` both ways; timestamps
are epoch seconds (``float``). Errors are raised as ``emulator.kms.errors.KmsError``
subclasses named like AWS's, with ``code`` = ``__type``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any

from emulator.core import iso_time
from emulator.kms import (
    aliases,
    authorization,
    crypto,
    grants,
    imports,
    keys,
    keystores,
    lifecycle,
    multi_region,
)
from emulator.kms.access import Decision
from emulator.kms.errors import (
    AccessDeniedException,
    KmsError,
    KMSInternalException,
    UnknownOperationException,
)
from emulator.kms.policy import Principal
from emulator.kms.records import SCHEDULE, KeyRecord
from emulator.kms.schema import OPERATION_SCHEMAS
from emulator.kms.state import JSON, PRINCIPALS, Call, KmsState
from emulator.kms.validation import usual_decrypt, usual_encrypt, validate

__all__ = ["OPERATIONS", "Kms", "Operation", "method_name", "run"]


@dataclasses.dataclass(frozen=True, slots=True)
class Operation:
    """One AWS operation: its function and, for the hottest, a fast check of the usual
    request (``usual``: the request and its logged members, or None to validate the long
    way)."""

    body: Callable[[KmsState, Call, JSON], JSON]
    usual: Callable[[Any], tuple[JSON, JSON] | None] | None = None


OPERATIONS: Mapping[str, Operation] = {
    "CancelKeyDeletion": Operation(keys.cancel_key_deletion),
    "ConnectCustomKeyStore": Operation(keystores.connect_custom_key_store),
    "CreateAlias": Operation(aliases.create_alias),
    "CreateCustomKeyStore": Operation(keystores.create_custom_key_store),
    "CreateGrant": Operation(grants.create_grant),
    "CreateKey": Operation(keys.create_key),
    "Decrypt": Operation(crypto.decrypt, usual_decrypt),
    "DeleteAlias": Operation(aliases.delete_alias),
    "DeleteCustomKeyStore": Operation(keystores.delete_custom_key_store),
    "DeleteImportedKeyMaterial": Operation(imports.delete_imported_key_material),
    "DescribeCustomKeyStores": Operation(keystores.describe_custom_key_stores),
    "DescribeKey": Operation(keys.describe_key),
    "DisableKey": Operation(keys.disable_key),
    "DisableKeyRotation": Operation(keys.disable_key_rotation),
    "DisconnectCustomKeyStore": Operation(keystores.disconnect_custom_key_store),
    "EnableKey": Operation(keys.enable_key),
    "EnableKeyRotation": Operation(keys.enable_key_rotation),
    "Encrypt": Operation(crypto.encrypt, usual_encrypt),
    "GenerateDataKey": Operation(crypto.generate_data_key),
    "GenerateDataKeyPair": Operation(crypto.generate_data_key_pair),
    "GenerateDataKeyPairWithoutPlaintext": Operation(crypto.generate_data_key_pair),
    "GenerateDataKeyWithoutPlaintext": Operation(crypto.generate_data_key),
    "GenerateMac": Operation(crypto.generate_mac),
    "GenerateRandom": Operation(crypto.generate_random),
    "GetKeyPolicy": Operation(keys.get_key_policy),
    "GetParametersForImport": Operation(imports.get_parameters_for_import),
    "GetKeyRotationStatus": Operation(keys.get_key_rotation_status),
    "GetPublicKey": Operation(crypto.get_public_key),
    "ImportKeyMaterial": Operation(imports.import_key_material),
    "ListAliases": Operation(aliases.list_aliases),
    "ListGrants": Operation(grants.list_grants),
    "ListKeyPolicies": Operation(keys.list_key_policies),
    "ListKeyRotations": Operation(keys.list_key_rotations),
    "ListKeys": Operation(keys.list_keys),
    "ListResourceTags": Operation(keys.list_resource_tags),
    "ListRetirableGrants": Operation(grants.list_retirable_grants),
    "PutKeyPolicy": Operation(keys.put_key_policy),
    "ReEncrypt": Operation(crypto.re_encrypt),
    "ReplicateKey": Operation(multi_region.replicate_key),
    "RetireGrant": Operation(grants.retire_grant),
    "RevokeGrant": Operation(grants.revoke_grant),
    "RotateKeyOnDemand": Operation(keys.rotate_key_on_demand),
    "ScheduleKeyDeletion": Operation(keys.schedule_key_deletion),
    "Sign": Operation(crypto.sign),
    "TagResource": Operation(keys.tag_resource),
    "UntagResource": Operation(keys.untag_resource),
    "UpdateAlias": Operation(aliases.update_alias),
    "UpdateCustomKeyStore": Operation(keystores.update_custom_key_store),
    "UpdateKeyDescription": Operation(keys.update_key_description),
    "UpdatePrimaryRegion": Operation(multi_region.update_primary_region),
    "Verify": Operation(crypto.verify),
    "VerifyMac": Operation(crypto.verify_mac),
}


def method_name(operation: str) -> str:
    """``GenerateDataKeyPair`` -> ``generate_data_key_pair``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


_OPERATION_OF_METHOD = {method_name(operation): operation for operation in OPERATIONS}

# Request members never copied into the audit log: material, plaintext, secrets, tokens.
_UNLOGGED = frozenset({"GrantTokens", "GrantToken", "KeyStorePassword"})
_LOGGED_FIELDS = {
    operation: tuple(
        name
        for name, field in schema.items()
        if not field.sensitive and field.kind != "unsupported" and name not in _UNLOGGED
    )
    for operation, schema in OPERATION_SCHEMAS.items()
}


# Logged members that are encryption contexts (the only containers among them for these
# operations: the others are strings, integers and booleans), by operation. A fresh copy of
# each makes the audit event the call's own: MemoryStorage keeps it without copying.
_LOGGED_CONTEXTS = {
    operation: tuple(
        name
        for name in _LOGGED_FIELDS[operation]
        if OPERATION_SCHEMAS[operation][name].kind == "context"
    )
    for operation in OPERATION_SCHEMAS
}


_FRESH_LOGGING = frozenset(
    operation
    for operation, names in _LOGGED_FIELDS.items()
    if all(
        OPERATION_SCHEMAS[operation][name].kind in ("string", "integer", "boolean", "context")
        for name in names
    )
)


def run(
    kms: KmsState,
    operation: str,
    principal: str,
    params: Mapping[str, Any],
    body: Callable[[KmsState, Call, JSON], JSON],
    usual: Callable[[Any], tuple[JSON, JSON] | None] | None = None,
) -> JSON:
    """Run one operation: tick, authenticate, validate, execute, audit (always).

    ``usual`` checks the operation's common requests quickly (see ``usual_encrypt``):
    the request and its logged members, or None to validate the long way."""
    call = Call(operation, principal if isinstance(principal, str) else repr(principal))
    try:
        when = kms._clock.now()
        call.time = iso_time(when)
        # tick(), inlined up to "nothing is due" (one small read): every call runs it.
        schedule = kms._storage.get(SCHEDULE, kms._due_id)
        if schedule:
            due = schedule.get("next_due")
            if due is not None:
                now = when.timestamp()
                if not due > now:
                    lifecycle.apply_due(kms, now)
        caller = PRINCIPALS.get(call.principal_arn)
        if caller is None:
            caller = kms._principal(call.principal_arn)
        call.principal = caller
        if caller is None:
            raise AccessDeniedException(
                f"User: {call.principal_arn} is not authorized to perform: kms:{operation} "
                "because it is not a valid IAM principal ARN"
            )
        checked = usual(params) if usual is not None else None
        if checked is not None:  # a common request: checked, contexts copied
            request, logged = checked
        else:
            request = validate(operation, params)
            logged = {name: request[name] for name in _LOGGED_FIELDS[operation] if name in request}
            if operation in _FRESH_LOGGING:
                for name in _LOGGED_CONTEXTS[operation]:
                    context = logged.get(name)
                    if type(context) is dict:  # validated: str keys and values
                        logged[name] = context.copy()
                    elif context is not None:
                        call.fresh = False
            elif logged:
                call.fresh = False
        if logged:
            call.detail["requestParameters"] = logged
        result = body(kms, call, request)
    except KmsError as error:
        record_call(kms, call, error.code, error.message)
        raise
    except Exception as error:
        record_call(kms, call, KMSInternalException.code, "An internal error occurred.")
        raise KMSInternalException("An internal error occurred.") from error
    kms._audit.record(  # record_call(kms, call, "Success", None), inlined
        principal=call.principal_arn,
        operation=operation,
        target=call.target,
        result="Success",
        detail=call.detail,
        time=call.time,
        fresh=call.fresh,
    )
    return result


def record_call(kms: KmsState, call: Call, result: str, message: str | None) -> None:
    detail = call.detail
    if message:
        detail["errorMessage"] = message
    kms._audit.record(
        principal=call.principal_arn,
        operation=call.operation,
        target=call.target,
        result=result,
        detail=detail,
        time=call.time,
        fresh=call.fresh,
    )


class Kms(KmsState):
    """The emulated AWS KMS of one account and Region.

    ``Kms(Host(storage, clock, random, sealer), account_id="111122223333", region="us-east-1",
    keystore_backend=None, max_keys=100_000)``

    * All state is in ``storage`` (kinds ``kms.key``, ``kms.material``, ``kms.alias``,
      ``kms.grant``, ``kms.tags``, ``kms.keystore``, ``kms.schedule``; object ids prefixed
      with ``<account>:<region>:``), so a fresh ``Kms`` per HTTP request is fine.
    * Key material is sealed with ``sealer``; nothing returns material a key's attributes
      forbid, and no error, repr or audit event contains material or plaintext.
    * Every call, successful or not, is appended to the ``kms`` audit log (CloudTrail-like:
      time, principal, operation, target key ARN, result = "Success" or the error code).
    * ``keystore_backend`` connects CloudHSM custom key stores; without it, creating one
      fails with CloudHsmClusterNotFoundException.
    * ``max_keys`` is the KMS keys quota of the account and Region (LimitExceededException).

    Authorization: see ``emulator.kms.policy`` for how key policies are evaluated (an account
    root statement matches only the root principal, as the emulator has no IAM policies) and
    ``explain_access`` for the reason behind any decision. Operations that AWS authorizes with
    IAM policies only (CreateKey, ListKeys, ListAliases, GenerateRandom, the custom key store
    operations) are allowed to every principal of the account and to no other account.

    Every operation is also a method named in snake case: ``kms.encrypt(principal, params)``
    is ``kms.call(principal, "Encrypt", params)``.
    """

    def call(self, principal: str, operation: str, params: Mapping[str, Any] | None = None) -> JSON:
        """Dispatch by AWS operation name (``"Encrypt"``) — what the HTTP endpoint and the
        learner console use. Unknown names raise UnknownOperationException (audited)."""
        entry = OPERATIONS.get(operation) if isinstance(operation, str) else None
        if entry is None:
            name = operation if isinstance(operation, str) else repr(operation)
            error = UnknownOperationException(f"Operation {name[:128]} is not supported.")
            call = Call(name[:128], principal if isinstance(principal, str) else repr(principal))
            record_call(self, call, error.code, error.message)
            raise error
        return run(self, operation, principal, params or {}, entry.body, entry.usual)

    def __getattr__(self, name: str) -> Callable[..., JSON]:
        operation = _OPERATION_OF_METHOD.get(name)
        if operation is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

        def method(principal: str, params: Mapping[str, Any] | None = None) -> JSON:
            return self.call(principal, operation, params)

        method.__name__ = name
        return method

    def tick(self) -> list[JSON]:
        """Apply what the clock says is due (see :func:`.lifecycle.tick`)."""
        return lifecycle.tick(self)

    def key_metadata(self, key: KeyRecord) -> JSON:
        """The KeyMetadata AWS returns for a key record."""
        return keys.key_metadata(self, key)

    def explain_access(
        self,
        principal: str,
        operation: str,
        key_id: str,
        encryption_context: Mapping[str, str] | None = None,
    ) -> Decision:
        """Would ``principal`` be allowed ``operation`` on ``key_id``, and why?

        ``operation`` is an AWS operation or action name (``"Decrypt"``, ``"kms:Decrypt"``,
        ``"ReEncryptFrom"``); ``ReEncrypt`` is checked as ``kms:ReEncryptFrom``. Looks at
        the key policy and grants only (not key state or usage). Not audited.
        """
        action = operation if operation.startswith("kms:") else "kms:" + operation
        if action == "kms:ReEncrypt":
            action = "kms:ReEncryptFrom"
        lifecycle.tick(self)
        key = self._resolve(None, key_id)
        caller = Principal.parse(principal)
        if caller is None:
            return Decision(
                False,
                f"{principal} is not a valid IAM principal ARN.",
                action,
                principal,
                self.key_arn(key.key_id),
                "none",
            )
        return authorization.decide(self, caller, key, action, encryption_context)
