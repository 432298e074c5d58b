"""The live architecture picture of a sandbox account: the customer VPC with its subnets in
each Availability Zone, the clusters and their HSMs, and KMS with its keys and custom key
stores, laid out for the SVG template."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from .engine import Inventory, sandbox_subnets
from .models import SandboxAccount
from .selectors import EngineSnapshot

HSM_STATE_CLASS = {
    "ACTIVE": "ok",
    "CREATE_IN_PROGRESS": "busy",
    "DELETE_IN_PROGRESS": "busy",
    "DEGRADED": "bad",
    "DELETED": "off",
}
KEY_STATE_CLASS = {
    "Enabled": "ok",
    "Disabled": "off",
    "PendingDeletion": "bad",
    "Unavailable": "bad",
    "Creating": "busy",
}


@dataclass
class HsmBox:
    hsm_id: str
    cluster_id: str
    state: str
    eni_id: str
    eni_ip: str
    x: int = 0
    y: int = 0

    @property
    def css(self) -> str:
        return HSM_STATE_CLASS.get(self.state, "off")


@dataclass
class ZoneColumn:
    zone: str
    subnet_id: str
    used_by: list[str] = field(default_factory=list)  # cluster ids using this subnet
    hsms: list[HsmBox] = field(default_factory=list)
    x: int = 0
    width: int = 0


@dataclass
class ClusterBadge:
    cluster_id: str
    state: str
    hsm_type: str
    vpc_id: str
    token_keys: int
    users: int
    css: str
    x: int = 0
    y: int = 0


@dataclass
class KmsKeyRow:
    key_id: str
    aliases: list[str]
    state: str
    spec: str
    origin: str
    store_id: str | None
    y: int = 0
    multi_region: str = ""  # PRIMARY or REPLICA
    region: str = ""

    @property
    def css(self) -> str:
        return KEY_STATE_CLASS.get(self.state, "off")

    @property
    def short_id(self) -> str:
        return self.key_id[:8] + "…"


@dataclass
class KeyStoreBox:
    store_id: str
    name: str
    cluster_id: str
    state: str
    y: int = 0
    link_from: tuple[int, int] | None = None
    link_to: tuple[int, int] | None = None

    @property
    def connected(self) -> bool:
        return self.state == "CONNECTED"


@dataclass
class Architecture:
    account_id: str
    region: str
    now: dt.datetime
    vpc_id: str
    zones: list[ZoneColumn]
    clusters: list[ClusterBadge]
    keys: list[KmsKeyRow]
    more_keys: int
    stores: list[KeyStoreBox]
    width: int
    height: int
    vpc_height: int
    kms_height: int
    # The second Region's box: multi-Region replicas (and primaries moved there).
    second_region: str = ""
    replicas: list[KmsKeyRow] = field(default_factory=list)
    replica_y: int = 0
    replica_height: int = 0


ARCH_WIDTH = 960
VPC_X, VPC_Y, VPC_WIDTH = 16, 40, 600
KMS_X, KMS_WIDTH = 640, 304
HSM_HEIGHT, HSM_GAP = 58, 10
MAX_KEYS_SHOWN = 8


def architecture_for(*, account: SandboxAccount, snapshot: EngineSnapshot) -> Architecture:
    """A laid-out picture of the account: VPC, AZs, subnets, HSMs, clusters, KMS keys."""
    zones = [
        ZoneColumn(zone=zone, subnet_id=subnet) for subnet, zone in sandbox_subnets(account).items()
    ]
    inventory = snapshot.inventory
    clusters, vpc_id = _place_clusters(inventory, {column.zone: column for column in zones})
    hsm_positions, vpc_height = _lay_out_vpc(zones, clusters)
    keys, more_keys, stores, kms_height = _kms_side(inventory, hsm_positions)
    replica_y = VPC_Y + kms_height + 16
    replicas = [
        KmsKeyRow(
            key_id=key.key_id,
            aliases=[],
            state=key.state,
            spec=key.spec,
            origin=key.origin,
            store_id=None,
            y=replica_y + 36 + index * 34,
            multi_region=key.multi_region,
            region=key.region,
        )
        for index, key in enumerate(inventory.other_region_keys[-MAX_KEYS_SHOWN:])
    ]
    replica_height = 44 + len(replicas) * 34 if replicas else 0
    kms_bottom = kms_height + (16 + replica_height if replicas else 0)
    return Architecture(
        account_id=account.account_id,
        region=account.region,
        now=snapshot.now,
        vpc_id=vpc_id,
        zones=zones,
        clusters=clusters,
        keys=keys,
        more_keys=more_keys,
        stores=stores,
        width=ARCH_WIDTH,
        height=VPC_Y + max(vpc_height, kms_bottom) + 24,
        vpc_height=vpc_height,
        kms_height=kms_height,
        second_region=replicas[0].region if replicas else "",
        replicas=replicas,
        replica_y=replica_y,
        replica_height=replica_height,
    )


def _place_clusters(
    inventory: Inventory, by_zone: dict[str, ZoneColumn]
) -> tuple[list[ClusterBadge], str]:
    """A badge per live cluster, its HSMs in their zones' columns; the VPC's id."""
    clusters: list[ClusterBadge] = []
    vpc_id = "vpc (no cluster yet)"
    hsms = {hsm.hsm_id: hsm for hsm in inventory.hsms}
    token_keys = Counter(key.cluster_id for key in inventory.token_keys())
    users = Counter(user.cluster_id for user in inventory.users)
    for cluster in inventory.live_clusters():
        vpc_id = cluster.vpc_id or vpc_id
        clusters.append(
            ClusterBadge(
                cluster_id=cluster.cluster_id,
                state=cluster.state,
                hsm_type=cluster.hsm_type,
                vpc_id=cluster.vpc_id,
                token_keys=token_keys[cluster.cluster_id],
                users=users[cluster.cluster_id],
                css=HSM_STATE_CLASS.get(cluster.state, "busy"),
            )
        )
        for zone, subnet in cluster.subnet_mapping.items():
            if zone in by_zone and by_zone[zone].subnet_id == subnet:
                by_zone[zone].used_by.append(cluster.cluster_id)
        for hsm_id in cluster.hsm_ids:
            hsm = hsms.get(hsm_id)
            if hsm is not None and hsm.zone in by_zone:
                by_zone[hsm.zone].hsms.append(
                    HsmBox(hsm_id, cluster.cluster_id, hsm.state, hsm.eni_id, hsm.eni_ip)
                )
    return clusters, vpc_id


def _lay_out_vpc(
    zones: list[ZoneColumn], clusters: list[ClusterBadge]
) -> tuple[dict[str, tuple[int, int]], int]:
    """Positions in the VPC box; where each cluster's HSMs are (for the key store links)."""
    hsm_positions: dict[str, tuple[int, int]] = {}
    column_width = (VPC_WIDTH - 32 - 16 * (len(zones) - 1)) // max(1, len(zones))
    for index, column in enumerate(zones):
        column.x = VPC_X + 16 + index * (column_width + 16)
        column.width = column_width
        for position, hsm_box in enumerate(column.hsms):
            hsm_box.x = column.x + 8
            hsm_box.y = VPC_Y + 150 + position * (HSM_HEIGHT + HSM_GAP)
            middle = hsm_box.y + HSM_HEIGHT // 2
            hsm_positions[hsm_box.cluster_id] = (hsm_box.x + column_width - 16, middle)
    for index, badge in enumerate(clusters):
        badge.x = VPC_X + 16 + index * 290
        badge.y = VPC_Y + 36
    tallest = max((len(column.hsms) for column in zones), default=0)
    return hsm_positions, 170 + max(1, tallest) * (HSM_HEIGHT + HSM_GAP) + 16


