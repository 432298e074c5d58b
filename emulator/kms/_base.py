"""Shared machinery of ``Kms``: identifiers, storage access, the time-based effects (tick),
the audit wrapper every operation runs in, key resolution, key states and access checks.

The operation mixins (``_keys``, ``_aliases``, ``_crypto``, ``_grants``, ``_keystores``)
build on this class; ``emulator.kms.service.Kms`` puts them together.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from emulator.core import (
    AuditLog,
    Clock,
    RandomSource,
    Sealer,
    SealingError,
    Storage,
    iso_time,
)
from emulator.keystore import CustomKeyStoreBackend, KeyStoreBackendError
from emulator.kms.access import (
    CROSS_ACCOUNT_ACTIONS,
    ConditionContext,
    Decision,
    grant_allows,
)
from emulator.kms.errors import (
    AccessDeniedException,
    DisabledException,
    InvalidArnException,
    InvalidGrantTokenException,
    InvalidMarkerException,
    KmsError,
    KMSInternalException,
    KMSInvalidStateException,
    NotFoundException,
)
from emulator.kms.policy import AccessRequest, KeyPolicy, PolicyVerdict, Principal
from emulator.kms.primitives import load_private_key
from emulator.kms.records import (
    ALIAS,
    GRANT,
    KEY,
    KEYSTORE,
    MATERIAL,
    SCHEDULE,
    TAGS,
    AliasRecord,
    GrantRecord,
    KeyRecord,
    KeyStoreRecord,
    MaterialRecord,
    material_identity,
)
from emulator.kms.schema import OPERATION_SCHEMAS, validate
from emulator.kms.specs import GRANT_OPERATIONS

JSON = dict[str, Any]
T = TypeVar("T")

SERVICE_PRINCIPAL = "kms.amazonaws.com"
DAY = 86400.0
_ACCOUNT_ID = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_KEY_ARN = re.compile(r"^arn:aws:kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<resource>.+)$")
_MARKER_PREFIX = "kms-marker:"
_CACHE_LIMIT = 256
_GRANT_TOKEN_IDENTITY = "kms-grant-token"
# Process-wide memos of pure functions (bounded: cleared when full).
_PRINCIPALS: dict[str, Principal | None] = {}
_KEY_IDS: dict[str, str] = {}  # bare key id as given -> key id
_POLICIES: dict[str, KeyPolicy] = {}
_VERDICTS: dict[tuple[str, str, str, str], PolicyVerdict] = {}
_AESGCMS: dict[bytes, AESGCM] = {}  # by key bytes: building one costs more than a decrypt


def _aesgcm(key: bytes) -> AESGCM:
    """``AESGCM(key)``, memoised process-wide (a pure function of the key bytes): a Kms
    built per request unseals its keys anew, but need not rebuild the cipher objects."""
    aead = _AESGCMS.get(key)
    if aead is None:
        if len(_AESGCMS) > _CACHE_LIMIT:
            _AESGCMS.clear()
        aead = _AESGCMS[key] = AESGCM(key)
    return aead


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


class Call:
    """Per-request scratch: who calls, which key it turned out to target, audit detail, and
    the call's time for the audit record (the clock is read once per call). Unset members
    fall back to the class defaults (fewer stores per call than an ``__init__`` setting all).
    """

    principal: Principal | None = None
    target: str | None = None
    time: str | None = None
    fresh = True  # detail shares nothing with the request (see AuditLog.record)

    def __init__(self, operation: str, principal_arn: str) -> None:
        self.operation = operation
        self.principal_arn = principal_arn
        self.detail: JSON = {}

    @property
    def caller(self) -> Principal:
        if self.principal is None:  # _run parses the principal before any operation body
            raise KMSInternalException("The caller was not authenticated.")
        return self.principal


class KmsBase:
    """State lives in ``Storage`` only. Memo caches hold only pure functions of stored values
    or of their inputs: per object, opened key material by sealed blob, key names by key id
    and KeyRecords of unchanged key records (see ``_read_key``); process-wide and bounded,
    parsed policies, condition-free verdicts, principals and key ids. Every call still reads
    what it needs from storage, so a fresh instance per request behaves exactly like a
    long-lived one, only slower."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        random: RandomSource,
        sealer: Sealer,
        account_id: str = "111122223333",
        region: str = "us-east-1",
        keystore_backend: CustomKeyStoreBackend | None = None,
        max_keys: int = 100_000,
    ) -> None:
        if not _ACCOUNT_ID.fullmatch(account_id):
            raise ValueError("account_id must be 12 digits")
        if not _REGION.fullmatch(region):
            raise ValueError("region must look like us-east-1")
        self._storage = storage
        self._clock = clock
        self._random = random
        self._sealer = sealer
        self._backend = keystore_backend
        self.account_id = account_id
        self.region = region
        self.max_keys = max_keys
        self._audit = AuditLog(storage, "kms", clock)
        self._scope = f"{account_id}:{region}:"
        self._arn_prefix = f"arn:aws:kms:{region}:{account_id}:"
        self._root_arn = f"arn:aws:iam::{account_id}:root"
        self._due_id = self._scope + "due"
        # key id -> (its storage object id, its ARN): pure functions of the id, memoised.
        self._key_names: dict[str, tuple[str, str]] = {}
        # storage object id -> (the record last read, its KeyRecord): see _read_key.
        self._read_keys: dict[str, tuple[JSON, KeyRecord]] = {}
        # (key id, version, sealed blob) -> opened material; None never matches a blob.
        self._materials: dict[tuple[str, int, str | None], Any] = {}

    def __repr__(self) -> str:
        return f"Kms(account_id={self.account_id!r}, region={self.region!r})"

    # --- identifiers --------------------------------------------------------------------------

    def key_arn(self, key_id: str) -> str:
        return f"{self._arn_prefix}key/{key_id}"

    def _name_key(self, key_id: str) -> tuple[str, str]:
        """(storage object id, ARN) of a key; callers try ``self._key_names`` first."""
        if len(self._key_names) > _CACHE_LIMIT:
            self._key_names.clear()
        names = self._key_names[key_id] = (self._scope + key_id, self.key_arn(key_id))
        return names

    def alias_arn(self, alias_name: str) -> str:
        return self._arn_prefix + alias_name

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _new_key_id(self) -> str:
        return str(uuid.UUID(bytes=self._random.token_bytes(16), version=4))

    def _random_hex(self, size: int) -> str:
        return self._random.token_bytes(size).hex()

    # --- storage ------------------------------------------------------------------------------

    def _scan(self, kind: str, prefix: str = "") -> list[tuple[str, JSON]]:
        """Records of ``kind`` in this account and Region whose id starts with ``prefix``."""
        start = self._scope + prefix
        cut = len(self._scope)
        return [
            (object_id[cut:], data)
            for object_id, data in self._storage.list(kind)
            if object_id.startswith(start)
        ]

    def _get(self, kind: str, object_id: str) -> JSON | None:
        return self._storage.get(kind, self._scope + object_id)

    def _put(self, kind: str, object_id: str, data: JSON) -> None:
        self._storage.put(kind, self._scope + object_id, data)

    def _delete(self, kind: str, object_id: str) -> None:
        self._storage.delete(kind, self._scope + object_id)

    def _get_key(self, key_id: str) -> KeyRecord | None:
        data = self._storage.get(KEY, self._scope + key_id)
        return KeyRecord.from_dict(data) if data is not None else None

    def _put_key(self, key: KeyRecord) -> None:
        self._storage.put(KEY, self._scope + key.key_id, key.to_dict())

    def _get_store(self, store_id: str) -> KeyStoreRecord | None:
        data = self._get(KEYSTORE, store_id)
        return KeyStoreRecord.from_dict(data) if data is not None else None

    def _put_store(self, store: KeyStoreRecord) -> None:
        self._put(KEYSTORE, store.store_id, store.to_dict())

    def _grants_of(self, key_id: str) -> list[GrantRecord]:
        return [GrantRecord.from_dict(data) for _, data in self._scan(GRANT, key_id + "/")]

    # --- time-based effects -------------------------------------------------------------------

    def _schedule(self, when: float) -> None:
        """Make sure ``tick`` looks again no later than ``when``."""
        record = self._get(SCHEDULE, "due")
        due = record.get("next_due") if record else None
        if due is None or when < due:
            self._put(SCHEDULE, "due", {"next_due": when})

    def tick(self) -> list[JSON]:
        """Apply what the clock says is due; every operation calls this first.

        Finishes deletions whose DeletionDate has passed, rotates keys whose automatic
        rotation is due (once per elapsed period; disabled keys wait until re-enabled), and
        settles custom key stores left CONNECTING. Returns the effects, also written to the
        audit log with the principal ``kms.amazonaws.com``. Cheap when nothing is due: one
        read of a single small record.
        """
        return self._tick(self._now())

    def _tick(self, now: float) -> list[JSON]:
        record = self._storage.get(SCHEDULE, self._due_id)
        due = record.get("next_due") if record else None
        if due is None or due > now:
            return []
        effects: list[JSON] = []
        next_due: float | None = None

        def later(when: float | None) -> None:
            nonlocal next_due
            if when is not None and (next_due is None or when < next_due):
                next_due = when

        # Stores first: a key deleted in this tick needs its store's settled connection.
        for _, data in self._scan(KEYSTORE):
            store = KeyStoreRecord.from_dict(data)
            if store.connect_due is None:
                continue
            if store.connect_due <= now:
                self._settle_connection(store)
                detail = {"ConnectionState": store.state}
                if store.error_code is not None:
                    detail["ConnectionErrorCode"] = store.error_code
                effects.append(
                    {
                        "operation": "ConnectCustomKeyStore",
                        "target": store.store_id,
                        "detail": detail,
                    }
                )
            else:
                later(store.connect_due)
        for _, data in self._scan(KEY):
            key = KeyRecord.from_dict(data)
            if key.state == "PendingDeletion" and key.deletion_date is not None:
                if key.deletion_date <= now:
                    self._delete_key_now(key)
                    effects.append({"operation": "DeleteKey", "target": self.key_arn(key.key_id)})
                else:
                    later(key.deletion_date)
                continue
            if (
                key.state == "Enabled"
                and key.next_rotation is not None
                and key.rotation_period_days
            ):
                rotations = 0
                while key.next_rotation <= now and rotations < 1000:
                    self._rotate_material(key, "AUTOMATIC", key.next_rotation)
                    key.next_rotation += key.rotation_period_days * DAY
                    rotations += 1
                    effects.append({"operation": "RotateKey", "target": self.key_arn(key.key_id)})
                if rotations:
                    self._put_key(key)
                later(key.next_rotation)
        self._put(SCHEDULE, "due", {"next_due": next_due})
        for effect in effects:
            self._audit.record(
                principal=SERVICE_PRINCIPAL,
                operation=effect["operation"],
                target=effect["target"],
                result="Success",
                detail=effect.get("detail"),
            )
        return effects

    def _rotate_material(self, key: KeyRecord, rotation_type: str, when: float) -> None:
        """Give ``key`` new current material; old versions stay for decryption."""
        version = key.material_version + 1
        material = MaterialRecord(
            key_id=key.key_id,
            version=version,
            material=self._sealer.seal(
                self._random.token_bytes(32), material_identity(key.key_id, version)
            ),
            material_id=self._random_hex(32),
            created=when,
            rotation_type=rotation_type,
        )
        self._put(MATERIAL, f"{key.key_id}/{version:06d}", material.to_dict())
        key.material_version = version
        key.material = material.material
        key.material_id = material.material_id

    def _delete_key_now(self, key: KeyRecord) -> None:
        if key.hsm_key_ref and key.custom_key_store_id and self._backend is not None:
            store = self._get_store(key.custom_key_store_id)
            if store is not None and store.state == "CONNECTED":
                # As in AWS, an HSM key that cannot be deleted now is left to the customer.
                with contextlib.suppress(KeyStoreBackendError):
                    self._backend.delete_key(
                        store.cluster_id, self._store_password(store), key.hsm_key_ref
                    )
        for object_id, _ in self._scan(MATERIAL, key.key_id + "/"):
            self._delete(MATERIAL, object_id)
        for object_id, _ in self._scan(GRANT, key.key_id + "/"):
            self._delete(GRANT, object_id)
        for object_id, data in self._scan(ALIAS):
            if data["target_key_id"] == key.key_id:
                self._delete(ALIAS, object_id)
        self._delete(TAGS, key.key_id)
        self._delete(KEY, key.key_id)

    def _settle_connection(self, store: KeyStoreRecord) -> None:
        """Finish a ConnectCustomKeyStore: log kmsuser in, or record why it failed."""
        store.connect_due = None
        backend = self._backend
        info = backend.cluster_info(store.cluster_id) if backend is not None else None
        if backend is None or info is None:
            store.state, store.error_code = "FAILED", "CLUSTER_NOT_FOUND"
        elif not any(hsm.state == "ACTIVE" for hsm in info.hsms):
            store.state, store.error_code = "FAILED", "INSUFFICIENT_CLOUDHSM_HSMS"
        else:
            try:
                backend.check_kmsuser(store.cluster_id, self._store_password(store))
                store.state, store.error_code = "CONNECTED", None
            except KeyStoreBackendError as error:
                store.state, store.error_code = "FAILED", error.code
        self._put_store(store)

    def _store_password(self, store: KeyStoreRecord) -> str:
        try:
            return self._sealer.unseal(store.password, f"kms-keystore:{store.store_id}").decode()
        except SealingError:
            raise KMSInternalException(
                "The custom key store password could not be opened."
            ) from None

    # --- the audited operation wrapper --------------------------------------------------------

    @staticmethod
    def _principal(arn: str) -> Principal | None:
        # Process-wide: parsing an ARN is a pure function of the string.
        try:
            return _PRINCIPALS[arn]
        except KeyError:
            if len(_PRINCIPALS) > _CACHE_LIMIT:
                _PRINCIPALS.clear()
            principal = _PRINCIPALS[arn] = Principal.parse(arn)
            return principal

    def _run(
        self,
        operation: str,
        principal: str,
        params: Mapping[str, Any],
        body: Callable[[Call, JSON], JSON],
        usual: Callable[[Any], tuple[JSON, JSON] | None] | None = None,
    ) -> JSON:
        """Run one operation: tick, authenticate, validate, execute, audit (always).

        ``usual`` checks the operation's common requests quickly (see ``usual_encrypt``):
        the request and its logged members, or None to validate the long way."""
        call = Call(operation, principal if isinstance(principal, str) else repr(principal))
        try:
            when = self._clock.now()
            call.time = iso_time(when)
            # tick(), inlined up to "nothing is due" (one small read): every call runs it.
            schedule = self._storage.get(SCHEDULE, self._due_id)
            if schedule:
                due = schedule.get("next_due")
                if due is not None:
                    now = when.timestamp()
                    if not due > now:
                        self._tick(now)
            caller = _PRINCIPALS.get(call.principal_arn)
            if caller is None:
                caller = self._principal(call.principal_arn)
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
                logged = {
                    name: request[name] for name in _LOGGED_FIELDS[operation] if name in request
                }
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
            result = body(call, request)
        except KmsError as error:
            self._record(call, error.code, error.message)
            raise
        except Exception as error:
            self._record(call, KMSInternalException.code, "An internal error occurred.")
            raise KMSInternalException("An internal error occurred.") from error
        self._audit.record(  # _record(call, "Success", None), inlined
            principal=call.principal_arn,
            operation=operation,
            target=call.target,
            result="Success",
            detail=call.detail,
            time=call.time,
            fresh=call.fresh,
        )
        return result

    def _record(self, call: Call, result: str, message: str | None) -> None:
        detail = call.detail
        if message:
            detail["errorMessage"] = message
        self._audit.record(
            principal=call.principal_arn,
            operation=call.operation,
            target=call.target,
            result=result,
            detail=detail,
            time=call.time,
            fresh=call.fresh,
        )

    # --- resolving keys -----------------------------------------------------------------------

    def _parse_kms_arn(self, arn: str) -> str:
        """The resource part (``key/<id>`` or ``alias/<name>``) of a KMS ARN of this
        account and Region."""
        match = _KEY_ARN.match(arn)
        if match is None:
            raise InvalidArnException(f"Invalid arn {arn}")
        if match.group("region") != self.region or match.group("account") != self.account_id:
            # Another account's or Region's keys are not in this emulator's storage.
            raise NotFoundException(f"Key '{arn}' does not exist")
        return match.group("resource")

    def _key_id_of(self, key_ref: str, *, allow_alias: bool = True) -> str:
        """Key id from a key id, key ARN, alias name or alias ARN."""
        found = _KEY_IDS.get(key_ref)
        if found is not None:
            return found
        ref = key_ref
        if ref.startswith("arn:"):
            ref = self._parse_kms_arn(ref)
            if ref.startswith("key/"):
                ref = ref[4:]
        if ref.startswith("alias/"):
            if not allow_alias:
                raise NotFoundException(f"Invalid keyId '{key_ref}'")
            data = self._get(ALIAS, ref)
            if data is None:
                raise NotFoundException(f"Alias {self.alias_arn(ref)} is not found.")
            return str(data["target_key_id"])
        if not _UUID.match(ref.lower()):
            raise NotFoundException(f"Invalid keyId '{key_ref}'")
        if ref is key_ref:  # a bare key id: the same for every account and Region
            if len(_KEY_IDS) > _CACHE_LIMIT:
                _KEY_IDS.clear()
            _KEY_IDS[key_ref] = ref.lower()
        return ref.lower()

    def _resolve(
        self,
        call: Call | None,
        key_ref: str,
        *,
        allow_alias: bool = True,
        read_only: bool = False,
    ) -> KeyRecord:
        """The key ``key_ref`` names (NotFoundException if none); the first key a call
        resolves is its audit target. ``read_only``: see ``_read_key``."""
        key_id = _KEY_IDS.get(key_ref)
        if key_id is None:
            key_id = self._key_id_of(key_ref, allow_alias=allow_alias)
        object_id, arn = self._key_names.get(key_id) or self._name_key(key_id)
        if read_only:
            key = self._read_key(object_id)
        else:
            data = self._storage.get(KEY, object_id)
            key = KeyRecord(**data) if data is not None else None
        if key is None:
            raise NotFoundException(f"Key '{arn}' does not exist")
        if call is not None and call.target is None:
            call.target = arn if key.key_id == key_id else self.key_arn(key.key_id)
        return key

    def _read_key(self, object_id: str) -> KeyRecord | None:
        """The key stored under ``object_id``, for an operation that only reads it.

        Storage is read every time; while the record read compares equal to the one read
        last, the KeyRecord built from it then is handed out again instead of a new one. So
        callers must not change it (a changed record is never served from this memo)."""
        data = self._storage.get(KEY, object_id)
        if data is None:
            return None
        memo = self._read_keys.get(object_id)
        if memo is not None and memo[0] == data:
            return memo[1]
        key = KeyRecord(**data)
        if len(self._read_keys) > _CACHE_LIMIT:
            self._read_keys.clear()
        self._read_keys[object_id] = (data, key)
        return key

    # --- key states ---------------------------------------------------------------------------

    def key_state(self, key: KeyRecord) -> str:
        """The KeyState AWS reports: a custom key store key is Unavailable while its store is
        not CONNECTED, unless it is pending deletion."""
        if key.custom_key_store_id is None or key.state == "PendingDeletion":
            return key.state
        store = self._get_store(key.custom_key_store_id)
        if store is None or store.state != "CONNECTED":
            return "Unavailable"
        return key.state

    def _require_usable(self, key: KeyRecord) -> None:
        """Key states for cryptographic operations (AWS's key state table)."""
        state = key.state if key.custom_key_store_id is None else self.key_state(key)
        if state == "Enabled":
            return
        arn = self.key_arn(key.key_id)
        if state == "Disabled":
            raise DisabledException(f"{arn} is disabled.")
        if state == "PendingDeletion":
            raise KMSInvalidStateException(f"{arn} is pending deletion.")
        raise KMSInvalidStateException(f"{arn} is unavailable.")

    def _reject_pending_deletion(self, key: KeyRecord) -> None:
        if key.state == "PendingDeletion":
            raise KMSInvalidStateException(f"{self.key_arn(key.key_id)} is pending deletion.")

    # --- access -------------------------------------------------------------------------------

    @staticmethod
    def _policy(text: str) -> KeyPolicy:
        # Process-wide: a parsed policy is a pure function of its text (and never mutated).
        policy = _POLICIES.get(text)
        if policy is None:
            if len(_POLICIES) > _CACHE_LIMIT:
                _POLICIES.clear()
            policy = _POLICIES[text] = KeyPolicy.parse(text)
        return policy

    def _verdict(
        self,
        principal: Principal,
        key: KeyRecord,
        action: str,
        encryption_context: Mapping[str, str] | None,
        extra: Mapping[str, Sequence[str]] | None,
    ) -> PolicyVerdict:
        policy = self._policy(key.policy)
        resource = self._arn_prefix + "key/" + key.key_id
        # Without conditions a verdict is a pure function of the policy text, the caller's
        # ARN, the action and the key's ARN: memoised process-wide.
        memo = (key.policy, principal.arn, action, resource) if policy.unconditional else None
        if memo is not None:
            found = _VERDICTS.get(memo)
            if found is not None:
                return found
        context = ConditionContext(principal, key, encryption_context, extra)
        verdict = policy.evaluate(AccessRequest(principal, action, resource, context))
        if memo is not None:
            if len(_VERDICTS) > _CACHE_LIMIT:
                _VERDICTS.clear()
            _VERDICTS[memo] = verdict
        return verdict

    def _allowing_grant(
        self,
        principal: Principal,
        key: KeyRecord,
        action: str,
        encryption_context: Mapping[str, str] | None,
    ) -> str | None:
        operation = action[4:]
        if operation not in GRANT_OPERATIONS:
            return None
        for grant in self._grants_of(key.key_id):
            if grant_allows(grant, principal, operation, encryption_context, key.is_symmetric):
                return grant.grant_id
        return None

    def decide(
        self,
        principal: Principal,
        key: KeyRecord,
        action: str,
        encryption_context: Mapping[str, str] | None = None,
        extra: Mapping[str, Sequence[str]] | None = None,
    ) -> Decision:
        """Key policy (explicit Deny wins), then grants. No audit, no state checks."""
        resource = self.key_arn(key.key_id)
        if principal.account != self.account_id and action not in CROSS_ACCOUNT_ACTIONS:
            return Decision(
                False,
                f"{action} cannot be used on a KMS key in another AWS account.",
                action,
                principal.arn,
                resource,
                "none",
            )
        verdict = self._verdict(principal, key, action, encryption_context, extra)
        if verdict.effect is not None and verdict.statement_index is not None:
            label = self._policy(key.policy).describe(verdict.statement_index)
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
        grant_id = self._allowing_grant(principal, key, action, encryption_context)
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
            f"No key policy statement and no grant allows {action} for {principal.arn}.",
            action,
            principal.arn,
            resource,
            "none",
        )

    def _authorize(
        self,
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
        if principal.account == self.account_id or action in CROSS_ACCOUNT_ACTIONS:
            # The memo lookup of _verdict, inlined: this runs on every key operation.
            policy = _POLICIES.get(key.policy)
            verdict = None
            if policy is not None and policy.unconditional:
                names = self._key_names.get(key.key_id) or self._name_key(key.key_id)
                verdict = _VERDICTS.get((key.policy, principal.arn, action, names[1]))
            if verdict is None:
                verdict = self._verdict(principal, key, action, encryption_context, extra)
            if verdict.effect == "Allow":
                return None
            explicit = verdict.effect == "Deny"
            if not explicit:
                grant_id = self._allowing_grant(principal, key, action, encryption_context)
                if grant_id is not None:
                    call.detail["grantId"] = grant_id
                    return grant_id
        why = (
            "with an explicit deny in a resource-based policy"
            if explicit
            else f"because no resource-based policy allows the {action} action"
        )
        raise AccessDeniedException(
            f"User: {call.principal_arn} is not authorized to perform: {action} "
            f"on resource: {self.key_arn(key.key_id)} {why}"
        )

    def _authorize_account(self, call: Call, action: str, resource: str = "*") -> None:
        """IAM-only operations (CreateKey, ListKeys, custom key stores...). The emulator has
        no IAM policies: every principal of this account is allowed, others are not."""
        if call.caller.account != self.account_id:
            raise AccessDeniedException(
                f"User: {call.principal_arn} is not authorized to perform: {action} on "
                f"resource: {resource} because no identity-based policy allows the {action} action"
            )

    def _check_grant_tokens(self, tokens: Sequence[str] | None) -> None:
        for token in tokens or ():
            self._grant_id_of_token(token)

    def _grant_token(self, grant_id: str) -> str:
        return self._sealer.seal(grant_id.encode(), _GRANT_TOKEN_IDENTITY + self._scope)

    def _grant_id_of_token(self, token: str) -> str:
        try:
            return self._sealer.unseal(token, _GRANT_TOKEN_IDENTITY + self._scope).decode()
        except SealingError:
            raise InvalidGrantTokenException("The grant token is not valid.") from None

    # --- key material (memoised by sealed blob) -----------------------------------------------

    def _open_material(
        self, key_id: str, version: int, sealed: str, build: Callable[[bytes], T]
    ) -> T:
        # Memoised by (key id, version, sealed blob): the blob is what storage holds, so a
        # changed record misses; the Sealer identity is a function of the first two.
        cache_key = (key_id, version, sealed)
        found = self._materials.get(cache_key)
        if found is None:
            try:
                raw = self._sealer.unseal(sealed, material_identity(key_id, version))
            except SealingError:
                raise KMSInternalException("The key material could not be opened.") from None
            if len(self._materials) > _CACHE_LIMIT:
                self._materials.clear()
            found = self._materials[cache_key] = build(raw)
        return found

    def _aead(self, key: KeyRecord, version: int) -> AESGCM | None:
        """AES-GCM under a version of a symmetric key's material; None if it is gone."""
        if version == key.material_version:
            sealed = key.material
        else:
            data = self._get(MATERIAL, f"{key.key_id}/{version:06d}")
            sealed = data["material"] if data is not None else None
        if sealed is None:
            return None
        found = self._materials.get((key.key_id, version, sealed))
        if found is not None:
            aead: AESGCM = found
            return aead
        return self._open_material(key.key_id, version, sealed, _aesgcm)

    def _material_id(self, key: KeyRecord, version: int) -> str | None:
        if version == key.material_version:
            return key.material_id
        data = self._get(MATERIAL, f"{key.key_id}/{version:06d}")
        return str(data["material_id"]) if data is not None else None

    def _private_key(self, key: KeyRecord) -> PrivateKeyTypes:
        if key.material is None:
            raise KMSInternalException("The key has no material.")
        return self._open_material(key.key_id, key.material_version, key.material, load_private_key)

    def _secret(self, key: KeyRecord) -> bytes:
        if key.material is None:
            raise KMSInternalException("The key has no material.")
        return self._open_material(key.key_id, key.material_version, key.material, bytes)

    # --- listing ------------------------------------------------------------------------------

    @staticmethod
    def _page(
        items: list[T], sort_key: Callable[[T], str], limit: int, marker: str | None
    ) -> tuple[list[T], str | None]:
        """One page of ``items`` (sorted by ``sort_key``) and the marker of the next one."""
        ordered = sorted(items, key=sort_key)
        if marker is not None:
            try:
                after = base64.urlsafe_b64decode(marker.encode("ascii")).decode("utf-8")
            except (binascii.Error, UnicodeError, ValueError):
                after = ""
            if not after.startswith(_MARKER_PREFIX):
                raise InvalidMarkerException(
                    "The marker that specifies where to start is not valid."
                )
            after = after[len(_MARKER_PREFIX) :]
            ordered = [item for item in ordered if sort_key(item) > after]
        page = ordered[:limit]
        if len(ordered) <= limit:
            return page, None
        last = _MARKER_PREFIX + sort_key(page[-1])
        return page, base64.urlsafe_b64encode(last.encode("utf-8")).decode("ascii")

    @staticmethod
    def _listing(name: str, page: list[Any], next_marker: str | None) -> JSON:
        result: JSON = {name: page, "Truncated": next_marker is not None}
        if next_marker is not None:
            result["NextMarker"] = next_marker
        return result

    def _aliases_of(self, key_id: str) -> list[AliasRecord]:
        return [
            AliasRecord.from_dict(data)
            for _, data in self._scan(ALIAS)
            if data["target_key_id"] == key_id
        ]
