"""What a guided lab is, and the state its grader inspects.

A grader never reads what the learner typed. It reads the engine's records (keys, aliases,
grants, clusters, HSMs, users, HSM keys) and the two audit logs, the way an auditor would
read CloudTrail and the HSM audit log, and answers, step by step, whether the evidence is
there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

from content.markdown import render_inline, render_markdown

from ..engine import Inventory
from ..selectors import EngineSnapshot

JSON = dict[str, Any]


Operations = str | Iterable[str] | None  # one operation name, several, or all


class EventFilters(TypedDict, total=False):
    result: str | None  # "ok", "Success" or an error code
    principal: str | None
    after: int  # only events after this sequence number


@dataclass(frozen=True)
class Check:
    passed: bool
    detail: str = ""


def passed(detail: str = "") -> Check:
    return Check(True, detail)


def missing(detail: str) -> Check:
    return Check(False, detail)


@dataclass(frozen=True)
class Event:
    """One audit event with its position in the log (``seq`` grows with time)."""

    seq: int
    log: str
    data: JSON

    @property
    def operation(self) -> str:
        return str(self.data.get("operation") or "")

    @property
    def result(self) -> str:
        return str(self.data.get("result") or "")

    @property
    def ok(self) -> bool:
        return self.result.lower() in ("success", "ok")

    @property
    def principal(self) -> str:
        return str(self.data.get("principal") or "")

    @property
    def target(self) -> str:
        return str(self.data.get("target") or "")

    @property
    def detail(self) -> JSON:
        value = self.data.get("detail")
        return value if isinstance(value, dict) else {}

    @property
    def params(self) -> JSON:
        value = self.detail.get("requestParameters")
        return value if isinstance(value, dict) else {}

    @property
    def message(self) -> str:
        return str(self.detail.get("errorMessage") or "")


@dataclass
class LabState:
    """Everything a grader may look at, loaded once per check."""

    account_id: str
    region: str
    snapshot: EngineSnapshot
    events: list[Event]
    files: dict[str, str]  # name -> sha256
    packages: dict[str, JSON]  # envelope packages (lab 2) by file name
    clock_offset_seconds: int
    # Uploaded signed files (lab 9): name -> (content, content of "<name>.sig").
    signatures: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)

    @property
    def root_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:root"

    @property
    def analyst_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:user/analyst"

    def key_arn(self, key_id: str) -> str:
        return f"arn:aws:kms:{self.region}:{self.account_id}:key/{key_id}"

    @property
    def inventory(self) -> Inventory:
        return self.snapshot.inventory

    def kms(self, operation: Operations = None, **filters: Unpack[EventFilters]) -> list[Event]:
        """CloudTrail-like KMS events, oldest first (``after``: a sequence number)."""
        return self._select("kms", operation, **filters)

    def hsm(self, operation: Operations = None, **filters: Unpack[EventFilters]) -> list[Event]:
        """HSM audit events, oldest first."""
        return self._select("hsm", operation, **filters)

    def _select(
        self,
        log: str,
        operation: Operations,
        *,
        result: str | None = None,
        principal: str | None = None,
        after: int = -1,
    ) -> list[Event]:
        names = {operation} if isinstance(operation, str) else set(operation or ())
        found = []
        for event in self.events:
            if event.log != log or event.seq <= after:
                continue
            if names and event.operation not in names:
                continue
            if result == "ok" and not event.ok:
                continue
            if result not in (None, "ok") and event.result != result:
                continue
            if principal is not None and event.principal != principal:
                continue
            found.append(event)
        return found


@dataclass(frozen=True)
class Step:
    slug: str
    title: str
    instructions: str  # Markdown
    hint: str  # Markdown
    check: Callable[[LabState], Check]

    @functools.cached_property
    def instructions_html(self) -> str:
        return render_markdown(self.instructions).html

    @functools.cached_property
    def hint_html(self) -> str:
        return render_inline(self.hint)


@dataclass(frozen=True)
class Lab:
    number: int
    slug: str
    title: str
    service: str  # "KMS", "CloudHSM" or "KMS + CloudHSM"
    summary: str
    introduction: str  # Markdown
    steps: tuple[Step, ...]
    helpers: tuple[str, ...] = field(default_factory=tuple)  # helper panels on the lab page
    exam_tip: str = ""
    appendix: str = ""  # Markdown shown after the steps (examples for your own code)

    @functools.cached_property
    def introduction_html(self) -> str:
        return render_markdown(self.introduction).html

    @functools.cached_property
    def appendix_html(self) -> str:
        return render_markdown(self.appendix).html if self.appendix else ""

    @functools.cached_property
    def exam_tip_html(self) -> str:
        return render_inline(self.exam_tip) if self.exam_tip else ""


@dataclass(frozen=True)
class StepResult:
    step: Step
    check: Check

    @property
    def passed(self) -> bool:
        return self.check.passed


@dataclass(frozen=True)
class Grade:
    lab: Lab
    results: tuple[StepResult, ...]

    @property
    def complete(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def passed_slugs(self) -> list[str]:
        return [result.step.slug for result in self.results if result.passed]

    @property
    def passed_count(self) -> int:
        return sum(1 for result in self.results if result.passed)


def grade(lab: Lab, state: LabState) -> Grade:
    results = []
    for step in lab.steps:
        try:
            check = step.check(state)
        except (KeyError, TypeError, ValueError, AttributeError):
            # Records a grader does not understand count as missing evidence, not a crash.
            check = missing("The sandbox state for this step could not be read.")
        results.append(StepResult(step, check))
    return Grade(lab, tuple(results))


# --- shared checks ------------------------------------------------------------------------------


def first(events: list[Event]) -> Event | None:
    return events[0] if events else None


def last(events: list[Event]) -> Event | None:
    return events[-1] if events else None


def key_id_of_target(target: str) -> str:
    """``arn:aws:kms:...:key/<id>`` -> ``<id>``."""
    return target.rsplit("/", 1)[-1] if "/" in target else target