def _kms_side(
    inventory: Inventory, hsm_positions: dict[str, tuple[int, int]]
) -> tuple[list[KmsKeyRow], int, list[KeyStoreBox], int]:
    """The newest KMS keys, how many more there are, the key stores linked to their
    clusters' HSMs, and the KMS box's height."""
    keys = [
        KmsKeyRow(
            key_id=key.key_id,
            aliases=inventory.aliases_of(key.key_id),
            state=key.state,
            spec=key.spec,
            origin=key.origin,
            store_id=key.custom_key_store_id,
            multi_region=key.multi_region,
            region=key.region,
        )
        for key in inventory.kms_keys
    ]
    more_keys = max(0, len(keys) - MAX_KEYS_SHOWN)
    keys = keys[-MAX_KEYS_SHOWN:]
    for index, row in enumerate(keys):
        row.y = VPC_Y + 44 + index * 34
    stores: list[KeyStoreBox] = []
    store_top = VPC_Y + 44 + max(1, len(keys)) * 34 + 40
    for index, store in enumerate(inventory.key_stores):
        box = KeyStoreBox(
            store_id=store.store_id,
            name=store.name,
            cluster_id=store.cluster_id,
            state=store.state,
            y=store_top + index * 56,
        )
        if store.cluster_id in hsm_positions:
            box.link_from = (KMS_X, box.y + 22)
            box.link_to = hsm_positions[store.cluster_id]
        stores.append(box)
    return keys, more_keys, stores, (store_top + len(stores) * 56) - VPC_Y + 16
