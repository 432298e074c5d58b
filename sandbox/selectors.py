"""Reads: the architecture view, the audit log, access keys, files and lab state.

The architecture and the graders read the engine's typed :class:`Inventory` (see
``SandboxEngine.inventory``) after the engine applied what the simulated clock made due; they
never call audited operations, so looking at the sandbox does not write CloudTrail events.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from .engine import Inventory, SandboxEngine, sandbox_subnets
from .models import SandboxAccessKey, SandboxAccount, SandboxEvent, SandboxFile
from .services import sandbox_call

JSON = dict[str, Any]

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


# --- a snapshot of the engine's records ---------------------------------------------------------


@dataclass
class EngineSnapshot:
    """The account's engine, read once: its inventory and the labs' own records."""

    inventory: Inventory
    lab_records: dict[str, list[JSON]]  # lab kind ("lab.pki" ...) -> records

    @property
    def now(self) -> dt.datetime:
        return self.inventory.now

    def lab(self, kind: str) -> list[JSON]:
        return self.lab_records.get(kind, [])


LAB_KINDS = ("lab.envelope", "lab.pki")


def engine_snapshot(*, account: SandboxAccount) -> EngineSnapshot:
    def action(engine: SandboxEngine) -> EngineSnapshot:
        inventory = engine.inventory()
        labs = {kind: [data for _, data in engine.storage.list(kind)] for kind in LAB_KINDS}
        return EngineSnapshot(inventory, labs)

    return sandbox_call(account=account, action=action)


# --- the architecture view ----------------------------------------------------------------------


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


ARCH_WIDTH = 960
VPC_X, VPC_Y, VPC_WIDTH = 16, 40, 600
KMS_X, KMS_WIDTH = 640, 304
HSM_HEIGHT, HSM_GAP = 58, 10
MAX_KEYS_SHOWN = 8


def architecture_for(*, account: SandboxAccount, snapshot: EngineSnapshot) -> Architecture:
    """A laid-out picture of the account: VPC, AZs, subnets, HSMs, clusters, KMS keys."""
    subnets = sandbox_subnets(account)
    zones = [ZoneColumn(zone=zone, subnet_id=subnet) for subnet, zone in subnets.items()]
    by_zone = {column.zone: column for column in zones}
    clusters: list[ClusterBadge] = []
    hsm_positions: dict[str, tuple[int, int]] = {}
    vpc_id = "vpc (no cluster yet)"
    inventory = snapshot.inventory
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
            if hsm is None or hsm.zone not in by_zone:
                continue
            by_zone[hsm.zone].hsms.append(
                HsmBox(
                    hsm_id=hsm_id,
                    cluster_id=cluster.cluster_id,
                    state=hsm.state,
                    eni_id=hsm.eni_id,
                    eni_ip=hsm.eni_ip,
                )
            )
    column_width = (VPC_WIDTH - 32 - 16 * (len(zones) - 1)) // max(1, len(zones))
    tallest = max((len(column.hsms) for column in zones), default=0)
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
    vpc_height = 170 + max(1, tallest) * (HSM_HEIGHT + HSM_GAP) + 16

    keys = [
        KmsKeyRow(
            key_id=key.key_id,
            aliases=inventory.aliases_of(key.key_id),
            state=key.state,
            spec=key.spec,
            origin=key.origin,
            store_id=key.custom_key_store_id,
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
    kms_height = (store_top + len(stores) * 56) - VPC_Y + 16
    height = VPC_Y + max(vpc_height, kms_height) + 24
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
        height=height,
        vpc_height=vpc_height,
        kms_height=kms_height,
    )


# --- audit log ----------------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 25


@dataclass(frozen=True)
class AuditFilters:
    service: str = ""  # "", "kms", "hsm"
    operation: str = ""
    result: str = ""  # "", "success", "failure" or an exact result code

    def as_query(self) -> str:
        return urlencode({k: v for k, v in vars(self).items() if v})


def audit_events(*, account: SandboxAccount, filters: AuditFilters) -> QuerySet[SandboxEvent]:
    events = SandboxEvent.objects.filter(account=account)
    if filters.service:
        events = events.filter(log=filters.service)
    if filters.operation:
        events = events.filter(operation=filters.operation)
    if filters.result == "success":
        events = events.filter(succeeded=True)
    elif filters.result == "failure":
        events = events.filter(succeeded=False)
    elif filters.result:
        events = events.filter(result=filters.result)
    return events.order_by("-id")


def audit_page(*, account: SandboxAccount, filters: AuditFilters, page: Any) -> Page[SandboxEvent]:
    return Paginator(audit_events(account=account, filters=filters), AUDIT_PAGE_SIZE).get_page(page)


def audit_choices(*, account: SandboxAccount) -> tuple[list[str], list[str]]:
    """Distinct operations and result codes seen in this account, for the filter menus."""
    events = SandboxEvent.objects.filter(account=account)
    operations = sorted(set(events.values_list("operation", flat=True)))
    results = sorted(set(events.values_list("result", flat=True)))
    return operations, results


# --- small reads --------------------------------------------------------------------------------


def access_keys_of(*, account: SandboxAccount) -> QuerySet[SandboxAccessKey]:
    return account.access_keys.order_by("-status", "-created_at", "-id")


def files_of(*, account: SandboxAccount) -> QuerySet[SandboxFile]:
    return account.files.defer("content").order_by("name")


def console_transcript(*, account: SandboxAccount, limit: int = 30) -> list[Any]:
    entries = list(account.console_entries.order_by("-id")[:limit])
    entries.reverse()
    return entries


def console_history(*, account: SandboxAccount, limit: int = 100) -> list[str]:
    commands = list(account.console_entries.order_by("-id").values_list("command", flat=True))
    commands = commands[:limit]
    commands.reverse()
    return commands
