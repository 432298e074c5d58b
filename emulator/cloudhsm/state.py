"""What every part of the CloudHSM engine shares: the records in storage, the audit log,
identifiers, simulated durations and limits.

:class:`HsmState` holds the host's storage, clock, randomness and sealer and the small record
helpers (``_cluster_record``, ``_put_key`` ...). The operations live in plain modules by
concern, as functions taking the state first: :mod:`.control_plane`, :mod:`.sessions`,
:mod:`.users`, :mod:`.keys` and :mod:`.mechanisms`; :class:`~.engine.CloudHsm` puts them
together as methods.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal

from emulator.core import AuditLog, EngineState, Host

from .errors import CloudHsmResourceNotFoundException, HsmError, Pkcs11Error

JSON = dict[str, Any]
KeyHandle = int
Role = Literal["admin", "crypto-user"]

# Simulated durations. AWS takes "a few minutes" for each; labs fast-forward the clock.
CLUSTER_CREATE_TIME = dt.timedelta(minutes=5)
HSM_CREATE_TIME = dt.timedelta(minutes=10)
INITIALIZE_TIME = dt.timedelta(minutes=2)
DELETE_TIME = dt.timedelta(minutes=2)
BACKUP_INTERVAL = dt.timedelta(hours=24)
SESSION_TTL = dt.timedelta(hours=12)
QUORUM_TOKEN_TTL = dt.timedelta(minutes=15)

MAX_FAILED_LOGINS = 5
MAX_SHARED_USERS = 7
PBKDF2_ITERATIONS = 20_000
HSM_TYPES = ("hsm1.medium", "hsm2m.medium")
QUORUM_SERVICES = ("user", "quorum")

ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
USERNAME = re.compile(r"^[A-Za-z0-9_]{1,31}$")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def key_reference(handle: KeyHandle) -> str:
    """CloudHSM CLI's spelling of a key handle: ``0x`` and 16 hex digits."""
    return f"0x{handle:016x}"


def parse_key_reference(text: str) -> KeyHandle:
    """Inverse of :func:`key_reference`; accepts decimal too."""
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"not a key reference: {text!r}") from None


@dataclasses.dataclass
class Audit:
    """What one call will write to the audit log (filled in as the call learns more).
    ``time``: the call's time as ISO text once it has read the clock (else read at the end).
    """

    principal: str
    target: str | None
    detail: JSON = dataclasses.field(default_factory=dict)
    time: str | None = None


class Audited:
    """``with``: yields the call's ``Audit`` and appends it to the log when the block ends,
    with result "ok" or the HsmError's code (other exceptions pass unrecorded)."""

    __slots__ = ("_log", "_operation", "audit")

    def __init__(self, log: AuditLog, operation: str, principal: str, target: str | None) -> None:
        self._log = log
        self._operation = operation
        self.audit = Audit(principal, target)

    def __enter__(self) -> Audit:
        return self.audit

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:  # never suppresses the exception
        if exc is None:
            result = "ok"
        elif isinstance(exc, HsmError):
            result = exc.code
        else:
            return
        audit = self.audit
        self._log.record(
            principal=audit.principal,
            operation=self._operation,
            target=audit.target,
            result=result,
            detail=audit.detail,
            time=audit.time,
        )


@dataclasses.dataclass
class Context:
    """One data-plane call's view: the session record and its (advanced) cluster record."""

    session_id: str
    session: JSON
    cluster: JSON

    @property
    def username(self) -> str | None:
        value = self.session.get("username")
        return str(value) if value is not None else None

    @property
    def role(self) -> str | None:
        value = self.session.get("role")
        return str(value) if value is not None else None


