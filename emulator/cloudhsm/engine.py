"""The emulated AWS CloudHSM service: clusters, HSMs, backups, users, sessions and keys.

One class, :class:`CloudHsm`, serves both planes:

* the **control plane** (the CloudHSM API): ``create_cluster``, ``describe_clusters``,
  ``create_hsm``, ``delete_hsm``, ``initialize_cluster``, ``delete_cluster``,
  ``describe_backups`` take and return dicts shaped like the AWS JSON;
* the **data plane** (what PKCS#11 and CloudHSM CLI do on the HSMs): sessions, login, user
  management, quorum approvals, key generation and cryptography, with failures raised as
  :class:`~emulator.cloudhsm.errors.Pkcs11Error` codes.

The engine keeps nothing on the Python object between calls: every cluster, HSM, user, key,
backup, session and quorum token is a JSON-able record in :class:`~emulator.core.Storage`
(kinds ``hsm.cluster``, ``hsm.hsm``, ``hsm.user``, ``hsm.key``, ``hsm.backup``,
``hsm.session``, ``hsm.quorum``). A caller keeps only the session id string. Time-driven work
(an HSM finishing its creation, daily backups) happens when a call notices it is due.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import re
from collections import OrderedDict
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from emulator.core import AuditLog, Clock, RandomSource, Sealer, Storage, iso_time

from . import attributes as attrs
from . import pki
from . import primitives as prim
from .errors import (
    CloudHsmInvalidRequestException,
    CloudHsmResourceLimitExceededException,
    CloudHsmResourceNotFoundException,
    HsmAvailabilityError,
    HsmError,
    Pkcs11Error,
    QuorumError,
    RoleError,
)

__all__ = ["CloudHsm", "KeyHandle", "Role"]

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

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,31}$")

_SYMMETRIC_ENCRYPT = ("CKM_AES_GCM", "CKM_AES_CBC_PAD", "CKM_AES_CTR")
_WRAP_MECHANISMS = ("CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD", "CKM_AES_GCM", "CKM_RSA_PKCS_OAEP")
_DIGESTS = {
    "CKM_SHA_1": "sha1",
    "CKM_SHA224": "sha224",
    "CKM_SHA256": "sha256",
    "CKM_SHA384": "sha384",
    "CKM_SHA512": "sha512",
}
_HASH_SUFFIX = {"SHA1": "sha1", "SHA224": "sha224", "SHA256": "sha256", "SHA384": "sha384"}
_HASH_SUFFIX["SHA512"] = "sha512"


@dataclasses.dataclass(frozen=True)
class _SignSpec:
    key_type: str  # rsa, ec, generic-secret
    scheme: str  # pkcs1, pss, ecdsa, hmac
    hash_name: str | None  # None: the data is already a digest


def _sign_mechanisms() -> dict[str, _SignSpec]:
    table: dict[str, _SignSpec] = {
        "CKM_RSA_PKCS_PSS": _SignSpec("rsa", "pss", None),
        "CKM_ECDSA": _SignSpec("ec", "ecdsa", None),
    }
    for suffix, name in _HASH_SUFFIX.items():
        table[f"CKM_{suffix}_RSA_PKCS"] = _SignSpec("rsa", "pkcs1", name)
        table[f"CKM_{suffix}_RSA_PKCS_PSS"] = _SignSpec("rsa", "pss", name)
        table[f"CKM_ECDSA_{suffix}"] = _SignSpec("ec", "ecdsa", name)
        table[f"CKM_{suffix}_HMAC"] = _SignSpec("generic-secret", "hmac", name)
    return table


_SIGN = _sign_mechanisms()
KNOWN_MECHANISMS = frozenset(
    {*_SYMMETRIC_ENCRYPT, *_WRAP_MECHANISMS, *_DIGESTS, *_SIGN, "CKM_RSA_PKCS_OAEP"}
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
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
class _Audit:
    """What one call will write to the audit log (filled in as the call learns more).
    ``time``: the call's time as ISO text once it has read the clock (else read at the end).
    """

    principal: str
    target: str | None
    detail: JSON = dataclasses.field(default_factory=dict)
    time: str | None = None


class _Audited:
    """``with``: yields the call's ``_Audit`` and appends it to the log when the block ends,
    with result "ok" or the HsmError's code (other exceptions pass unrecorded)."""

    __slots__ = ("_log", "_operation", "audit")

    def __init__(self, log: AuditLog, operation: str, principal: str, target: str | None) -> None:
        self._log = log
        self._operation = operation
        self.audit = _Audit(principal, target)

    def __enter__(self) -> _Audit:
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


class _KeyCall:
    """``with``: a data-plane call on a session: loads it (audited from the start, as by
    ``_Audited``) and yields ``(context, audit)``; the audit principal is the session's user.
    """

    __slots__ = ("_audited", "_handle", "_hsm", "_session_id")

    def __init__(self, hsm: CloudHsm, operation: str, session_id: str, handle: object) -> None:
        self._audited = _Audited(hsm._log, operation, "anonymous", None)
        self._hsm = hsm
        self._session_id = session_id
        self._handle = handle

    def __enter__(self) -> tuple[_Context, _Audit]:
        audit = self._audited.audit
        try:
            ctx = self._hsm._load_session(self._session_id, audit)
            audit.principal = ctx.username or "anonymous"
            handle = self._handle
            audit.target = (
                self._hsm._key_target(ctx, handle)
                if handle is not None
                else ctx.cluster["ClusterId"]
            )
        except BaseException as exc:
            self._audited.__exit__(type(exc), exc, exc.__traceback__)  # records an HsmError
            raise
        return ctx, audit

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._audited.__exit__(exc_type, exc, traceback)


@dataclasses.dataclass
class _Context:
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


