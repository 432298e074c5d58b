"""The guided labs and their graders.

``LABS`` lists them in order; ``lab_state`` loads what graders inspect; ``grade`` runs one
lab's checks. Graders are pure functions of a ``LabState``.
"""

from __future__ import annotations

import json
from typing import Any

from ..models import SandboxAccount, SandboxEvent, SandboxFile
from ..selectors import engine_snapshot
from .base import Check, Event, Grade, Lab, LabState, Step, StepResult, grade
from .client_lab import LAB9
from .hsm_integration_labs import LAB7, LAB8
from .hsm_labs import LAB5, LAB6
from .kms_labs import LAB1, LAB2, LAB3, LAB4, PACKAGE_SUFFIX
from .s3_lab import LAB10

__all__ = [
    "LABS",
    "PACKAGE_SUFFIX",
    "Check",
    "Grade",
    "Lab",
    "LabState",
    "Step",
    "StepResult",
    "grade",
    "lab_by_slug",
    "lab_state",
]

LABS: tuple[Lab, ...] = (LAB1, LAB2, LAB3, LAB4, LAB5, LAB6, LAB7, LAB8, LAB9, LAB10)
_BY_SLUG = {lab.slug: lab for lab in LABS}
MAX_PACKAGE_BYTES = 2 * 1024 * 1024


def lab_by_slug(slug: str) -> Lab | None:
    return _BY_SLUG.get(slug)


def _packages(account: SandboxAccount) -> dict[str, dict[str, Any]]:
    packages = {}
    rows = SandboxFile.objects.filter(
        account=account, name__endswith=PACKAGE_SUFFIX, size__lte=MAX_PACKAGE_BYTES
    ).values_list("name", "content")
    for name, content in rows:
        try:
            document = json.loads(bytes(content))
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(document, dict):
            packages[name] = document
    return packages


def _signatures(account: SandboxAccount) -> dict[str, tuple[bytes, bytes]]:
    rows = dict(
        SandboxFile.objects.filter(account=account, size__lte=MAX_PACKAGE_BYTES).values_list(
            "name", "content"
        )
    )
    return {
        name[: -len(".sig")]: (bytes(rows[name[: -len(".sig")]]), bytes(content))
        for name, content in rows.items()
        if name.endswith(".sig") and name[: -len(".sig")] in rows
    }


def lab_state(*, account: SandboxAccount) -> LabState:
    """Everything the graders may look at, read once (the clock's due work applied first)."""
    snapshot = engine_snapshot(account=account)
    events = [
        Event(seq=row_id, log=log, data=data)
        for row_id, log, data in SandboxEvent.objects.filter(account=account)
        .order_by("id")
        .values_list("id", "log", "data")
    ]
    files = dict(SandboxFile.objects.filter(account=account).values_list("name", "sha256"))
    return LabState(
        account_id=account.account_id,
        region=account.region,
        snapshot=snapshot,
        events=events,
        files=files,
        packages=_packages(account),
        clock_offset_seconds=account.clock_offset_seconds,
        signatures=_signatures(account),
    )
