"""``Kms``: the emulated AWS Key Management Service.

Every operation is a method taking the calling principal (an IAM or STS ARN) and the request
as a dict shaped like the AWS JSON request, and returning a dict shaped like the AWS JSON
response. Blob members (Plaintext, CiphertextBlob, Message, Signature, Mac, PublicKey, ...)
are ``bytes`` both ways; timestamps are epoch seconds (``float``). Errors are raised as
``emulator.kms.errors.KmsError`` subclasses named like AWS's, with ``code`` = ``__type``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from emulator.kms._aliases import AliasOps
from emulator.kms._base import JSON, Call
from emulator.kms._crypto import CryptoOps
from emulator.kms._grants import GrantOps
from emulator.kms._keys import KeyOps
from emulator.kms._keystores import KeyStoreOps
from emulator.kms.access import Decision
from emulator.kms.errors import UnknownOperationException
from emulator.kms.policy import Principal

__all__ = ["OPERATIONS", "Kms"]

OPERATIONS: tuple[str, ...] = (
    "CancelKeyDeletion",
    "ConnectCustomKeyStore",
    "CreateAlias",
    "CreateCustomKeyStore",
    "CreateGrant",
    "CreateKey",
    "Decrypt",
    "DeleteAlias",
    "DeleteCustomKeyStore",
    "DescribeCustomKeyStores",
    "DescribeKey",
    "DisableKey",
    "DisableKeyRotation",
    "DisconnectCustomKeyStore",
    "EnableKey",
    "EnableKeyRotation",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "GenerateRandom",
    "GetKeyPolicy",
    "GetKeyRotationStatus",
    "GetPublicKey",
    "ListAliases",
    "ListGrants",
    "ListKeyPolicies",
    "ListKeyRotations",
    "ListKeys",
    "ListResourceTags",
    "ListRetirableGrants",
    "PutKeyPolicy",
    "ReEncrypt",
    "RetireGrant",
    "RevokeGrant",
    "RotateKeyOnDemand",
    "ScheduleKeyDeletion",
    "Sign",
    "TagResource",
    "UntagResource",
    "UpdateAlias",
    "UpdateCustomKeyStore",
    "UpdateKeyDescription",
    "Verify",
    "VerifyMac",
)


def method_name(operation: str) -> str:
    """``GenerateDataKeyPair`` -> ``generate_data_key_pair``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


_METHOD_NAMES = {operation: method_name(operation) for operation in OPERATIONS}


class Kms(KeyOps, AliasOps, CryptoOps, GrantOps, KeyStoreOps):
    """The emulated AWS KMS of one account and Region.

    ``Kms(storage, clock, random, sealer, account_id="111122223333", region="us-east-1",
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
    """

    def call(self, principal: str, operation: str, params: Mapping[str, Any] | None = None) -> JSON:
        """Dispatch by AWS operation name (``"Encrypt"``) — what the HTTP endpoint and the
        learner console use. Unknown names raise UnknownOperationException (audited)."""
        handler = self._handler(operation)
        if handler is None:
            name = operation if isinstance(operation, str) else repr(operation)
            error = UnknownOperationException(f"Operation {name[:128]} is not supported.")
            call = Call(name[:128], principal if isinstance(principal, str) else repr(principal))
            self._record(call, error.code, error.message)
            raise error
        return handler(principal, params or {})

    def _handler(self, operation: str) -> Callable[[str, Mapping[str, Any]], JSON] | None:
        if isinstance(operation, str):
            name = _METHOD_NAMES.get(operation)  # memoised method_name
        else:
            name = method_name(operation) if operation in OPERATIONS else None
        if name is None:
            return None
        handler: Callable[[str, Mapping[str, Any]], JSON] = getattr(self, name)
        return handler

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
        self.tick()
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
        return self.decide(caller, key, action, encryption_context)