class HsmState(EngineState):
    """The shared state of the emulated CloudHSM service for one AWS account and Region
    (:class:`~.engine.CloudHsm` adds the operations).

    Construct one per request over the host's storage; it holds no state of its own.

    :param host: where records live (:class:`emulator.core.MemoryStorage` in tests), the
        simulated clock (creation delays and backups follow it), randomness for ids, IVs and
        symmetric keys (RSA/EC material uses the OS CSPRNG via ``cryptography``), and the
        sealer of key material at rest (bound to each key's storage id).
    :param account_id: the AWS account, for ARNs.
    :param region: the AWS Region; Availability Zones are ``<region>a``, ``<region>b`` ...
    :param max_clusters: quota of clusters (not DELETED) per account and Region.
    :param max_hsms: quota of HSMs per cluster.
    :param caller: the IAM principal recorded for control-plane calls.
    :param subnet_zones: optional subnet id -> Availability Zone map; subnets not in it get
        zones in the order they are listed.
    """

    def __init__(
        self,
        host: Host,
        account_id: str = "111122223333",
        region: str = "us-east-1",
        *,
        max_clusters: int = 4,
        max_hsms: int = 28,
        caller: str | None = None,
        subnet_zones: Mapping[str, str] | None = None,
        client: str | None = None,
    ) -> None:
        super().__init__(host, account_id, region, "hsm")
        self._audit.source = client  # e.g. the PKCS #11 library: recorded on every event
        self.max_clusters = max_clusters
        self.max_hsms = max_hsms
        self.caller = caller or f"arn:aws:iam::{account_id}:root"
        self._subnet_zones = dict(subnet_zones or {})

    def _new_id(self, prefix: str, length: int = 11) -> str:
        raw = self._random.token_bytes(length)
        return prefix + "".join(ID_ALPHABET[b % 32] for b in raw)

    def _audited(self, operation: str, principal: str, target: str | None = None) -> Audited:
        """``with self._audited(...) as audit``: the call is logged when the block ends."""
        return Audited(self._audit, operation, principal, target)

    def audit_events(self) -> list[JSON]:
        """The HSM audit log, oldest first (time, principal, operation, target, result)."""
        return self._audit.events()

    def _cluster_record(self, cluster_id: str) -> JSON:
        record = self._storage.get("hsm.cluster", cluster_id)
        if record is None:
            raise CloudHsmResourceNotFoundException(f"Cluster {cluster_id} was not found.")
        return record

    def _put_cluster(self, cluster: JSON) -> None:
        self._storage.put("hsm.cluster", cluster["ClusterId"], cluster)

    def _hsm_record(self, hsm_id: str) -> JSON | None:
        return self._storage.get("hsm.hsm", hsm_id)

    def _put_hsm(self, cluster: JSON, hsm: JSON) -> None:
        """Save an HSM and mirror its state in the cluster (saved by the caller)."""
        self._storage.put("hsm.hsm", hsm["HsmId"], hsm)
        cluster["_"]["hsms"][hsm["HsmId"]] = {
            "state": hsm["State"],
            "due": hsm["_"]["due"],
            "az": hsm["AvailabilityZone"],
        }

    @staticmethod
    def _user_id(cluster_id: str, username: str) -> str:
        return f"{cluster_id}/{username}"

    @staticmethod
    def _key_id(cluster_id: str, handle: KeyHandle) -> str:
        return f"{cluster_id}/{key_reference(handle)}"

    def _users(self, cluster_id: str) -> list[JSON]:
        prefix = cluster_id + "/"
        return [record for key, record in self._storage.list("hsm.user") if key.startswith(prefix)]

    def _keys(self, cluster_id: str) -> list[JSON]:
        prefix = cluster_id + "/"
        return [record for key, record in self._storage.list("hsm.key") if key.startswith(prefix)]

    def _put_key(self, key: JSON) -> None:
        self._storage.put("hsm.key", self._key_id(key["cluster_id"], key["handle"]), key)

    def _delete_key(self, key: JSON) -> None:
        self._storage.delete("hsm.key", self._key_id(key["cluster_id"], key["handle"]))

    def _seal(self, cluster_id: str, handle: KeyHandle, material: bytes) -> str:
        return self._sealer.seal(material, self._key_id(cluster_id, handle))

    def _unseal(self, key: JSON) -> bytes:
        return self._sealer.unseal(key["material"], self._key_id(key["cluster_id"], key["handle"]))