class CloudHsm:
    """The emulated CloudHSM service for one AWS account and Region.

    Construct one per request over the host's storage; it holds no state of its own.

    :param storage: where records live (:class:`emulator.core.MemoryStorage` in tests).
    :param clock: simulated time; creation delays and backups follow it.
    :param random: randomness for ids, IVs and keys' ids (key material uses the OS CSPRNG via
        ``cryptography`` for RSA/EC, and ``random`` for symmetric keys).
    :param sealer: seals key material at rest, bound to each key's storage id.
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
        storage: Storage,
        clock: Clock,
        random: RandomSource,
        sealer: Sealer,
        account_id: str = "111122223333",
        region: str = "us-east-1",
        *,
        max_clusters: int = 4,
        max_hsms: int = 28,
        caller: str | None = None,
        subnet_zones: Mapping[str, str] | None = None,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._random = random
        self._sealer = sealer
        self.account_id = account_id
        self.region = region
        self.max_clusters = max_clusters
        self.max_hsms = max_hsms
        self.caller = caller or f"arn:aws:iam::{account_id}:root"
        self._subnet_zones = dict(subnet_zones or {})
        self._log = AuditLog(storage, "hsm", clock)

    def __repr__(self) -> str:
        return f"CloudHsm(account_id={self.account_id!r}, region={self.region!r})"

    # ------------------------------------------------------------------------------------------
    # plumbing
    # ------------------------------------------------------------------------------------------

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _new_id(self, prefix: str, length: int = 11) -> str:
        raw = self._random.token_bytes(length)
        return prefix + "".join(_ID_ALPHABET[b % 32] for b in raw)

    def _audited(self, operation: str, principal: str, target: str | None = None) -> _Audited:
        """``with self._audited(...) as audit``: the call is logged when the block ends."""
        return _Audited(self._log, operation, principal, target)

    def audit_events(self) -> list[JSON]:
        """The HSM audit log, oldest first (time, principal, operation, target, result)."""
        return self._log.events()

    # --- records ---------------------------------------------------------------------------------

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

    # ------------------------------------------------------------------------------------------
    # the simulated clock: work that becomes due
    # ------------------------------------------------------------------------------------------

    def process_due(self) -> None:
        """Apply every state change that the clock has made due, in all clusters.

        Every public call does this for the clusters it touches, so hosts never need to call
        it; a lab may call it to refresh a dashboard.
        """
        for cluster_id, _record in self._storage.list("hsm.cluster"):
            self._advance(self._cluster_record(cluster_id))

    tick = process_due

    def _advance(self, cluster: JSON, now: float | None = None) -> JSON:
        """Apply due transitions to one cluster, oldest first; return the updated record.
        ``now``: the call's clock reading, if it has one."""
        meta = cluster["_"]
        if now is None:
            now = self._now()
        if meta["next_due"] is None or meta["next_due"] > now:
            return cluster
        for _ in range(1000):  # bounded: every step consumes one due event
            event = self._next_event(cluster)
            if event is None or event[0] > now:
                break
            when, kind, subject = event
            if kind == "cluster":
                self._finish_cluster_transition(cluster, when)
            elif kind == "hsm":
                self._finish_hsm_transition(cluster, subject, when)
            else:
                periods = int((now - meta["last_backup"]) // BACKUP_INTERVAL.total_seconds())
                self._take_backup(
                    cluster, meta["last_backup"] + periods * BACKUP_INTERVAL.total_seconds()
                )
        self._refresh_health(cluster)
        next_event = self._next_event(cluster)
        meta["next_due"] = next_event[0] if next_event else None
        self._put_cluster(cluster)
        return cluster

    def _next_event(self, cluster: JSON) -> tuple[float, str, str] | None:
        meta = cluster["_"]
        events: list[tuple[float, str, str]] = []
        if meta["state_due"] is not None:
            events.append((meta["state_due"], "cluster", cluster["ClusterId"]))
        for hsm_id, summary in meta["hsms"].items():
            if summary["due"] is not None:
                events.append((summary["due"], "hsm", hsm_id))
        if self._backups_enabled(cluster):
            events.append((meta["last_backup"] + BACKUP_INTERVAL.total_seconds(), "backup", ""))
        return min(events) if events else None

    def _backups_enabled(self, cluster: JSON) -> bool:
        return (
            cluster["State"] in ("INITIALIZED", "ACTIVE", "DEGRADED")
            and cluster["_"]["last_backup"] is not None
            and any(s["state"] == "ACTIVE" for s in cluster["_"]["hsms"].values())
        )

    def _finish_cluster_transition(self, cluster: JSON, when: float) -> None:
        meta = cluster["_"]
        meta["state_due"] = None
        state = cluster["State"]
        if state == "CREATE_IN_PROGRESS":
            if meta["activated"]:
                cluster["State"] = "ACTIVE"
                cluster["StateMessage"] = "Cluster restored from a backup and ready."
                meta["last_backup"] = when
            else:
                cluster["State"] = "UNINITIALIZED"
                cluster["StateMessage"] = "Cluster created; add an HSM to get its CSR."
        elif state == "INITIALIZE_IN_PROGRESS":
            cluster["State"] = "INITIALIZED"
            cluster["StateMessage"] = "Cluster initialized; activate it with CloudHSM CLI."
            meta["last_backup"] = when
        elif state == "DELETE_IN_PROGRESS":
            cluster["State"] = "DELETED"
            cluster["StateMessage"] = "Cluster deleted."

    def _finish_hsm_transition(self, cluster: JSON, hsm_id: str, when: float) -> None:
        hsm = self._hsm_record(hsm_id)
        if hsm is None:
            cluster["_"]["hsms"].pop(hsm_id, None)
            return
        hsm["_"]["due"] = None
        if hsm["State"] == "CREATE_IN_PROGRESS":
            hsm["State"] = "ACTIVE"
            hsm["StateMessage"] = "HSM created."
            self._put_hsm(cluster, hsm)
            if cluster["State"] == "UNINITIALIZED" and not cluster["Certificates"].get(
                "ClusterCsr"
            ):
                private_der, csr_pem = pki.make_cluster_csr(cluster["ClusterId"], hsm_id)
                cluster["_"]["csr_key"] = self._sealer.seal(
                    private_der, cluster["ClusterId"] + "/csr"
                )
                cluster["Certificates"]["ClusterCsr"] = csr_pem
            self._restore_into_hsm(cluster, hsm_id)
        elif hsm["State"] == "DELETE_IN_PROGRESS":
            self._storage.delete("hsm.hsm", hsm_id)
            cluster["_"]["hsms"].pop(hsm_id, None)
            for key in self._keys(cluster["ClusterId"]):
                if hsm_id in key["hsms"]:
                    key["hsms"].remove(hsm_id)
                    self._put_key(key)

    def _restore_into_hsm(self, cluster: JSON, hsm_id: str) -> None:
        """A new HSM starts from the latest backup, then the cluster syncs the rest to it.

        Both end in the same place here: every token key of the cluster is placed on the new
        HSM (session keys stay on the HSM of their session).
        """
        for key in self._keys(cluster["ClusterId"]):
            if key["session_id"] is None and hsm_id not in key["hsms"]:
                key["hsms"].append(hsm_id)
                self._put_key(key)

    def _refresh_health(self, cluster: JSON) -> None:
        """ACTIVE <-> DEGRADED follows the HSMs once a cluster is activated."""
        if cluster["State"] not in ("ACTIVE", "DEGRADED"):
            return
        degraded = any(s["state"] == "DEGRADED" for s in cluster["_"]["hsms"].values())
        if degraded:
            cluster["State"] = "DEGRADED"
            cluster["StateMessage"] = "An HSM in the cluster has failed; replace it."
        elif cluster["State"] == "DEGRADED":
            cluster["State"] = "ACTIVE"
            cluster["StateMessage"] = "Cluster is healthy."

    def _schedule(self, cluster: JSON) -> None:
        next_event = self._next_event(cluster)
        cluster["_"]["next_due"] = next_event[0] if next_event else None

    # ------------------------------------------------------------------------------------------
    # control plane: the CloudHSM API
    # ------------------------------------------------------------------------------------------

    def _zone_of(self, subnet_id: str, position: int) -> str:
        return self._subnet_zones.get(subnet_id) or f"{self.region}{_ID_ALPHABET[position]}"

    def create_cluster(self, request: Mapping[str, Any]) -> JSON:
        """CreateCluster: ``HsmType``, ``SubnetIds`` (one per AZ), optional ``Mode`` (hsm2m
        only), ``SourceBackupId``, ``BackupRetentionPolicy``, ``TagList``. Returns
        ``{"Cluster": {...}}`` in CREATE_IN_PROGRESS.
        """
        with self._audited("CreateCluster", self.caller) as audit:
            self.process_due()
            hsm_type = request.get("HsmType")
            if hsm_type not in HSM_TYPES:
                raise CloudHsmInvalidRequestException(
                    f"HsmType must be one of {', '.join(HSM_TYPES)}."
                )
            mode = request.get("Mode")
            if mode is not None and hsm_type != "hsm2m.medium":
                raise CloudHsmInvalidRequestException("Mode is supported only for hsm2m.medium.")
            if hsm_type == "hsm2m.medium":
                mode = mode or "FIPS"
                if mode not in ("FIPS", "NON_FIPS"):
                    raise CloudHsmInvalidRequestException("Mode must be FIPS or NON_FIPS.")
            subnets = request.get("SubnetIds")
            if not isinstance(subnets, list) or not subnets or len(subnets) > 20:
                raise CloudHsmInvalidRequestException("SubnetIds must list 1 to 20 subnets.")
            mapping: dict[str, str] = {}
            for position, subnet in enumerate(subnets):
                if not isinstance(subnet, str) or not re.fullmatch(
                    r"subnet-[0-9a-zA-Z]{1,40}", subnet
                ):
                    raise CloudHsmInvalidRequestException(f"Invalid subnet id {subnet!r}.")
                zone = self._zone_of(subnet, position)
                if zone in mapping:
                    raise CloudHsmInvalidRequestException(
                        "You can specify only one subnet per Availability Zone."
                    )
                mapping[zone] = subnet
            live = [c for _, c in self._storage.list("hsm.cluster") if c["State"] != "DELETED"]
            if len(live) >= self.max_clusters:
                raise CloudHsmResourceLimitExceededException(
                    f"You have reached the quota of {self.max_clusters} clusters in this Region."
                )
            backup = None
            source_backup = request.get("SourceBackupId")
            if source_backup is not None:
                backup_id = str(source_backup).rsplit("/", 1)[-1]
                backup = self._storage.get("hsm.backup", backup_id)
                if backup is None or backup["BackupState"] != "READY":
                    raise CloudHsmResourceNotFoundException(f"Backup {backup_id} was not found.")
            retention = request.get("BackupRetentionPolicy") or {"Type": "DAYS", "Value": "90"}
            cluster_id = self._new_id("cluster-")
            audit.target = cluster_id
            now = self._now()
            cluster: JSON = {
                "BackupPolicy": "DEFAULT",
                "BackupRetentionPolicy": dict(retention),
                "ClusterId": cluster_id,
                "CreateTimestamp": now,
                "HsmType": hsm_type,
                "SecurityGroup": self._new_id("sg-", 17),
                "State": "CREATE_IN_PROGRESS",
                "StateMessage": "Cluster is being created.",
                "SubnetMapping": mapping,
                "VpcId": "vpc-" + hashlib.sha256("".join(subnets).encode()).hexdigest()[:17],
                "NetworkType": "IPV4",
                "Certificates": {},
                "TagList": list(request.get("TagList") or []),
                "_": {
                    "hsms": {},
                    "state_due": now + CLUSTER_CREATE_TIME.total_seconds(),
                    "next_due": None,
                    "next_handle": 1,
                    "activated": False,
                    "trust_anchor": None,
                    "csr_key": None,
                    "last_backup": None,
                    "quorum": {"user": 1, "quorum": 1},
                },
            }
            if mode is not None:
                cluster["Mode"] = mode
            if backup is not None:
                self._restore_cluster_from_backup(cluster, backup)
            else:
                self._create_builtin_users(cluster_id)
            self._schedule(cluster)
            self._put_cluster(cluster)
            return {"Cluster": self._describe_cluster(cluster)}

    def _create_builtin_users(self, cluster_id: str) -> None:
        for username, role in (("admin", "unactivated-admin"), ("app_user", "appliance")):
            self._storage.put(
                "hsm.user",
                self._user_id(cluster_id, username),
                {
                    "cluster_id": cluster_id,
                    "username": username,
                    "role": role,
                    "password": None,
                    "failed_logins": 0,
                    "locked": False,
                },
            )

    def _restore_cluster_from_backup(self, cluster: JSON, backup: JSON) -> None:
        cluster_id = cluster["ClusterId"]
        content = backup["_"]
        cluster["SourceBackupId"] = backup["BackupId"]
        cluster["Certificates"] = dict(content["certificates"])
        meta = cluster["_"]
        meta["activated"] = True
        meta["trust_anchor"] = content["trust_anchor"]
        meta["next_handle"] = content["next_handle"]
        meta["quorum"] = dict(content["quorum"])
        for user in content["users"]:
            user = dict(user, cluster_id=cluster_id)
            self._storage.put("hsm.user", self._user_id(cluster_id, user["username"]), user)
        for saved in content["keys"]:
            material = self._sealer.unseal(saved["material"], saved["sealed_as"])
            key = dict(saved["key"], cluster_id=cluster_id, hsms=[])
            key["material"] = self._seal(cluster_id, key["handle"], material)
            self._put_key(key)

    def _describe_cluster(self, cluster: JSON) -> JSON:
        public = {k: v for k, v in cluster.items() if k != "_"}
        public["Certificates"] = dict(cluster["Certificates"])
        hsms = []
        for hsm_id in sorted(cluster["_"]["hsms"]):
            hsm = self._hsm_record(hsm_id)
            if hsm is not None:
                hsms.append({k: v for k, v in hsm.items() if k != "_"})
        public["Hsms"] = hsms
        return public

    def describe_clusters(self, request: Mapping[str, Any] | None = None) -> JSON:
        """DescribeClusters with ``Filters`` (``clusterIds``, ``states``, ``vpcIds``),
        ``MaxResults`` and ``NextToken``. Returns ``{"Clusters": [...], "NextToken"?}``."""
        request = request or {}
        with self._audited("DescribeClusters", self.caller):
            self.process_due()
            filters = request.get("Filters") or {}
            clusters = []
            for _, cluster in self._storage.list("hsm.cluster"):
                if "clusterIds" in filters and cluster["ClusterId"] not in filters["clusterIds"]:
                    continue
                if "states" in filters and cluster["State"] not in filters["states"]:
                    continue
                if "vpcIds" in filters and cluster["VpcId"] not in filters["vpcIds"]:
                    continue
                clusters.append(self._describe_cluster(cluster))
            page, token = self._paginate(clusters, request)
            result: JSON = {"Clusters": page}
            if token:
                result["NextToken"] = token
            return result

    @staticmethod
    def _paginate(items: list[JSON], request: Mapping[str, Any]) -> tuple[list[JSON], str | None]:
        try:
            start = int(request.get("NextToken") or 0)
        except ValueError:
            raise CloudHsmInvalidRequestException("Invalid NextToken.") from None
        limit = request.get("MaxResults")
        if limit is None:
            return items[start:], None
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            raise CloudHsmInvalidRequestException("MaxResults must be between 1 and 100.")
        end = start + limit
        return items[start:end], (str(end) if end < len(items) else None)

    def create_hsm(self, request: Mapping[str, Any]) -> JSON:
        """CreateHsm(``ClusterId``, ``AvailabilityZone``): a new HSM, CREATE_IN_PROGRESS for a
        few simulated minutes. An uninitialized cluster takes only one HSM (its CSR comes from
        it); in an initialized cluster the new HSM is restored from the latest backup."""
        cluster_id = str(request.get("ClusterId", ""))
        with self._audited("CreateHsm", self.caller, cluster_id) as audit:
            cluster = self._advance(self._cluster_record(cluster_id))
            zone = request.get("AvailabilityZone")
            if cluster["State"] not in ("UNINITIALIZED", "INITIALIZED", "ACTIVE", "DEGRADED"):
                raise CloudHsmInvalidRequestException(
                    f"Cannot add an HSM to a cluster in state {cluster['State']}."
                )
            if zone not in cluster["SubnetMapping"]:
                raise CloudHsmInvalidRequestException(
                    f"The cluster has no subnet in Availability Zone {zone}."
                )
            live = [s for s in cluster["_"]["hsms"].values() if s["state"] != "DELETE_IN_PROGRESS"]
            if cluster["State"] == "UNINITIALIZED" and live:
                raise CloudHsmInvalidRequestException(
                    "An uninitialized cluster can have only one HSM; initialize it first."
                )
            if len(live) >= self.max_hsms:
                raise CloudHsmResourceLimitExceededException(
                    f"The cluster has reached the quota of {self.max_hsms} HSMs."
                )
            hsm = self._new_hsm(cluster, str(zone), request.get("IpAddress"))
            audit.target = f"{cluster_id}/{hsm['HsmId']}"
            self._schedule(cluster)
            self._put_cluster(cluster)
            return {"Hsm": {k: v for k, v in hsm.items() if k != "_"}}

    def _new_hsm(self, cluster: JSON, zone: str, ip_address: object = None) -> JSON:
        raw = self._random.token_bytes(2)
        hsm: JSON = {
            "AvailabilityZone": zone,
            "ClusterId": cluster["ClusterId"],
            "SubnetId": cluster["SubnetMapping"][zone],
            "EniId": self._new_id("eni-", 17),
            "EniIp": str(ip_address) if ip_address else f"10.0.{raw[0]}.{raw[1] % 250 + 4}",
            "HsmId": self._new_id("hsm-"),
            "HsmType": cluster["HsmType"],
            "State": "CREATE_IN_PROGRESS",
            "StateMessage": "HSM is being created.",
            "_": {"due": self._now() + HSM_CREATE_TIME.total_seconds()},
        }
        self._put_hsm(cluster, hsm)
        return hsm

    def delete_hsm(self, request: Mapping[str, Any]) -> JSON:
        """DeleteHsm(``ClusterId`` and one of ``HsmId``, ``EniId``, ``EniIp``). A backup of the
        cluster is taken first. Returns ``{"HsmId": ...}``."""
        cluster_id = str(request.get("ClusterId", ""))
        with self._audited("DeleteHsm", self.caller, cluster_id) as audit:
            cluster = self._advance(self._cluster_record(cluster_id))
            hsm = self._find_hsm(cluster, request)
            audit.target = f"{cluster_id}/{hsm['HsmId']}"
            if hsm["State"] in ("DELETE_IN_PROGRESS", "DELETED"):
                raise CloudHsmInvalidRequestException(
                    f"HSM {hsm['HsmId']} is already being deleted."
                )
            if cluster["_"]["last_backup"] is not None:
                self._take_backup(cluster, self._now())
            hsm["State"] = "DELETE_IN_PROGRESS"
            hsm["StateMessage"] = "HSM is being deleted."
            hsm["_"]["due"] = self._now() + DELETE_TIME.total_seconds()
            self._put_hsm(cluster, hsm)
            self._refresh_health(cluster)
            self._schedule(cluster)
            self._put_cluster(cluster)
            return {"HsmId": hsm["HsmId"]}

    def _find_hsm(self, cluster: JSON, request: Mapping[str, Any]) -> JSON:
        wanted = {k: request[k] for k in ("HsmId", "EniId", "EniIp") if request.get(k)}
        if not wanted:
            raise CloudHsmInvalidRequestException("Specify HsmId, EniId or EniIp.")
        for hsm_id in cluster["_"]["hsms"]:
            hsm = self._hsm_record(hsm_id)
            if hsm is not None and all(hsm[k] == v for k, v in wanted.items()):
                return hsm
        raise CloudHsmResourceNotFoundException(f"HSM {wanted} was not found in the cluster.")

    def initialize_cluster(self, request: Mapping[str, Any]) -> JSON:
        """InitializeCluster(``ClusterId``, ``SignedCert``, ``TrustAnchor``).

        The signed certificate must carry the cluster CSR's public key and be signed by the
        self-signed trust anchor; anything else is CloudHsmInvalidRequestException.
        """
        cluster_id = str(request.get("ClusterId", ""))
        with self._audited("InitializeCluster", self.caller, cluster_id):
            cluster = self._advance(self._cluster_record(cluster_id))
            if cluster["State"] != "UNINITIALIZED":
                raise CloudHsmInvalidRequestException(
                    f"The cluster is {cluster['State']}; only an UNINITIALIZED cluster can be "
                    "initialized."
                )
            csr = cluster["Certificates"].get("ClusterCsr")
            if not csr:
                raise CloudHsmInvalidRequestException(
                    "The cluster has no CSR yet: create an HSM and wait until it is ACTIVE."
                )
            signed, anchor = request.get("SignedCert"), request.get("TrustAnchor")
            if not isinstance(signed, str) or not isinstance(anchor, str):
                raise CloudHsmInvalidRequestException("SignedCert and TrustAnchor are required.")
            pki.verify_cluster_certificate(csr, signed, anchor, self._clock.now())
            cluster["Certificates"]["ClusterCertificate"] = signed
            cluster["_"]["trust_anchor"] = anchor
            cluster["State"] = "INITIALIZE_IN_PROGRESS"
            cluster["StateMessage"] = "Cluster is being initialized."
            cluster["_"]["state_due"] = self._now() + INITIALIZE_TIME.total_seconds()
            self._schedule(cluster)
            self._put_cluster(cluster)
            return {"State": cluster["State"], "StateMessage": cluster["StateMessage"]}

    def delete_cluster(self, request: Mapping[str, Any]) -> JSON:
        """DeleteCluster(``ClusterId``): only a cluster without HSMs. Its users and keys are
        destroyed; its backups stay. Returns ``{"Cluster": {...}}`` in DELETE_IN_PROGRESS."""
        cluster_id = str(request.get("ClusterId", ""))
        with self._audited("DeleteCluster", self.caller, cluster_id):
            cluster = self._advance(self._cluster_record(cluster_id))
            if cluster["State"] in ("DELETE_IN_PROGRESS", "DELETED"):
                raise CloudHsmInvalidRequestException("The cluster is already being deleted.")
            if cluster["_"]["hsms"]:
                raise CloudHsmInvalidRequestException(
                    "Delete all HSMs in the cluster before deleting the cluster."
                )
            for user in self._users(cluster_id):
                self._storage.delete("hsm.user", self._user_id(cluster_id, user["username"]))
            for key in self._keys(cluster_id):
                self._delete_key(key)
            for session_id, session in self._storage.list("hsm.session"):
                if session["cluster_id"] == cluster_id:
                    self._storage.delete("hsm.session", session_id)
            cluster["State"] = "DELETE_IN_PROGRESS"
            cluster["StateMessage"] = "Cluster is being deleted."
            cluster["_"]["state_due"] = self._now() + DELETE_TIME.total_seconds()
            self._schedule(cluster)
            self._put_cluster(cluster)
            return {"Cluster": self._describe_cluster(cluster)}

    def describe_backups(self, request: Mapping[str, Any] | None = None) -> JSON:
        """DescribeBackups with ``Filters`` (``backupIds``, ``clusterIds``, ``states``),
        ``SortAscending``, ``MaxResults``, ``NextToken``."""
        request = request or {}
        with self._audited("DescribeBackups", self.caller):
            self.process_due()
            filters = request.get("Filters") or {}
            backups = []
            for _, backup in self._storage.list("hsm.backup"):
                if "backupIds" in filters and backup["BackupId"] not in filters["backupIds"]:
                    continue
                if "clusterIds" in filters and backup["ClusterId"] not in filters["clusterIds"]:
                    continue
                if "states" in filters and backup["BackupState"] not in filters["states"]:
                    continue
                backups.append({k: v for k, v in backup.items() if k != "_"})
            ascending = bool(request.get("SortAscending", False))
            backups.sort(key=lambda b: (b["CreateTimestamp"], b["BackupId"]), reverse=not ascending)
            page, token = self._paginate(backups, request)
            result: JSON = {"Backups": page}
            if token:
                result["NextToken"] = token
            return result

    def _take_backup(self, cluster: JSON, when: float) -> JSON:
        """Snapshot users, token keys, certificates and quorum settings into a READY backup."""
        cluster_id = cluster["ClusterId"]
        backup_id = self._new_id("backup-")
        keys = []
        for key in self._keys(cluster_id):
            if key["session_id"] is not None:
                continue
            saved = {k: v for k, v in key.items() if k not in ("material", "hsms")}
            keys.append(
                {
                    "key": saved,
                    "material": key["material"],
                    "sealed_as": self._key_id(cluster_id, key["handle"]),
                }
            )
        users = [{k: v for k, v in u.items() if k != "cluster_id"} for u in self._users(cluster_id)]
        backup: JSON = {
            "BackupId": backup_id,
            "BackupArn": f"arn:aws:cloudhsm:{self.region}:{self.account_id}:backup/{backup_id}",
            "BackupState": "READY",
            "ClusterId": cluster_id,
            "CreateTimestamp": when,
            "NeverExpires": False,
            "HsmType": cluster["HsmType"],
            "_": {
                "users": users,
                "keys": keys,
                "certificates": dict(cluster["Certificates"]),
                "trust_anchor": cluster["_"]["trust_anchor"],
                "next_handle": cluster["_"]["next_handle"],
                "quorum": dict(cluster["_"]["quorum"]),
            },
        }
        if "Mode" in cluster:
            backup["Mode"] = cluster["Mode"]
        self._storage.put("hsm.backup", backup_id, backup)
        cluster["_"]["last_backup"] = when
        self._log.record(
            principal="cloudhsm.amazonaws.com",
            operation="CreateBackup",
            target=f"{cluster_id}/{backup_id}",
            result="ok",
            detail={"users": len(users), "keys": len(keys)},
        )
        return backup

    # --- lab hooks -------------------------------------------------------------------------------

    def fail_hsm(self, hsm_id: str) -> JSON:
        """Lab: make an ACTIVE HSM fail. The HSM becomes DEGRADED and so does its cluster;
        sessions move to the other HSMs. Returns the HSM description."""
        with self._audited("FailHsm", self.caller, hsm_id):
            hsm = self._hsm_record(hsm_id)
            if hsm is None:
                raise CloudHsmResourceNotFoundException(f"HSM {hsm_id} was not found.")
            cluster = self._advance(self._cluster_record(hsm["ClusterId"]))
            hsm = self._hsm_record(hsm_id)
            if hsm is None or hsm["State"] != "ACTIVE":
                raise CloudHsmInvalidRequestException("Only an ACTIVE HSM can fail.")
            hsm["State"] = "DEGRADED"
            hsm["StateMessage"] = "The HSM has failed and must be replaced."
            self._put_hsm(cluster, hsm)
            self._refresh_health(cluster)
            self._schedule(cluster)
            self._put_cluster(cluster)
            return {k: v for k, v in hsm.items() if k != "_"}

    def replace_hsm(self, hsm_id: str) -> JSON:
        """Lab: delete an HSM (usually a DEGRADED one) and create a new one in the same
        Availability Zone, restored from the backup taken at the deletion."""
        hsm = self._hsm_record(hsm_id)
        if hsm is None:
            raise CloudHsmResourceNotFoundException(f"HSM {hsm_id} was not found.")
        self.delete_hsm({"ClusterId": hsm["ClusterId"], "HsmId": hsm_id})
        return self.create_hsm(
            {"ClusterId": hsm["ClusterId"], "AvailabilityZone": hsm["AvailabilityZone"]}
        )

    # ------------------------------------------------------------------------------------------
    # data plane: sessions and login
    # ------------------------------------------------------------------------------------------

    def _active_hsms(self, cluster: JSON) -> list[str]:
        return sorted(h for h, s in cluster["_"]["hsms"].items() if s["state"] == "ACTIVE")

    def _reachable_cluster(self, cluster_id: str) -> JSON:
        try:
            cluster = self._advance(self._cluster_record(cluster_id))
        except CloudHsmResourceNotFoundException:
            raise Pkcs11Error("CKR_TOKEN_NOT_PRESENT", f"no cluster {cluster_id}") from None
        if cluster["State"] not in ("INITIALIZED", "ACTIVE", "DEGRADED"):
            raise HsmAvailabilityError(
                "CKR_TOKEN_NOT_PRESENT",
                f"the cluster is {cluster['State']}; clients connect to initialized clusters",
            )
        if not self._active_hsms(cluster):
            raise HsmAvailabilityError("CKR_TOKEN_NOT_PRESENT", "the cluster has no ACTIVE HSM")
        return cluster

    def open_session(self, cluster_id: str, *, read_write: bool = True) -> str:
        """C_OpenSession: a new unauthenticated session on one ACTIVE HSM; returns its id."""
        with self._audited("OpenSession", "anonymous", cluster_id) as audit:
            cluster = self._reachable_cluster(cluster_id)
            hsms = self._active_hsms(cluster)
            session_id = "sess-" + self._random.token_bytes(16).hex()
            now = self._now()
            self._storage.put(
                "hsm.session",
                session_id,
                {
                    "cluster_id": cluster_id,
                    "hsm_id": hsms[self._random.token_bytes(1)[0] % len(hsms)],
                    "read_write": read_write,
                    "username": None,
                    "role": None,
                    "opened": now,
                    "expires": now + SESSION_TTL.total_seconds(),
                },
            )
            audit.detail = {"read_write": read_write}
            return session_id

    def _load_session(self, session_id: str, audit: _Audit | None = None) -> _Context:
        """The session and its advanced cluster. One clock reading serves the expiry check,
        the due work and (given ``audit``) the audit record's time."""
        when = self._clock.now()
        now = when.timestamp()
        if audit is not None:
            audit.time = iso_time(when)
        session = self._storage.get("hsm.session", session_id)
        if session is None:
            raise Pkcs11Error("CKR_SESSION_HANDLE_INVALID", "no such session")
        if session["expires"] <= now:
            self._end_session(session_id, session)
            raise Pkcs11Error("CKR_SESSION_HANDLE_INVALID", "the session has expired")
        cluster = self._storage.get("hsm.cluster", session["cluster_id"])
        if cluster is None or cluster["State"] in ("DELETE_IN_PROGRESS", "DELETED"):
            raise Pkcs11Error("CKR_SESSION_HANDLE_INVALID", "the cluster is gone")
        cluster = self._advance(cluster, now)
        return _Context(session_id, session, cluster)

    def _end_session(self, session_id: str, session: JSON) -> None:
        self._drop_session_keys(session["cluster_id"], session_id)
        self._storage.delete("hsm.session", session_id)

    def _drop_session_keys(self, cluster_id: str, session_id: str) -> None:
        for key in self._keys(cluster_id):
            if key["session_id"] == session_id:
                self._delete_key(key)

    @staticmethod
    def _hash_password(password: str, salt: bytes) -> str:
        derived = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, PBKDF2_ITERATIONS)
        return derived.hex()

    def _password_record(self, password: str) -> JSON:
        if not isinstance(password, str) or not 7 <= len(password) <= 32:
            raise Pkcs11Error("CKR_PIN_LEN_RANGE", "passwords are 7 to 32 characters")
        salt = self._random.token_bytes(16)
        return {"salt": salt.hex(), "hash": self._hash_password(password, salt)}

    def _password_matches(self, user: JSON, password: str) -> bool:
        record = user.get("password")
        if not record:
            return False
        candidate = self._hash_password(password, bytes.fromhex(record["salt"]))
        return hmac.compare_digest(candidate, record["hash"])

    def login(
        self,
        cluster_id: str,
        username: str,
        password: str,
        role: Role = "crypto-user",
        *,
        read_write: bool = True,
    ) -> str:
        """Open a session and log in (CloudHSM CLI ``login``); returns the session id.

        The session is closed again if the login fails.
        """
        session_id = self.open_session(cluster_id, read_write=read_write)
        try:
            self.session_login(session_id, username, password, role)
        except HsmError:
            self.close_session(session_id)
            raise
        return session_id

    def session_login(self, session_id: str, username: str, password: str, role: Role) -> None:
        """C_Login on an open session.

        Five wrong passwords in a row lock the account: attempts one to five answer
        CKR_PIN_INCORRECT, and from then on every attempt, even with the right password,
        answers CKR_PIN_LOCKED until an admin resets the password. A successful login resets the
        count. (A real multi-HSM cluster may allow a few more tries because the client spreads
        logins over HSMs; this emulator counts cluster-wide.)
        """
        name = (username or "").lower()
        with self._audited("Login", name or "anonymous") as audit:
            ctx = self._load_session(session_id)
            audit.target = ctx.cluster["ClusterId"]
            if ctx.username is not None:
                raise Pkcs11Error("CKR_USER_ALREADY_LOGGED_IN", "this session is logged in")
            if role not in ("admin", "crypto-user"):
                raise Pkcs11Error("CKR_USER_TYPE_INVALID", "role must be admin or crypto-user")
            if not ctx.cluster["_"]["activated"]:
                raise Pkcs11Error(
                    "CKR_USER_PIN_NOT_INITIALIZED",
                    "the cluster is not activated: run cluster activate first",
                )
            user = self._storage.get("hsm.user", self._user_id(ctx.cluster["ClusterId"], name))
            if user is None:
                raise Pkcs11Error("CKR_PIN_INCORRECT", "login failed")
            if user["role"] != role:
                raise Pkcs11Error("CKR_USER_TYPE_INVALID", f"{name} is not a {role}")
            if user["locked"]:
                raise Pkcs11Error("CKR_PIN_LOCKED", f"{name} is locked; an admin must reset it")
            if not self._password_matches(user, password):
                user["failed_logins"] += 1
                user["locked"] = user["failed_logins"] >= MAX_FAILED_LOGINS
                self._storage.put("hsm.user", self._user_id(user["cluster_id"], name), user)
                audit.detail = {"failed_logins": user["failed_logins"]}
                raise Pkcs11Error("CKR_PIN_INCORRECT", "login failed")
            if user["failed_logins"]:
                user["failed_logins"] = 0
                self._storage.put("hsm.user", self._user_id(user["cluster_id"], name), user)
            ctx.session.update(username=name, role=role)
            ctx.session["expires"] = self._now() + SESSION_TTL.total_seconds()
            self._storage.put("hsm.session", session_id, ctx.session)

    def logout(self, session_id: str) -> None:
        """C_Logout: the session stays open but unauthenticated; its session keys are gone and
        private handles become CKR_OBJECT_HANDLE_INVALID."""
        with self._audited("Logout", "anonymous") as audit:
            ctx = self._load_session(session_id)
            audit.principal = ctx.username or "anonymous"
            audit.target = ctx.cluster["ClusterId"]
            if ctx.username is None:
                raise Pkcs11Error("CKR_USER_NOT_LOGGED_IN", "the session is not logged in")
            self._drop_session_keys(ctx.cluster["ClusterId"], session_id)
            ctx.session.update(username=None, role=None)
            self._storage.put("hsm.session", session_id, ctx.session)

    def close_session(self, session_id: str) -> None:
        """C_CloseSession: ends the session and destroys its session keys."""
        with self._audited("CloseSession", "anonymous") as audit:
            session = self._storage.get("hsm.session", session_id)
            if session is None:
                raise Pkcs11Error("CKR_SESSION_HANDLE_INVALID", "no such session")
            audit.principal = session.get("username") or "anonymous"
            audit.target = session["cluster_id"]
            self._end_session(session_id, session)

    def session_info(self, session_id: str) -> JSON:
        """The session's cluster, HSM, user, role and read/write flag."""
        with self._key_call("SessionInfo", session_id) as (ctx, _audit):
            return {
                "cluster_id": ctx.cluster["ClusterId"],
                "hsm_id": ctx.session["hsm_id"],
                "username": ctx.username,
                "role": ctx.role,
                "read_write": ctx.session["read_write"],
            }

    # ------------------------------------------------------------------------------------------
    # data plane: cluster activation, users, quorum
    # ------------------------------------------------------------------------------------------

    def activate_cluster(self, cluster_id: str, password: str) -> None:
        """CloudHSM CLI ``cluster activate``: the built-in unactivated admin sets its password
        and becomes ``admin``; the cluster becomes ACTIVE. Works once, on an INITIALIZED
        cluster: it is not a way to reset a lost password."""
        with self._audited("ClusterActivate", "admin", cluster_id):
            cluster = self._reachable_cluster(cluster_id)
            if cluster["_"]["activated"] or cluster["State"] != "INITIALIZED":
                raise Pkcs11Error("CKR_FUNCTION_FAILED", "the cluster is already activated")
            admin = self._storage.get("hsm.user", self._user_id(cluster_id, "admin"))
            if admin is None or admin["role"] != "unactivated-admin":
                raise Pkcs11Error("CKR_FUNCTION_FAILED", "no unactivated admin to activate")
            admin["password"] = self._password_record(password)
            admin["role"] = "admin"
            self._storage.put("hsm.user", self._user_id(cluster_id, "admin"), admin)
            cluster["_"]["activated"] = True
            cluster["State"] = "ACTIVE"
            cluster["StateMessage"] = "Cluster is active."
            self._refresh_health(cluster)
            self._schedule(cluster)
            self._put_cluster(cluster)

    def user_exists(self, cluster_id: str, username: str, role: Role) -> bool:
        """Whether the cluster has this user with this role (public, like ``user list``)."""
        user = self._storage.get("hsm.user", self._user_id(cluster_id, username.lower()))
        return user is not None and user["role"] == role

    def trust_anchor(self, cluster_id: str) -> str | None:
        """The trust anchor PEM given at InitializeCluster (None before)."""
        cluster = self._storage.get("hsm.cluster", cluster_id)
        return None if cluster is None else cluster["_"]["trust_anchor"]

    def list_users(self, cluster_id: str) -> list[JSON]:
        """CloudHSM CLI ``user list`` (no login needed): username, role, locked, mfa,
        cluster-coverage."""
        with self._audited("UserList", "anonymous", cluster_id):
            cluster = self._reachable_cluster(cluster_id)
            coverage = "full"
            users = []
            for user in sorted(self._users(cluster["ClusterId"]), key=lambda u: u["username"]):
                role = user["role"]
                users.append(
                    {
                        "username": user["username"],
                        "role": "internal(APPLIANCE_USER)" if role == "appliance" else role,
                        "locked": "true" if user["locked"] else "false",
                        "mfa": [],
                        "quorum": [],
                        "cluster-coverage": coverage,
                    }
                )
            return users

    def _require_login(self, ctx: _Context) -> str:
        if ctx.username is None:
            raise Pkcs11Error("CKR_USER_NOT_LOGGED_IN", "log in first")
        return ctx.username

    def _require_admin(self, ctx: _Context, what: str) -> str:
        username = self._require_login(ctx)
        if ctx.role != "admin":
            raise RoleError(f"only an admin can {what}; you are logged in as a {ctx.role}")
        return username

    def _require_crypto_user(self, ctx: _Context) -> str:
        username = self._require_login(ctx)
        if ctx.role != "crypto-user":
            raise RoleError(
                "admins manage users and quorum; only crypto users manage keys and run "
                "cryptographic operations"
            )
        return username

    def _user_logged_in(self, cluster_id: str, username: str, except_session: str) -> bool:
        now = self._now()
        return any(
            session["cluster_id"] == cluster_id
            and session.get("username") == username
            and session["expires"] > now
            and session_id != except_session
            for session_id, session in self._storage.list("hsm.session")
        )

    def create_user(
        self,
        session_id: str,
        username: str,
        password: str,
        role: Role,
        *,
        approval: str | None = None,
    ) -> None:
        """CloudHSM CLI ``user create`` (admin; quorum-guarded when the ``user`` quorum > 1)."""
        name = (username or "").lower()
        with self._audited("UserCreate", "anonymous", name) as audit:
            ctx = self._load_session(session_id)
            audit.principal = ctx.username or "anonymous"
            self._require_admin(ctx, "create users")
            self._consume_quorum(ctx, "user", approval)
            if not _USERNAME.fullmatch(name):
                raise Pkcs11Error(
                    "CKR_ARGUMENTS_BAD", "usernames are 1 to 31 letters, digits or underscores"
                )
            if role not in ("admin", "crypto-user"):
                raise Pkcs11Error("CKR_ARGUMENTS_BAD", "role must be admin or crypto-user")
            cluster_id = ctx.cluster["ClusterId"]
            if self._storage.get("hsm.user", self._user_id(cluster_id, name)) is not None:
                raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"user {name} already exists")
            self._storage.put(
                "hsm.user",
                self._user_id(cluster_id, name),
                {
                    "cluster_id": cluster_id,
                    "username": name,
                    "role": role,
                    "password": self._password_record(password),
                    "failed_logins": 0,
                    "locked": False,
                },
            )
            audit.detail = {"role": role}

    def delete_user(
        self, session_id: str, username: str, role: Role, *, approval: str | None = None
    ) -> None:
        """CloudHSM CLI ``user delete`` (admin). A user who is logged in or owns keys stays."""
        name = (username or "").lower()
        with self._audited("UserDelete", "anonymous", name) as audit:
            ctx = self._load_session(session_id)
            audit.principal = ctx.username or "anonymous"
            me = self._require_admin(ctx, "delete users")
            self._consume_quorum(ctx, "user", approval)
            cluster_id = ctx.cluster["ClusterId"]
            user = self._storage.get("hsm.user", self._user_id(cluster_id, name))
            if user is None or user["role"] != role:
                raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"no {role} named {name}")
            if name == me or self._user_logged_in(cluster_id, name, session_id):
                raise Pkcs11Error(
                    "CKR_USER_ANOTHER_ALREADY_LOGGED_IN", f"{name} is logged in; cannot delete"
                )
            keys = self._keys(cluster_id)
            if any(k["owner"] == name and k["session_id"] is None for k in keys):
                raise Pkcs11Error(
                    "CKR_ACTION_PROHIBITED", f"{name} owns keys; delete or hand them over first"
                )
            for key in keys:
                if name in key["shared"]:
                    key["shared"].remove(name)
                    self._put_key(key)
            self._storage.delete("hsm.user", self._user_id(cluster_id, name))

    def change_password(
        self,
        session_id: str,
        username: str,
        new_password: str,
        *,
        approval: str | None = None,
    ) -> None:
        """CloudHSM CLI ``user change-password``.

        Anyone may change their own password. An admin may set another user's password, which
        also unlocks a locked account; the other user must not be logged in. This needs an
        authenticated admin session: nothing resets a password otherwise.
        """
        name = (username or "").lower()
        with self._audited("UserChangePassword", "anonymous", name) as audit:
            ctx = self._load_session(session_id)
            me = self._require_login(ctx)
            audit.principal = me
            cluster_id = ctx.cluster["ClusterId"]
            user = self._storage.get("hsm.user", self._user_id(cluster_id, name))
            if name != me:
                self._require_admin(ctx, "change another user's password")
                self._consume_quorum(ctx, "user", approval)
            if user is None or user["role"] not in ("admin", "crypto-user"):
                raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"no user named {name}")
            if name != me and self._user_logged_in(cluster_id, name, session_id):
                raise Pkcs11Error(
                    "CKR_USER_ANOTHER_ALREADY_LOGGED_IN",
                    f"{name} is logged in; their password cannot be changed now",
                )
            user["password"] = self._password_record(new_password)
            audit.detail = {"unlocked": bool(user["locked"])}
            user["failed_logins"] = 0
            user["locked"] = False
            self._storage.put("hsm.user", self._user_id(cluster_id, name), user)

    # --- quorum (M of N) -------------------------------------------------------------------------

    def get_quorum_values(self, cluster_id: str) -> dict[str, int]:
        """The quorum value (M) per admin service: ``user`` and ``quorum``. 1 means off."""
        with self._audited("QuorumGetValues", "anonymous", cluster_id):
            cluster = self._reachable_cluster(cluster_id)
            return dict(cluster["_"]["quorum"])

    def set_quorum_value(
        self, session_id: str, service: str, value: int, *, approval: str | None = None
    ) -> None:
        """CloudHSM CLI ``quorum token-sign set-quorum-value`` (admin). ``value`` is M; it
        must not exceed the number of admins. Changing it needs the ``quorum`` service's
        approvals when that quorum is above 1."""
        with self._audited("QuorumSetValue", "anonymous", service) as audit:
            ctx = self._load_session(session_id)
            audit.principal = ctx.username or "anonymous"
            self._require_admin(ctx, "set quorum values")
            if service not in QUORUM_SERVICES:
                raise Pkcs11Error("CKR_ARGUMENTS_BAD", "service must be user or quorum")
            admins = [u for u in self._users(ctx.cluster["ClusterId"]) if u["role"] == "admin"]
            if not isinstance(value, int) or not 1 <= value <= min(8, len(admins)):
                raise Pkcs11Error(
                    "CKR_ARGUMENTS_BAD",
                    f"the quorum value must be 1 to {min(8, len(admins))} (the number of admins)",
                )
            self._consume_quorum(ctx, "quorum", approval)
            ctx.cluster["_"]["quorum"][service] = value
            self._put_cluster(ctx.cluster)
            audit.detail = {"value": value}

    def quorum_generate(self, session_id: str, service: str) -> str:
        """CloudHSM CLI ``quorum token-sign generate`` (admin): a token other admins approve.
        One active token per user and service; a new one replaces the old."""
        with self._audited("QuorumTokenGenerate", "anonymous", service) as audit:
            ctx = self._load_session(session_id)
            me = self._require_admin(ctx, "generate quorum tokens")
            audit.principal = me
            if service not in QUORUM_SERVICES:
                raise Pkcs11Error("CKR_ARGUMENTS_BAD", "service must be user or quorum")
            cluster_id = ctx.cluster["ClusterId"]
            for token_id, token in self._storage.list("hsm.quorum"):
                if (token["cluster_id"], token["requester"], token["service"]) == (
                    cluster_id,
                    me,
                    service,
                ):
                    self._storage.delete("hsm.quorum", token_id)
            token_id = "qt-" + self._random.token_bytes(8).hex()
            self._storage.put(
                "hsm.quorum",
                token_id,
                {
                    "cluster_id": cluster_id,
                    "service": service,
                    "requester": me,
                    "approvals": [],
                    "expires": self._now() + QUORUM_TOKEN_TTL.total_seconds(),
                },
            )
            audit.target = token_id
            return token_id

    def quorum_approve(self, session_id: str, token_id: str) -> int:
        """An admin approves (signs) a quorum token; returns how many admins have approved.

        This stands in for signing the token file with the admin's registered private key.
        The requester may approve too: M counts distinct admins.
        """
        with self._audited("QuorumTokenApprove", "anonymous", token_id) as audit:
            ctx = self._load_session(session_id)
            me = self._require_admin(ctx, "approve quorum tokens")
            audit.principal = me
            token = self._storage.get("hsm.quorum", token_id)
            if token is None or token["cluster_id"] != ctx.cluster["ClusterId"]:
                raise QuorumError("no such quorum token")
            if token["expires"] <= self._now():
                raise QuorumError("the quorum token has expired")
            if me not in token["approvals"]:
                token["approvals"].append(me)
                self._storage.put("hsm.quorum", token_id, token)
            return len(token["approvals"])

    def quorum_tokens(self, session_id: str) -> list[JSON]:
        """CloudHSM CLI ``quorum token-sign list``: the cluster's live tokens."""
        with self._key_call("QuorumTokenList", session_id) as (ctx, _audit):
            self._require_login(ctx)
            return self._live_tokens(ctx)

    def _live_tokens(self, ctx: _Context) -> list[JSON]:
        now = self._now()
        return [
            {
                "token": token_id,
                "service": token["service"],
                "username": token["requester"],
                "approvals": len(token["approvals"]),
                "minimum-required": ctx.cluster["_"]["quorum"][token["service"]],
            }
            for token_id, token in self._storage.list("hsm.quorum")
            if token["cluster_id"] == ctx.cluster["ClusterId"] and token["expires"] > now
        ]

    def _consume_quorum(self, ctx: _Context, service: str, approval: str | None) -> None:
        required = int(ctx.cluster["_"]["quorum"].get(service, 1))
        if required <= 1:
            return
        if not approval:
            raise QuorumError(
                f"the {service} service needs {required} admin approvals: run quorum token-sign "
                "generate, have admins approve it, and pass it as the approval"
            )
        token = self._storage.get("hsm.quorum", approval)
        if (
            token is None
            or token["cluster_id"] != ctx.cluster["ClusterId"]
            or token["requester"] != ctx.username
            or token["service"] != service
        ):
            raise QuorumError("the approval is not your quorum token for this service")
        if token["expires"] <= self._now():
            raise QuorumError("the quorum token has expired")
        if len(token["approvals"]) < required:
            raise QuorumError(
                f"the quorum token has {len(token['approvals'])} of {required} approvals"
            )
        self._storage.delete("hsm.quorum", approval)

    # ------------------------------------------------------------------------------------------
    # data plane: keys
    # ------------------------------------------------------------------------------------------

    def _visible(self, ctx: _Context, key: JSON) -> bool:
        if key["session_id"] is not None:
            return bool(key["session_id"] == ctx.session_id)
        if not key["attributes"]["private"]:
            return True
        if ctx.role == "admin":
            return True
        username = ctx.username
        return username is not None and (key["owner"] == username or username in key["shared"])

    def _load_key(self, ctx: _Context, handle: KeyHandle) -> JSON:
        if not isinstance(handle, int) or isinstance(handle, bool):
            raise Pkcs11Error("CKR_OBJECT_HANDLE_INVALID", "a key handle is an integer")
        key = self._storage.get("hsm.key", self._key_id(ctx.cluster["ClusterId"], handle))
        if key is None or not self._visible(ctx, key):
            raise Pkcs11Error("CKR_OBJECT_HANDLE_INVALID", f"no key {key_reference(handle)}")
        return key

    def _use_key(self, ctx: _Context, handle: KeyHandle) -> JSON:
        """A key the logged-in crypto user may use (owner or shared), available enough."""
        key = self._load_key(ctx, handle)
        me = self._require_crypto_user(ctx)
        shared_token_key = key["attributes"]["private"] and key["session_id"] is None
        if shared_token_key and key["owner"] != me and me not in key["shared"]:
            raise Pkcs11Error("CKR_OBJECT_HANDLE_INVALID", "the key is not shared with you")
        self._check_availability(ctx.cluster, key)
        return key

    def _own_key(self, ctx: _Context, handle: KeyHandle, what: str) -> JSON:
        key = self._use_key(ctx, handle)
        if key["owner"] != ctx.username:
            raise RoleError(f"only the key's owner can {what}; it is shared with you")
        return key

    def _check_availability(self, cluster: JSON, key: JSON) -> None:
        """Token keys must be on two ACTIVE HSMs before use, unless the cluster has one HSM."""
        if key["session_id"] is not None:
            return
        hsms = cluster["_"]["hsms"]
        holding = 0
        for hsm_id in key["hsms"]:
            hsm = hsms.get(hsm_id)
            if hsm is not None and hsm.get("state") == "ACTIVE":
                holding += 1
        if holding >= 2:  # enough for any cluster: the members only matter below two
            return
        members = sum(1 for hsm in hsms.values() if hsm["state"] != "DELETE_IN_PROGRESS")
        needed = 2 if members >= 2 else 1
        if holding < needed:
            raise HsmAvailabilityError(
                "CKR_DEVICE_ERROR",
                f"key availability check failed: the key is on {holding} ACTIVE HSM(s) "
                f"and needs {needed}; wait for a new HSM to become ACTIVE or add one",
            )

    def _require_writable(self, ctx: _Context, token: bool) -> None:
        if token and not ctx.session["read_write"]:
            raise Pkcs11Error("CKR_SESSION_READ_ONLY", "token keys need a read/write session")

    def _store_new_key(
        self,
        ctx: _Context,
        *,
        key_class: str,
        key_type: str,
        material: bytes | None,
        public_der: bytes | None,
        template: Mapping[str, object] | None,
        token: bool,
        extra: Mapping[str, Any],
        local: bool,
        share_with: list[str] | None = None,
        save_cluster: bool = True,
    ) -> KeyHandle:
        owner = self._require_crypto_user(ctx)
        attributes = attrs.defaults(key_class, key_type)
        attributes["token"] = token
        attrs.apply_template(attributes, template, key_class=key_class)
        self._require_writable(ctx, bool(attributes["token"]))
        attributes["local"] = local
        attributes["always-sensitive"] = local and bool(attributes["sensitive"])
        attributes["never-extractable"] = local and not attributes["extractable"]
        if key_class == "public-key":
            attributes.pop("always-sensitive")
            attributes.pop("never-extractable")
        attributes.update(extra)
        cluster = ctx.cluster
        handle = int(cluster["_"]["next_handle"])
        cluster["_"]["next_handle"] = handle + 1
        cluster_id = cluster["ClusterId"]
        is_token = bool(attributes["token"])
        key: JSON = {
            "cluster_id": cluster_id,
            "handle": handle,
            "owner": owner,
            "shared": [],
            "session_id": None if is_token else ctx.session_id,
            "hsms": self._active_hsms(cluster) if is_token else [ctx.session["hsm_id"]],
            "attributes": attributes,
            "material": self._seal(cluster_id, handle, material) if material is not None else None,
            "public": _b64(public_der) if public_der is not None else None,
        }
        for username in share_with or []:
            self._add_share(ctx, key, username)
        self._put_key(key)
        if save_cluster:
            self._put_cluster(cluster)
        return handle

    def _add_share(self, ctx: _Context, key: JSON, username: str) -> None:
        name = username.lower()
        user = self._storage.get("hsm.user", self._user_id(ctx.cluster["ClusterId"], name))
        if user is None or user["role"] != "crypto-user":
            raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"{name} is not a crypto user")
        if key["session_id"] is not None:
            raise Pkcs11Error("CKR_ACTION_PROHIBITED", "session keys cannot be shared")
        if name == key["owner"] or name in key["shared"]:
            raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"the key is already available to {name}")
        if len(key["shared"]) >= MAX_SHARED_USERS:
            raise Pkcs11Error(
                "CKR_ARGUMENTS_BAD", f"a key can be shared with at most {MAX_SHARED_USERS} users"
            )
        key["shared"].append(name)

    def _key_target(self, ctx: _Context, handle: object) -> str:
        name = key_reference(handle) if isinstance(handle, int) else str(handle)
        return f"{ctx.cluster['ClusterId']}/{name}"

    def _key_call(self, operation: str, session_id: str, handle: object = None) -> _KeyCall:
        """``with self._key_call(...) as (ctx, audit)``: load the session, audited."""
        return _KeyCall(self, operation, session_id, handle)

    def generate_symmetric(
        self,
        session_id: str,
        key_type: str,
        length_bytes: int,
        *,
        label: str = "",
        attributes: Mapping[str, object] | None = None,
        token: bool = True,
        share_with: list[str] | None = None,
    ) -> KeyHandle:
        """CloudHSM CLI ``key generate-symmetric aes|generic-secret``.

        AES keys are 16, 24 or 32 bytes; generic secrets 1 to 800 bytes. ``attributes`` uses
        CloudHSM CLI names (``{"encrypt": True}``); ``token=False`` makes a session key.
        """
        with self._key_call("KeyGenerateSymmetric", session_id) as (ctx, audit):
            self._require_crypto_user(ctx)
            if key_type == "aes":
                if length_bytes not in prim.AES_KEY_LENGTHS:
                    raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", "AES keys are 16/24/32 bytes")
            elif key_type == "generic-secret":
                if not isinstance(length_bytes, int) or not 1 <= length_bytes <= 800:
                    raise Pkcs11Error(
                        "CKR_ATTRIBUTE_VALUE_INVALID", "generic secrets are 1 to 800 bytes"
                    )
            else:
                raise Pkcs11Error(
                    "CKR_KEY_TYPE_INCONSISTENT", f"not a symmetric key type: {key_type}"
                )
            template = dict(attributes or {})
            template.setdefault("label", label)
            material = self._random.token_bytes(length_bytes)
            handle = self._store_new_key(
                ctx,
                key_class="secret-key",
                key_type=key_type,
                material=material,
                public_der=None,
                template=template,
                token=token,
                extra=self._secret_extras(key_type, material),
                local=True,
                share_with=share_with,
            )
            audit.target = self._key_target(ctx, handle)
            audit.detail = {"key_type": key_type, "length_bytes": length_bytes}
            return handle

    @staticmethod
    def _secret_extras(key_type: str, material: bytes) -> JSON:
        check = (
            prim.aes_check_value(material)
            if key_type == "aes"
            else "0x" + hashlib.sha1(material, usedforsecurity=False).hexdigest()[:6]
        )
        return {"key-length-bytes": len(material), "check-value": check}

    @staticmethod
    def _public_extras(public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> JSON:
        der = public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        extras: JSON = {
            "check-value": "0x" + hashlib.sha1(der, usedforsecurity=False).hexdigest()[:6]
        }
        if isinstance(public_key, rsa.RSAPublicKey):
            numbers = public_key.public_numbers()
            extras["modulus"] = hex(numbers.n)
            extras["modulus-size-bits"] = public_key.key_size
            extras["public-exponent"] = hex(numbers.e)
        else:
            point = public_key.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
            extras["ec-point"] = "0x" + point.hex()
            extras["curve"] = public_key.curve.name
        return extras

    def generate_key_pair(
        self,
        session_id: str,
        key_type: str,
        *,
        modulus_bits: int = 2048,
        public_exponent: int = 65537,
        curve: str = "secp256r1",
        label: str = "",
        public_attributes: Mapping[str, object] | None = None,
        private_attributes: Mapping[str, object] | None = None,
        token: bool = True,
        share_with: list[str] | None = None,
    ) -> tuple[KeyHandle, KeyHandle]:
        """CloudHSM CLI ``key generate-asymmetric-pair rsa|ec``: returns (public, private).

        RSA moduli are at least 2048 bits with an odd public exponent >= 65537; EC curves are
        secp256r1 (prime256v1), secp384r1, secp521r1 and secp256k1.
        """
        with self._key_call("KeyGenerateAsymmetricPair", session_id) as (ctx, audit):
            self._require_crypto_user(ctx)
            private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
            if key_type == "rsa":
                if not isinstance(modulus_bits, int) or modulus_bits < 2048 or modulus_bits > 8192:
                    raise Pkcs11Error(
                        "CKR_ATTRIBUTE_VALUE_INVALID", "RSA keys are 2048 to 8192 bits"
                    )
                if public_exponent < 65537 or public_exponent % 2 == 0:
                    raise Pkcs11Error(
                        "CKR_ATTRIBUTE_VALUE_INVALID", "the public exponent must be odd, >= 65537"
                    )
                private_key = rsa.generate_private_key(public_exponent, modulus_bits)
                audit.detail = {"key_type": "rsa", "modulus_bits": modulus_bits}
            elif key_type == "ec":
                if curve not in prim.CURVES:
                    raise Pkcs11Error("CKR_CURVE_NOT_SUPPORTED", f"unsupported curve {curve!r}")
                private_key = ec.generate_private_key(prim.CURVES[curve]())
                audit.detail = {"key_type": "ec", "curve": curve}
            else:
                raise Pkcs11Error("CKR_KEY_TYPE_INCONSISTENT", f"not a key pair type: {key_type}")
            return self._store_pair(
                ctx,
                key_type,
                private_key,
                label=label,
                public_attributes=public_attributes,
                private_attributes=private_attributes,
                token=token,
                local=True,
                share_with=share_with,
                audit=audit,
            )

    def _store_pair(
        self,
        ctx: _Context,
        key_type: str,
        private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
        *,
        label: str,
        public_attributes: Mapping[str, object] | None,
        private_attributes: Mapping[str, object] | None,
        token: bool,
        local: bool,
        share_with: list[str] | None,
        audit: _Audit,
    ) -> tuple[KeyHandle, KeyHandle]:
        public_key = private_key.public_key()
        public_der = public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        private_der = private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        extras = self._public_extras(public_key)
        public_template = {"label": label, **(public_attributes or {})}
        private_template = {"label": label, **(private_attributes or {})}
        # Validate both templates before anything is stored.
        for template, key_class in (
            (public_template, "public-key"),
            (private_template, "private-key"),
        ):
            probe = attrs.defaults(key_class, key_type)
            attrs.apply_template(probe, template, key_class=key_class)
            self._require_writable(ctx, bool(template.get("token", token)))
        public_handle = self._store_new_key(
            ctx,
            key_class="public-key",
            key_type=key_type,
            material=None,
            public_der=public_der,
            template=public_template,
            token=token,
            extra=extras,
            local=local,
            save_cluster=False,
        )
        private_handle = self._store_new_key(
            ctx,
            key_class="private-key",
            key_type=key_type,
            material=private_der,
            public_der=public_der,
            template=private_template,
            token=token,
            extra=extras,
            local=local,
            share_with=share_with,
        )
        audit.target = self._key_target(ctx, private_handle)
        return public_handle, private_handle

    def import_key(
        self,
        session_id: str,
        key_type: str,
        material: bytes,
        *,
        label: str = "",
        attributes: Mapping[str, object] | None = None,
        token: bool = True,
    ) -> KeyHandle:
        """Import plaintext key material (CloudHSM CLI ``key import``).

        ``aes``: 16/24/32 raw bytes; ``generic-secret``: 1 to 800 raw bytes; ``rsa-private``
        or ``ec-private``: PKCS#8 DER or PEM; ``rsa-public`` or ``ec-public``: SPKI DER or PEM.
        Imported keys have local=false.
        """
        with self._key_call("KeyImport", session_id) as (ctx, audit):
            self._require_crypto_user(ctx)
            audit.detail = {"key_type": key_type}
            if key_type in ("aes", "generic-secret"):
                ok = (
                    len(material) in prim.AES_KEY_LENGTHS
                    if key_type == "aes"
                    else 1 <= len(material) <= 800
                )
                if not ok:
                    raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", f"wrong {key_type} key length")
                handle = self._store_new_key(
                    ctx,
                    key_class="secret-key",
                    key_type=key_type,
                    material=bytes(material),
                    public_der=None,
                    template={"label": label, **(attributes or {})},
                    token=token,
                    extra=self._secret_extras(key_type, bytes(material)),
                    local=False,
                )
            elif key_type in ("rsa-private", "ec-private"):
                private_key = _load_private(material, key_type.split("-")[0])
                handle = self._store_new_key(
                    ctx,
                    key_class="private-key",
                    key_type=key_type.split("-")[0],
                    material=private_key.private_bytes(
                        serialization.Encoding.DER,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    ),
                    public_der=private_key.public_key().public_bytes(
                        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                    ),
                    template={"label": label, **(attributes or {})},
                    token=token,
                    extra=self._public_extras(private_key.public_key()),
                    local=False,
                )
            elif key_type in ("rsa-public", "ec-public"):
                public_key = _load_public(material, key_type.split("-")[0])
                handle = self._store_new_key(
                    ctx,
                    key_class="public-key",
                    key_type=key_type.split("-")[0],
                    material=None,
                    public_der=public_key.public_bytes(
                        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                    ),
                    template={"label": label, **(attributes or {})},
                    token=token,
                    extra=self._public_extras(public_key),
                    local=False,
                )
            else:
                raise Pkcs11Error("CKR_KEY_TYPE_INCONSISTENT", f"cannot import {key_type!r}")
            audit.target = self._key_target(ctx, handle)
            return handle

    # --- finding and describing keys -------------------------------------------------------------

    def find_keys(
        self, session_id: str, filters: Mapping[str, object] | None = None
    ) -> list[KeyHandle]:
        """C_FindObjects / ``key list --filter attr.NAME=VALUE``: handles of visible keys.

        Without login only public (private=false) token keys are found; that is not an error.
        A ``key-reference`` filter matches one handle.
        """
        with self._key_call("KeyList", session_id) as (ctx, audit):
            wanted = dict(filters or {})
            reference = wanted.pop("key-reference", None)
            for name in wanted:
                if name not in attrs.OUTPUT_ORDER:
                    raise Pkcs11Error("CKR_ATTRIBUTE_TYPE_INVALID", f"unknown attribute {name!r}")
            found = []
            for key in self._keys(ctx.cluster["ClusterId"]):
                if not self._visible(ctx, key):
                    continue
                if reference is not None and key["handle"] != parse_key_reference(str(reference)):
                    continue
                if attrs.matches(key["attributes"], wanted):
                    found.append(int(key["handle"]))
            audit.detail = {"filters": {k: str(v) for k, v in wanted.items()}, "found": len(found)}
            return sorted(found)

    def describe_key(self, session_id: str, handle: KeyHandle) -> JSON:
        """A key as CloudHSM CLI shows it: ``key-reference``, ``key-info`` (owners, shared
        users, coverage) and ``attributes``. Never includes key material."""
        with self._key_call("KeyDescribe", session_id, handle) as (ctx, _audit):
            return self._key_view(ctx.cluster, self._load_key(ctx, handle))

    def _key_view(self, cluster: JSON, key: JSON) -> JSON:
        active = set(self._active_hsms(cluster))
        on = set(key["hsms"]) & active
        if key["session_id"] is not None:
            coverage = "session"
        else:
            coverage = "full" if active and active <= on else "partial"
        attributes = key["attributes"]
        ordered = {name: attributes[name] for name in attrs.OUTPUT_ORDER if name in attributes}
        return {
            "key-reference": key_reference(key["handle"]),
            "key-info": {
                "key-owners": [{"username": key["owner"], "key-coverage": coverage}],
                "shared-users": [
                    {"username": name, "key-coverage": coverage} for name in key["shared"]
                ],
                "key-quorum-values": {"manage-key-quorum-value": 0, "use-key-quorum-value": 0},
                "cluster-coverage": coverage,
            },
            "attributes": ordered,
        }

    def get_attribute(self, session_id: str, handle: KeyHandle, name: str) -> Any:
        """C_GetAttributeValue for one attribute (CloudHSM CLI name).

        ``value`` reads key material: raw bytes of a secret key, PKCS#8 DER of a private key,
        SPKI DER of a public key. A sensitive or non-extractable key answers
        CKR_ATTRIBUTE_SENSITIVE; only the owner may read it.
        """
        with self._key_call("KeyGetAttribute", session_id, handle) as (ctx, audit):
            audit.detail = {"attribute": name}
            key = self._load_key(ctx, handle)
            if name != "value":
                if name not in attrs.OUTPUT_ORDER:
                    raise Pkcs11Error("CKR_ATTRIBUTE_TYPE_INVALID", f"unknown attribute {name!r}")
                if name not in key["attributes"]:
                    raise Pkcs11Error("CKR_ATTRIBUTE_TYPE_INVALID", f"the key has no {name}")
                return key["attributes"][name]
            if key["attributes"]["class"] == "public-key":
                return _unb64(key["public"])
            self._require_crypto_user(ctx)
            if key["attributes"]["sensitive"] or not key["attributes"]["extractable"]:
                raise Pkcs11Error("CKR_ATTRIBUTE_SENSITIVE", "the key value cannot be revealed")
            key = self._own_key(ctx, handle, "read its value")
            return self._unseal(key)

    def get_public_key_pem(self, session_id: str, handle: KeyHandle) -> str:
        """The SubjectPublicKeyInfo PEM of a public or private key (``key generate-file``)."""
        with self._key_call("KeyGetPublic", session_id, handle) as (ctx, _audit):
            key = self._load_key(ctx, handle)
            if key["public"] is None:
                raise Pkcs11Error("CKR_KEY_TYPE_INCONSISTENT", "a secret key has no public key")
            public = serialization.load_der_public_key(_unb64(key["public"]))
            return public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ).decode("ascii")

    def set_attribute(self, session_id: str, handle: KeyHandle, name: str, value: object) -> None:
        """CloudHSM CLI ``key set-attribute``: the owner changes an attribute; an admin may set
        only ``trusted``. One-way attributes only tighten (CKR_ATTRIBUTE_READ_ONLY otherwise);
        a key with modifiable=false answers CKR_ACTION_PROHIBITED."""
        with self._key_call("KeySetAttribute", session_id, handle) as (ctx, audit):
            audit.detail = {"attribute": name, "value": str(value)}
            if ctx.role == "admin":
                if name != "trusted":
                    raise RoleError("admins can set only the trusted attribute")
                key = self._load_key(ctx, handle)
            else:
                if name == "trusted":
                    raise RoleError("only an admin can set the trusted attribute")
                key = self._own_key(ctx, handle, "change its attributes")
            self._require_writable(ctx, bool(key["session_id"] is None or name == "token"))
            if not key["attributes"]["modifiable"]:
                raise Pkcs11Error("CKR_ACTION_PROHIBITED", "the key is not modifiable")
            new_value = attrs.check_change(key["attributes"], name, value)
            if key["attributes"]["class"] == "public-key" and name in ("sensitive",) and new_value:
                raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", "public keys are never sensitive")
            if name == "token" and new_value and key["session_id"] is not None:
                key["session_id"] = None
                key["hsms"] = self._active_hsms(ctx.cluster)
            key["attributes"][name] = new_value
            self._put_key(key)

    def share_key(self, session_id: str, handle: KeyHandle, username: str) -> None:
        """CloudHSM CLI ``key share``: the owner shares a token key with a crypto user (at
        most 7); shared users use the key but cannot delete, share, export or change it."""
        with self._key_call("KeyShare", session_id, handle) as (ctx, audit):
            audit.detail = {"username": username}
            key = self._own_key(ctx, handle, "share it")
            self._add_share(ctx, key, username)
            self._put_key(key)

    def unshare_key(self, session_id: str, handle: KeyHandle, username: str) -> None:
        """CloudHSM CLI ``key unshare``."""
        with self._key_call("KeyUnshare", session_id, handle) as (ctx, audit):
            audit.detail = {"username": username}
            key = self._own_key(ctx, handle, "unshare it")
            name = username.lower()
            if name not in key["shared"]:
                raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"the key is not shared with {name}")
            key["shared"].remove(name)
            self._put_key(key)

    def destroy_key(self, session_id: str, handle: KeyHandle) -> None:
        """C_DestroyObject / ``key delete``: owner only; destroyable=false refuses."""
        with self._key_call("KeyDelete", session_id, handle) as (ctx, _audit):
            key = self._own_key(ctx, handle, "delete it")
            self._require_writable(ctx, key["session_id"] is None)
            if not key["attributes"]["destroyable"]:
                raise Pkcs11Error("CKR_ACTION_PROHIBITED", "the key is not destroyable")
            self._delete_key(key)

    # --- cryptography ----------------------------------------------------------------------------

    @staticmethod
    def _mechanism_for(mechanism: str, allowed: tuple[str, ...] | Mapping[str, Any]) -> str:
        if mechanism not in KNOWN_MECHANISMS:
            raise Pkcs11Error("CKR_MECHANISM_INVALID", f"unknown mechanism {mechanism!r}")
        if mechanism not in allowed:
            raise Pkcs11Error("CKR_MECHANISM_INVALID", f"{mechanism} cannot do this")
        return mechanism

    @staticmethod
    def _expect(key: JSON, key_type: str, classes: tuple[str, ...], attribute: str) -> None:
        attributes = key["attributes"]
        if attributes["key-type"] != key_type or attributes["class"] not in classes:
            raise Pkcs11Error("CKR_KEY_TYPE_INCONSISTENT", "the key does not fit the mechanism")
        if not attributes.get(attribute, False):
            raise Pkcs11Error("CKR_KEY_FUNCTION_NOT_PERMITTED", f"the key's {attribute} is false")

    def _private_key(self, key: JSON) -> Any:
        # Unsealed on every call (so the sealing checks always run); only the parsing is
        # memoized, see _parse_private_key.
        return _parse_private_key(self._unseal(key))

    @staticmethod
    def _public_key(key: JSON) -> Any:
        return serialization.load_der_public_key(_unb64(key["public"]))

    def encrypt(
        self,
        session_id: str,
        handle: KeyHandle,
        mechanism: str,
        data: bytes,
        *,
        iv: bytes | None = None,
        aad: bytes = b"",
        tag_bits: int = 128,
        hash_name: str = "sha1",
        oaep_label: bytes | None = None,
    ) -> bytes:
        """C_Encrypt with CKM_AES_GCM, CKM_AES_CBC_PAD, CKM_AES_CTR or CKM_RSA_PKCS_OAEP.

        GCM returns ciphertext || tag; without ``iv`` the HSM picks a 12-byte IV and prefixes it
        (CloudHSM's behaviour). CBC-PAD needs a 16-byte IV, CTR a 16-byte counter block. OAEP
        uses ``hash_name`` for the hash and MGF1 (sha1 ... sha512).
        """
        with self._key_call("Encrypt", session_id, handle) as (ctx, audit):
            audit.detail = {"mechanism": mechanism, "bytes": len(data)}
            mech = self._mechanism_for(mechanism, (*_SYMMETRIC_ENCRYPT, "CKM_RSA_PKCS_OAEP"))
            key = self._use_key(ctx, handle)
            if mech == "CKM_RSA_PKCS_OAEP":
                self._expect(key, "rsa", ("public-key",), "encrypt")
                return prim.rsa_oaep_encrypt(self._public_key(key), data, hash_name, oaep_label)
            self._expect(key, "aes", ("secret-key",), "encrypt")
            secret = self._unseal(key)
            if mech == "CKM_AES_GCM":
                prefix = b""
                if iv is None:
                    iv = prefix = self._random.token_bytes(12)
                return prefix + prim.aes_gcm_encrypt(secret, iv, data, aad, tag_bits)
            if iv is None:
                raise Pkcs11Error("CKR_MECHANISM_PARAM_INVALID", f"{mech} needs a 16-byte IV")
            if mech == "CKM_AES_CBC_PAD":
                return prim.aes_cbc_pad_encrypt(secret, iv, data)
            return prim.aes_ctr(secret, iv, data)

    def decrypt(
        self,
        session_id: str,
        handle: KeyHandle,
        mechanism: str,
        data: bytes,
        *,
        iv: bytes | None = None,
        aad: bytes = b"",
        tag_bits: int = 128,
        hash_name: str = "sha1",
        oaep_label: bytes | None = None,
    ) -> bytes:
        """C_Decrypt, the inverse of :meth:`encrypt`. A wrong tag, AAD or OAEP blob is
        CKR_ENCRYPTED_DATA_INVALID; a CBC ciphertext of bad length is
        CKR_ENCRYPTED_DATA_LEN_RANGE. GCM without ``iv`` reads the IV from the first 12 bytes.
        """
        with self._key_call("Decrypt", session_id, handle) as (ctx, audit):
            audit.detail = {"mechanism": mechanism, "bytes": len(data)}
            mech = self._mechanism_for(mechanism, (*_SYMMETRIC_ENCRYPT, "CKM_RSA_PKCS_OAEP"))
            key = self._use_key(ctx, handle)
            if mech == "CKM_RSA_PKCS_OAEP":
                self._expect(key, "rsa", ("private-key",), "decrypt")
                return prim.rsa_oaep_decrypt(self._private_key(key), data, hash_name, oaep_label)
            self._expect(key, "aes", ("secret-key",), "decrypt")
            secret = self._unseal(key)
            if mech == "CKM_AES_GCM":
                if iv is None:
                    if len(data) < 12:
                        raise Pkcs11Error("CKR_ENCRYPTED_DATA_LEN_RANGE", "no IV prefix")
                    iv, data = data[:12], data[12:]
                return prim.aes_gcm_decrypt(secret, iv, data, aad, tag_bits)
            if iv is None:
                raise Pkcs11Error("CKR_MECHANISM_PARAM_INVALID", f"{mech} needs a 16-byte IV")
            if mech == "CKM_AES_CBC_PAD":
                return prim.aes_cbc_pad_decrypt(secret, iv, data)
            return prim.aes_ctr(secret, iv, data)

    def sign(
        self,
        session_id: str,
        handle: KeyHandle,
        mechanism: str,
        data: bytes,
        *,
        hash_name: str | None = None,
        salt_length: int | None = None,
    ) -> bytes:
        """C_Sign: RSA PKCS#1 v1.5 (CKM_SHA256_RSA_PKCS ...), RSA-PSS (CKM_SHA256_RSA_PKCS_PSS,
        or CKM_RSA_PKCS_PSS over a digest with ``hash_name``), ECDSA (CKM_ECDSA over a digest,
        CKM_ECDSA_SHA256 ...; raw r||s) and HMAC (CKM_SHA256_HMAC ... with generic secrets)."""
        with self._key_call("Sign", session_id, handle) as (ctx, audit):
            audit.detail = {"mechanism": mechanism, "bytes": len(data)}
            spec = _SIGN[self._mechanism_for(mechanism, _SIGN)]
            key = self._use_key(ctx, handle)
            if spec.scheme == "hmac":
                self._expect(key, "generic-secret", ("secret-key",), "sign")
                return prim.hmac_sign(self._unseal(key), data, str(spec.hash_name))
            self._expect(key, spec.key_type, ("private-key",), "sign")
            private_key = self._private_key(key)
            if spec.scheme == "pkcs1":
                return prim.rsa_pkcs1_sign(private_key, data, str(spec.hash_name))
            if spec.scheme == "pss":
                chosen = spec.hash_name or hash_name
                if chosen is None:
                    raise Pkcs11Error(
                        "CKR_MECHANISM_PARAM_INVALID", "CKM_RSA_PKCS_PSS needs a hash"
                    )
                return prim.rsa_pss_sign(
                    private_key, data, chosen, salt_length, prehashed=spec.hash_name is None
                )
            return prim.ecdsa_sign(private_key, data, spec.hash_name)

    def verify(
        self,
        session_id: str,
        handle: KeyHandle,
        mechanism: str,
        data: bytes,
        signature: bytes,
        *,
        hash_name: str | None = None,
        salt_length: int | None = None,
    ) -> None:
        """C_Verify: returns None when valid, raises CKR_SIGNATURE_INVALID otherwise."""
        with self._key_call("Verify", session_id, handle) as (ctx, audit):
            audit.detail = {"mechanism": mechanism, "bytes": len(data)}
            spec = _SIGN[self._mechanism_for(mechanism, _SIGN)]
            key = self._use_key(ctx, handle)
            if spec.scheme == "hmac":
                self._expect(key, "generic-secret", ("secret-key",), "verify")
                prim.hmac_verify(self._unseal(key), data, signature, str(spec.hash_name))
                return
            self._expect(key, spec.key_type, ("public-key",), "verify")
            public_key = self._public_key(key)
            if spec.scheme == "pkcs1":
                prim.rsa_pkcs1_verify(public_key, data, signature, str(spec.hash_name))
            elif spec.scheme == "pss":
                chosen = spec.hash_name or hash_name
                if chosen is None:
                    raise Pkcs11Error(
                        "CKR_MECHANISM_PARAM_INVALID", "CKM_RSA_PKCS_PSS needs a hash"
                    )
                prim.rsa_pss_verify(
                    public_key,
                    data,
                    signature,
                    chosen,
                    salt_length,
                    prehashed=spec.hash_name is None,
                )
            else:
                prim.ecdsa_verify(public_key, data, signature, spec.hash_name)

    def digest(self, session_id: str, mechanism: str, data: bytes) -> bytes:
        """C_Digest with CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384 or CKM_SHA512 (no login
        needed)."""
        with self._key_call("Digest", session_id) as (_ctx, audit):
            audit.detail = {"mechanism": mechanism, "bytes": len(data)}
            return prim.digest(data, _DIGESTS[self._mechanism_for(mechanism, _DIGESTS)])

    def generate_random(self, session_id: str, length: int) -> bytes:
        """C_GenerateRandom: ``length`` bytes (1 to 65536)."""
        with self._key_call("GenerateRandom", session_id) as (_ctx, audit):
            if not isinstance(length, int) or not 1 <= length <= 65536:
                raise Pkcs11Error("CKR_ARGUMENTS_BAD", "ask for 1 to 65536 bytes")
            audit.detail = {"bytes": length}
            return self._random.token_bytes(length)

    # --- wrapping --------------------------------------------------------------------------------

    def wrap_key(
        self,
        session_id: str,
        wrapping_handle: KeyHandle,
        key_handle: KeyHandle,
        mechanism: str,
        *,
        iv: bytes | None = None,
        aad: bytes = b"",
        hash_name: str = "sha1",
    ) -> bytes:
        """C_WrapKey / ``key wrap``: export a key encrypted under a wrapping key.

        CKM_AES_KEY_WRAP (RFC 3394), CKM_AES_KEY_WRAP_PAD (RFC 5649), CKM_AES_GCM (IV prefixed
        when not given) and CKM_RSA_PKCS_OAEP (secret keys). Secret keys wrap as raw bytes,
        private keys as PKCS#8 DER. Only the payload's owner may wrap it; it must be extractable
        (CKR_KEY_UNEXTRACTABLE), and a wrap-with-trusted key only under a trusted wrapping key
        (CKR_KEY_NOT_WRAPPABLE).
        """
        with self._key_call("KeyWrap", session_id, key_handle) as (ctx, audit):
            audit.detail = {"mechanism": mechanism, "wrapping_key": key_reference(wrapping_handle)}
            mech = self._mechanism_for(mechanism, _WRAP_MECHANISMS)
            wrapping = self._use_key(ctx, wrapping_handle)
            if mech == "CKM_RSA_PKCS_OAEP":
                self._expect(wrapping, "rsa", ("public-key",), "wrap")
            else:
                self._expect(wrapping, "aes", ("secret-key",), "wrap")
            payload = self._load_key(ctx, key_handle)
            attributes = payload["attributes"]
            if attributes["class"] == "public-key":
                raise Pkcs11Error("CKR_KEY_NOT_WRAPPABLE", "public keys are not wrapped")
            if not attributes["extractable"]:
                raise Pkcs11Error("CKR_KEY_UNEXTRACTABLE", "the key is not extractable")
            if attributes["wrap-with-trusted"] and not wrapping["attributes"]["trusted"]:
                raise Pkcs11Error(
                    "CKR_KEY_NOT_WRAPPABLE", "the key can be wrapped only by a trusted key"
                )
            payload = self._own_key(ctx, key_handle, "wrap (export) it")
            plain = self._unseal(payload)
            if mech == "CKM_RSA_PKCS_OAEP":
                if attributes["class"] != "secret-key":
                    raise Pkcs11Error("CKR_KEY_NOT_WRAPPABLE", "RSA-OAEP wraps secret keys only")
                return prim.rsa_oaep_encrypt(self._public_key(wrapping), plain, hash_name)
            wrapping_secret = self._unseal(wrapping)
            if mech == "CKM_AES_KEY_WRAP":
                return prim.aes_key_wrap(wrapping_secret, plain)
            if mech == "CKM_AES_KEY_WRAP_PAD":
                return prim.aes_key_wrap_pad(wrapping_secret, plain)
            prefix = b""
            if iv is None:
                iv = prefix = self._random.token_bytes(12)
            return prefix + prim.aes_gcm_encrypt(wrapping_secret, iv, plain, aad)

    def unwrap_key(
        self,
        session_id: str,
        unwrapping_handle: KeyHandle,
        wrapped: bytes,
        mechanism: str,
        *,
        key_type: str,
        key_class: str = "secret-key",
        label: str = "",
        attributes: Mapping[str, object] | None = None,
        token: bool = True,
        iv: bytes | None = None,
        aad: bytes = b"",
        hash_name: str = "sha1",
    ) -> KeyHandle:
        """C_UnwrapKey / ``key unwrap``: a new key from wrapped material, owned by the caller.
        A failed integrity check is CKR_WRAPPED_KEY_INVALID."""
        with self._key_call("KeyUnwrap", session_id, unwrapping_handle) as (ctx, audit):
            audit.detail = {"mechanism": mechanism, "key_type": key_type}
            mech = self._mechanism_for(mechanism, _WRAP_MECHANISMS)
            unwrapping = self._use_key(ctx, unwrapping_handle)
            if mech == "CKM_RSA_PKCS_OAEP":
                self._expect(unwrapping, "rsa", ("private-key",), "unwrap")
                plain = prim.rsa_oaep_decrypt(
                    self._private_key(unwrapping),
                    wrapped,
                    hash_name,
                    failure_code="CKR_WRAPPED_KEY_INVALID",
                )
            else:
                self._expect(unwrapping, "aes", ("secret-key",), "unwrap")
                secret = self._unseal(unwrapping)
                if mech == "CKM_AES_KEY_WRAP":
                    plain = prim.aes_key_unwrap(secret, wrapped)
                elif mech == "CKM_AES_KEY_WRAP_PAD":
                    plain = prim.aes_key_unwrap_pad(secret, wrapped)
                else:
                    if iv is None:
                        iv, wrapped = wrapped[:12], wrapped[12:]
                    try:
                        plain = prim.aes_gcm_decrypt(secret, iv, wrapped, aad)
                    except Pkcs11Error:
                        raise Pkcs11Error(
                            "CKR_WRAPPED_KEY_INVALID", "integrity check failed"
                        ) from None
            template = {"label": label, **(attributes or {})}
            if key_class == "secret-key" and key_type in ("aes", "generic-secret"):
                ok = (
                    len(plain) in prim.AES_KEY_LENGTHS
                    if key_type == "aes"
                    else 1 <= len(plain) <= 800
                )
                if not ok:
                    raise Pkcs11Error("CKR_WRAPPED_KEY_INVALID", "wrong key length for the type")
                handle = self._store_new_key(
                    ctx,
                    key_class="secret-key",
                    key_type=key_type,
                    material=plain,
                    public_der=None,
                    template=template,
                    token=token,
                    extra=self._secret_extras(key_type, plain),
                    local=False,
                )
            elif key_class == "private-key" and key_type in ("rsa", "ec"):
                try:
                    private_key = _load_private(plain, key_type)
                except Pkcs11Error:
                    raise Pkcs11Error("CKR_WRAPPED_KEY_INVALID", "not a PKCS#8 key") from None
                handle = self._store_new_key(
                    ctx,
                    key_class="private-key",
                    key_type=key_type,
                    material=plain,
                    public_der=private_key.public_key().public_bytes(
                        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                    ),
                    template=template,
                    token=token,
                    extra=self._public_extras(private_key.public_key()),
                    local=False,
                )
            else:
                raise Pkcs11Error(
                    "CKR_TEMPLATE_INCONSISTENT", f"cannot unwrap a {key_type} {key_class}"
                )
            audit.target = self._key_target(ctx, handle)
            return handle


