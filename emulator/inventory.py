"""A typed, read-only picture of one account's KMS and CloudHSM: what a host shows (the
sandbox's architecture view, its lab graders) without knowing how the engines store things.

:meth:`Inventory.from_records` takes the engines' records grouped by storage kind, as a host
reads them in one pass (``{kind: {object id: record}}``), after the engines have applied
what the clock made due. Nothing in it is key material: views carry states, names and
attributes only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.cloudhsm.state import key_reference
from emulator.kms.records import ALIAS, KEY, KEYSTORE, AliasRecord, KeyRecord, KeyStoreRecord

__all__ = [
    "Alias",
    "Backup",
    "Cluster",
    "Hsm",
    "HsmKey",
    "HsmUser",
    "Inventory",
    "KeyStore",
    "KmsKey",
]

JSON = dict[str, Any]
Records = Mapping[str, Mapping[str, JSON]]


@dataclass(frozen=True)
class KmsKey:
    key_id: str
    spec: str
    usage: str
    origin: str
    state: str  # as DescribeKey reports it (a disconnected store's keys are Unavailable)
    created: float
    custom_key_store_id: str | None
    description: str
    region: str = ""
    multi_region: str = ""  # PRIMARY or REPLICA for a multi-Region key


@dataclass(frozen=True)
class Alias:
    name: str
    target_key_id: str


@dataclass(frozen=True)
class KeyStore:
    store_id: str
    name: str
    cluster_id: str  # "" for an external key store
    state: str
    error_code: str | None
    store_type: str = "AWS_CLOUDHSM"  # or EXTERNAL_KEY_STORE


@dataclass(frozen=True)
class Cluster:
    cluster_id: str
    state: str
    hsm_type: str
    vpc_id: str
    subnet_mapping: Mapping[str, str]  # Availability Zone -> subnet id
    hsm_ids: tuple[str, ...]
    activated: bool
    csr: str | None  # the cluster CSR, until the cluster is initialized
    certificate: str | None  # the cluster certificate the customer's CA signed


@dataclass(frozen=True)
class Hsm:
    hsm_id: str
    cluster_id: str
    zone: str
    state: str
    eni_id: str
    eni_ip: str


@dataclass(frozen=True)
class HsmUser:
    cluster_id: str
    username: str
    role: str
    locked: bool


@dataclass(frozen=True)
class HsmKey:
    cluster_id: str
    handle: int
    token: bool  # False: a session key, gone when its session ends
    on_hsms: tuple[str, ...]
    attributes: Mapping[str, Any]  # CloudHSM CLI names: label, class, key-type, extractable ...
    public_key: str | None  # base64 DER SubjectPublicKeyInfo of a key pair's keys

    @property
    def reference(self) -> str:
        return key_reference(self.handle)

    @property
    def label(self) -> str:
        return str(self.attributes.get("label", ""))

    @property
    def key_class(self) -> str:
        return str(self.attributes.get("class", ""))

    @property
    def key_type(self) -> str:
        return str(self.attributes.get("key-type", ""))


@dataclass(frozen=True)
class Backup:
    backup_id: str
    cluster_id: str
    state: str


@dataclass(frozen=True)
class Inventory:
    now: dt.datetime
    kms_keys: list[KmsKey] = field(default_factory=list)  # oldest first, the home Region's
    other_region_keys: list[KmsKey] = field(default_factory=list)  # multi-Region replicas
    aliases: list[Alias] = field(default_factory=list)
    key_stores: list[KeyStore] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)  # DELETED ones too
    hsms: list[Hsm] = field(default_factory=list)
    users: list[HsmUser] = field(default_factory=list)
    hsm_keys: list[HsmKey] = field(default_factory=list)
    backups: list[Backup] = field(default_factory=list)

    @classmethod
    def from_records(
        cls,
        records: Records,
        *,
        key_state: Callable[[KeyRecord], str],
        now: dt.datetime,
        region: str | None = None,
    ) -> Inventory:
        """``key_state``: the KMS engine's ``key_state`` (it knows the stores' connections).
        ``region``: the home Region; KMS keys elsewhere (replicas) are listed apart."""
        keys = sorted(
            (
                _kms_key(KeyRecord.from_dict(data), key_state, object_id)
                for object_id, data in records.get(KEY, {}).items()
            ),
            key=lambda key: (key.created, key.key_id),
        )
        home = [key for key in keys if region is None or key.region == region]
        return cls(
            now=now,
            kms_keys=home,
            other_region_keys=[key for key in keys if key not in home],
            aliases=sorted(
                (_alias(AliasRecord.from_dict(data)) for data in records.get(ALIAS, {}).values()),
                key=lambda alias: alias.name,
            ),
            key_stores=[
                _key_store(KeyStoreRecord.from_dict(data))
                for _, data in sorted(records.get(KEYSTORE, {}).items())
            ],
            clusters=[_cluster(data) for _, data in sorted(records.get("hsm.cluster", {}).items())],
            hsms=[_hsm(data) for _, data in sorted(records.get("hsm.hsm", {}).items())],
            users=[_user(data) for _, data in sorted(records.get("hsm.user", {}).items())],
            hsm_keys=[_hsm_key(data) for _, data in sorted(records.get("hsm.key", {}).items())],
            backups=[_backup(data) for _, data in sorted(records.get("hsm.backup", {}).items())],
        )

    # --- the questions hosts ask -----------------------------------------------------------

    def live_clusters(self) -> list[Cluster]:
        return [cluster for cluster in self.clusters if cluster.state != "DELETED"]

    def hsms_of(self, cluster_id: str) -> list[Hsm]:
        return [hsm for hsm in self.hsms if hsm.cluster_id == cluster_id]

    def token_keys(self, key_type: str | None = None, key_class: str | None = None) -> list[HsmKey]:
        return [
            key
            for key in self.hsm_keys
            if key.token
            and (key_type is None or key.key_type == key_type)
            and (key_class is None or key.key_class == key_class)
        ]

    def kms_key(self, key_id: str) -> KmsKey | None:
        return next((key for key in self.kms_keys if key.key_id == key_id), None)

    def aliases_of(self, key_id: str) -> list[str]:
        return [alias.name for alias in self.aliases if alias.target_key_id == key_id]


def _kms_key(key: KeyRecord, key_state: Callable[[KeyRecord], str], object_id: str) -> KmsKey:
    region = object_id.split(":")[1] if object_id.count(":") >= 2 else ""  # "account:region:id"
    role = ""
    if key.primary_region is not None:
        role = "PRIMARY" if key.primary_region == region else "REPLICA"
    return KmsKey(
        key_id=key.key_id,
        spec=key.key_spec,
        usage=key.key_usage,
        origin=key.origin,
        state=key_state(key),
        created=key.created,
        custom_key_store_id=key.custom_key_store_id,
        description=key.description,
        region=region,
        multi_region=role,
    )


def _alias(alias: AliasRecord) -> Alias:
    return Alias(name=alias.alias_name, target_key_id=alias.target_key_id)


def _key_store(store: KeyStoreRecord) -> KeyStore:
    return KeyStore(
        store_id=store.store_id,
        name=store.name,
        cluster_id=store.cluster_id,
        state=store.state,
        error_code=store.error_code,
        store_type=store.store_type,
    )


def _cluster(data: JSON) -> Cluster:
    meta = data.get("_", {})
    certificates = data.get("Certificates", {})
    return Cluster(
        cluster_id=data["ClusterId"],
        state=data["State"],
        hsm_type=data.get("HsmType", ""),
        vpc_id=data.get("VpcId", ""),
        subnet_mapping=dict(data.get("SubnetMapping", {})),
        hsm_ids=tuple(sorted(meta.get("hsms", {}))),
        activated=bool(meta.get("activated")),
        csr=certificates.get("ClusterCsr"),
        certificate=certificates.get("ClusterCertificate"),
    )


def _hsm(data: JSON) -> Hsm:
    return Hsm(
        hsm_id=data["HsmId"],
        cluster_id=data["ClusterId"],
        zone=data["AvailabilityZone"],
        state=data["State"],
        eni_id=data.get("EniId", ""),
        eni_ip=data.get("EniIp", ""),
    )


def _user(data: JSON) -> HsmUser:
    return HsmUser(
        cluster_id=data["cluster_id"],
        username=data["username"],
        role=data["role"],
        locked=bool(data.get("locked")),
    )


def _hsm_key(data: JSON) -> HsmKey:
    return HsmKey(
        cluster_id=data["cluster_id"],
        handle=data["handle"],
        token=data.get("session_id") is None,
        on_hsms=tuple(data.get("hsms", ())),
        attributes=dict(data.get("attributes", {})),
        public_key=data.get("public"),
    )


def _backup(data: JSON) -> Backup:
    return Backup(
        backup_id=data["BackupId"], cluster_id=data["ClusterId"], state=data["BackupState"]
    )
