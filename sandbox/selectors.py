"""Reads: the architecture view, the audit log, access keys, files and lab state.

The architecture and the graders read the engine's typed :class:`Inventory` (see
``SandboxEngine.inventory``) after the engine applied what the simulated clock made due; they
never call audited operations, so looking at the sandbox does not write CloudTrail events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from .engine import Inventory, SandboxEngine
from .models import SandboxAccessKey, SandboxAccount, SandboxEvent, SandboxFile
from .services import sandbox_call

JSON = dict[str, Any]

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


def newest_root_access_key_id(*, account: SandboxAccount) -> str | None:
    """The id of the account root's newest active access key (the secret stays hidden)."""
    return (
        account.access_keys.filter(user_name="root", status=SandboxAccessKey.Status.ACTIVE)
        .order_by("-created_at")
        .values_list("access_key_id", flat=True)
        .first()
    )


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