_PARSED_KEYS: OrderedDict[bytes, Any] = OrderedDict()
_PARSED_KEYS_MAX = 256


def _parse_private_key(der: bytes) -> Any:
    """PKCS#8 DER -> a ``cryptography`` private key, memoized by the DER's SHA-256.

    A pure function of its input, memoized because a freshly parsed RSA key signs about 1.7x
    slower than a warm one (OpenSSL builds its Montgomery and blinding state on first use), as
    an HSM keeps its keys loaded. It holds no engine state: a miss gives the same result, the
    material was unsealed (and its binding checked) by the caller, and the cache is bounded.
    Keys were validated when generated or imported, so the slow RSA re-validation is skipped.
    """
    fingerprint = hashlib.sha256(der).digest()
    parsed = _PARSED_KEYS.get(fingerprint)
    if parsed is None:
        parsed = serialization.load_der_private_key(der, None, unsafe_skip_rsa_key_validation=True)
        _PARSED_KEYS[fingerprint] = parsed
        if len(_PARSED_KEYS) > _PARSED_KEYS_MAX:
            _PARSED_KEYS.popitem(last=False)
    else:
        _PARSED_KEYS.move_to_end(fingerprint)
    return parsed


def _load_private(material: bytes, key_type: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    try:
        if material.lstrip().startswith(b"-----"):
            key = serialization.load_pem_private_key(material, None)
        else:
            key = serialization.load_der_private_key(material, None)
    except (ValueError, TypeError):
        raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", "not a PKCS#8 private key") from None
    if key_type == "rsa" and isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", "RSA keys are at least 2048 bits")
        return key
    if key_type == "ec" and isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name not in prim.CURVES:
            raise Pkcs11Error("CKR_CURVE_NOT_SUPPORTED", f"unsupported curve {key.curve.name}")
        return key
    raise Pkcs11Error("CKR_KEY_TYPE_INCONSISTENT", f"the material is not an {key_type} key")


def _load_public(material: bytes, key_type: str) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    try:
        if material.lstrip().startswith(b"-----"):
            key = serialization.load_pem_public_key(material)
        else:
            key = serialization.load_der_public_key(material)
    except (ValueError, TypeError):
        raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", "not a SubjectPublicKeyInfo") from None
    if key_type == "rsa" and isinstance(key, rsa.RSAPublicKey):
        return key
    if key_type == "ec" and isinstance(key, ec.EllipticCurvePublicKey):
        return key
    raise Pkcs11Error("CKR_KEY_TYPE_INCONSISTENT", f"the material is not an {key_type} key")
