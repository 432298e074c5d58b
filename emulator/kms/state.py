"""What every KMS operation shares: the account's identifiers, storage access, key
resolution, key states, key material (memoised by sealed blob) and paging.

:class:`KmsState` holds the host's storage, clock, randomness and sealer. The operations are
plain functions, one module per concern (:mod:`.keys`, :mod:`.aliases`, :mod:`.crypto`,
:mod:`.grants`, :mod:`.keystores`), taking the state first; :mod:`.service` dispatches to them
through one table and runs each call audited.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from emulator.core import (
    EngineState,
    Host,
    PageTokenError,
    SealingError,
)
from emulator.core import page_of as core_page_of
from emulator.keystore import CustomKeyStoreBackend, XksProxy
from emulator.kms.errors import (
    DisabledException,
    DryRunOperationException,
    InvalidArnException,
    InvalidGrantTokenException,
    InvalidMarkerException,
    KMSInternalException,
    KMSInvalidStateException,
    NotFoundException,
)
from emulator.kms.policy import Principal
from emulator.kms.primitives import load_private_key
from emulator.kms.records import (
    ALIAS,
    GRANT,
    KEY,
    KEYSTORE,
    MATERIAL,
    AliasRecord,
    GrantRecord,
    KeyRecord,
    KeyStoreRecord,
    material_identity,
)

JSON = dict[str, Any]
T = TypeVar("T")
SERVICE_PRINCIPAL = "kms.amazonaws.com"
DAY = 86400.0
_ACCOUNT_ID = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
# A key id: a UUID, or "mrk-" and 32 hex digits for a multi-Region key.
_UUID = re.compile(
    r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$"
)
_KEY_ARN = re.compile(r"^arn:aws:kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<resource>.+)$")
_MARKER_PREFIX = "kms-marker:"
CACHE_LIMIT = 256
_GRANT_TOKEN_IDENTITY = "kms-grant-token"

# Process-wide memos of pure functions (bounded: cleared when full).
PRINCIPALS: dict[str, Principal | None] = {}
_KEY_IDS: dict[str, str] = {}  # bare key id as given -> key id
_AESGCMS: dict[bytes, AESGCM] = {}  # by key bytes: building one costs more than a decrypt


def _aesgcm(key: bytes) -> AESGCM:
    """``AESGCM(key)``, memoised process-wide (a pure function of the key bytes): a Kms
    built per request unseals its keys anew, but need not rebuild the cipher objects."""
    aead = _AESGCMS.get(key)
    if aead is None:
        if len(_AESGCMS) > CACHE_LIMIT:
            _AESGCMS.clear()
        aead = _AESGCMS[key] = AESGCM(key)
    return aead


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


class KmsState(EngineState):
    """State lives in ``Storage`` only. Memo caches hold only pure functions of stored values
    or of their inputs: per object, opened key material by sealed blob, key names by key id
    and KeyRecords of unchanged key records (see ``_read_key``); process-wide and bounded,
    parsed policies, condition-free verdicts, principals and key ids. Every call still reads
    what it needs from storage, so a fresh instance per request behaves exactly like a
    long-lived one, only slower."""

    def __init__(
        self,
        host: Host,
        account_id: str = "111122223333",
        region: str = "us-east-1",
        keystore_backend: CustomKeyStoreBackend | None = None,
        max_keys: int = 100_000,
        xks_proxy: XksProxy | None = None,
    ) -> None:
        super().__init__(host, account_id, region, "kms")
        self._backend = keystore_backend
        self._xks = xks_proxy  # reaches external key stores' proxies
        self.max_keys = max_keys
        # The AWS service calling on the principal's behalf ("s3.us-east-1.amazonaws.com"):
        # the kms:ViaService condition key. None for direct calls.
        self.via_service: str | None = None
        # The Regions multi-Region keys may be replicated into (None: any Region).
        self.regions: tuple[str, ...] | None = None
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

    def key_arn(self, key_id: str) -> str:
        return f"{self._arn_prefix}key/{key_id}"

    def _name_key(self, key_id: str) -> tuple[str, str]:
        """(storage object id, ARN) of a key; callers try ``self._key_names`` first."""
        if len(self._key_names) > CACHE_LIMIT:
            self._key_names.clear()
        names = self._key_names[key_id] = (self._scope + key_id, self.key_arn(key_id))
        return names

    def alias_arn(self, alias_name: str) -> str:
        return self._arn_prefix + alias_name

    def _new_key_id(self, multi_region: bool = False) -> str:
        if multi_region:
            return "mrk-" + self._random.token_bytes(16).hex()
        return str(uuid.UUID(bytes=self._random.token_bytes(16), version=4))

    def in_region(self, region: str) -> KmsState:
        """The same account's KMS in another Region, over the same storage (multi-Region
        keys: a replica lives there). Audit events of work done there land in this log."""
        other = KmsState(self.host, self.account_id, region, max_keys=self.max_keys)
        other.regions = self.regions
        return other

    def _random_hex(self, size: int) -> str:
        return self._random.token_bytes(size).hex()

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

    @staticmethod
    def _principal(arn: str) -> Principal | None:
        # Process-wide: parsing an ARN is a pure function of the string.
        try:
            return PRINCIPALS[arn]
        except KeyError:
            if len(PRINCIPALS) > CACHE_LIMIT:
                PRINCIPALS.clear()
            principal = PRINCIPALS[arn] = Principal.parse(arn)
            return principal

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
            if len(_KEY_IDS) > CACHE_LIMIT:
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
        if len(self._read_keys) > CACHE_LIMIT:
            self._read_keys.clear()
        self._read_keys[object_id] = (data, key)
        return key

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
        if state == "PendingImport":
            raise KMSInvalidStateException(f"{arn} is pending import.")
        raise KMSInvalidStateException(f"{arn} is unavailable.")

    def _reject_pending_deletion(self, key: KeyRecord) -> None:
        if key.state == "PendingDeletion":
            raise KMSInvalidStateException(f"{self.key_arn(key.key_id)} is pending deletion.")

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
            if len(self._materials) > CACHE_LIMIT:
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

    def _aliases_of(self, key_id: str) -> list[AliasRecord]:
        return [
            AliasRecord.from_dict(data)
            for _, data in self._scan(ALIAS)
            if data["target_key_id"] == key_id
        ]


def page_of[T](
    items: list[T], sort_key: Callable[[T], str], limit: int, marker: str | None
) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by ``sort_key``) and the marker of the next one."""
    try:
        return core_page_of(items, sort_key, limit, marker, prefix=_MARKER_PREFIX)
    except PageTokenError:
        raise InvalidMarkerException(
            "The marker that specifies where to start is not valid."
        ) from None


def listing(name: str, page: list[Any], next_marker: str | None) -> JSON:
    result: JSON = {name: page, "Truncated": next_marker is not None}
    if next_marker is not None:
        result["NextMarker"] = next_marker
    return result


def dry_run(request: JSON) -> None:
    if request.get("DryRun"):
        raise DryRunOperationException(
            "The request would have succeeded, but the DryRun option is set."
        )
