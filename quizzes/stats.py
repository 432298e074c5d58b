"""Item statistics for authors: pure functions over plain rows (no database).

Definitions (classical test theory, as in Moodle's question statistics):

* **Attempts**: review answers (voided ones excluded) plus items of *finished* mock exams,
  blank exam items included (a blank scores 0).
* **Facility index**: the mean score of those attempts, 0..1 (1 = everyone gets it right).
  Scores are all-or-nothing (``correct``), as on the real exams.
* **Discrimination index**: computed from mock exams only, as the *corrected item–total
  correlation*: the Pearson (point-biserial) correlation between the item score and the
  candidate's score on the **rest** of the same exam (the exam's proportion correct without
  this item, so one item cannot correlate with itself). This is the index Moodle reports;
  the upper/lower 27% method is not used because mock exams here are small, and the
  correlation uses every attempt instead of discarding the middle 46%. Values above about
  0.3 discriminate well; a negative value means stronger candidates get the item wrong more
  often than weaker ones (often a wrong key or an ambiguous prompt) and is flagged.
* **Option picks**: how often each option was chosen, per revision (option indexes only mean
  something within one revision). Answer shapes are those of ``quizzes.grading``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .grading import answer_is_blank

__all__ = [
    "MIN_ANSWERS_FOR_DISTRACTOR_FLAG",
    "MIN_EXAMS_FOR_DISCRIMINATION",
    "ExamTotal",
    "ItemStats",
    "Pick",
    "PickGroup",
    "Response",
    "discrimination_index",
    "facility_index",
    "item_stats",
    "option_picks",
    "pearson",
]

#: Fewer answers than this and "nobody picked this distractor" is just chance.
MIN_ANSWERS_FOR_DISTRACTOR_FLAG = 5
#: A correlation over fewer exams than this is not reported.
MIN_EXAMS_FOR_DISCRIMINATION = 3


@dataclass(frozen=True)
class Response:
    """One attempt at a question: a review answer or a mock-exam item."""

    revision: int  # the revision number it was answered on
    correct: bool
    answer: Any  # in the answer shape of the question type; None when blank
    exam: int | None = None  # the exam's id for mock-exam items, None for reviews


@dataclass(frozen=True)
class ExamTotal:
    """A finished exam's score over all its items (this item included)."""

    correct: int
    items: int


@dataclass(frozen=True)
class Pick:
    label: str
    correct: bool
    count: int
    share: float  # of the answered (non-blank) attempts


@dataclass(frozen=True)
class PickGroup:
    """Picks for one thing the learner answers: the whole question (choice types), one pair's
    keyword (match) or one step (order)."""

    label: str
    picks: tuple[Pick, ...]


@dataclass(frozen=True)
class ItemStats:
    attempts: int
    answered: int
    facility: float | None
    discrimination: float | None
    exam_attempts: int
    groups: tuple[PickGroup, ...] = ()
    flags: tuple[str, ...] = field(default=())


def facility_index(scores: Sequence[float]) -> float | None:
    """Mean score (0..1); ``None`` without attempts."""
    if not scores:
        return None
    return sum(scores) / len(scores)


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson correlation; ``None`` when undefined (fewer than two points, no variance)."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys must have the same length")
    n = len(xs)
    if n < 2:
        return None
    mean_x = sum(xs) / n
    mean_y = sum(ys) / n
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mean_x) ** 2 for x in xs)
    syy = sum((y - mean_y) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def discrimination_index(
    responses: Iterable[Response], exam_totals: Mapping[int, ExamTotal]
) -> tuple[float | None, int]:
    """Item–rest correlation over mock-exam attempts; returns ``(index, exams used)``.

    An exam with only this item has no "rest" and is skipped.
    """
    item_scores: list[float] = []
    rest_scores: list[float] = []
    for response in responses:
        if response.exam is None:
            continue
        total = exam_totals.get(response.exam)
        if total is None or total.items < 2:
            continue
        score = 1.0 if response.correct else 0.0
        item_scores.append(score)
        rest_scores.append((total.correct - score) / (total.items - 1))
    used = len(item_scores)
    if used < MIN_EXAMS_FOR_DISCRIMINATION:
        return None, used
    return pearson(item_scores, rest_scores), used


def option_picks(data: Mapping[str, Any], answers: Iterable[Any]) -> tuple[PickGroup, ...]:
    """How often each option (or pairing, or step position) was chosen.

    ``data`` is the revision's native shape; ``answers`` are non-blank answers to it.
    Malformed answers are ignored rather than counted against any option.
    """
    answers = list(answers)
    qtype = data.get("type")
    if qtype in ("single", "multiple"):
        return (_choice_picks(data, answers),)
    if qtype == "truefalse":
        return (_truefalse_picks(data, answers),)
    if qtype == "match":
        return _match_picks(data, answers)
    if qtype == "order":
        return _order_picks(data, answers)
    return ()


def item_stats(
    *,
    data: Mapping[str, Any],
    responses: Sequence[Response],
    exam_totals: Mapping[int, ExamTotal],
    with_picks: bool = True,
) -> ItemStats:
    """Everything the authoring screen shows for one question (or one revision).

    Option picks need a single revision's ``data``: pass ``with_picks=False`` when
    ``responses`` span several revisions.
    """
    scores = [1.0 if r.correct else 0.0 for r in responses]
    answered = [r.answer for r in responses if not _blank(data, r.answer)]
    discrimination, exams = discrimination_index(responses, exam_totals)
    groups = option_picks(data, answered) if with_picks else ()
    flags: list[str] = []
    if discrimination is not None and discrimination < 0:
        flags.append(
            f"Negative discrimination ({discrimination:.2f}): candidates who did well on the "
            "rest of the exam got this wrong more often. Check the key and the wording."
        )
    choice = with_picks and data.get("type") in ("single", "multiple")
    if choice and len(answered) >= MIN_ANSWERS_FOR_DISTRACTOR_FLAG:
        for number, pick in enumerate(groups[0].picks, start=1):
            if not pick.correct and pick.count == 0:
                flags.append(
                    f"Distractor {number} (“{_short(pick.label)}”) was never picked in "
                    f"{len(answered)} answers: make it more plausible or replace it."
                )
    return ItemStats(
        attempts=len(responses),
        answered=len(answered),
        facility=facility_index(scores),
        discrimination=discrimination,
        exam_attempts=exams,
        groups=groups,
        flags=tuple(flags),
    )


# --- per type ----------------------------------------------------------------------


def _blank(data: Mapping[str, Any], answer: Any) -> bool:
    if answer is None:
        return True
    try:
        return answer_is_blank(data, answer)
    except (KeyError, TypeError):
        return False


def _as_index(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _group(label: str, rows: list[tuple[str, bool, int]], answered: int) -> PickGroup:
    return PickGroup(
        label=label,
        picks=tuple(
            Pick(
                label=text,
                correct=correct,
                count=count,
                share=count / answered if answered else 0.0,
            )
            for text, correct, count in rows
        ),
    )


def _choice_picks(data: Mapping[str, Any], answers: list[Any]) -> PickGroup:
    options = list(data.get("options") or [])
    counts: Counter[int] = Counter()
    for answer in answers:
        chosen = [answer] if data.get("type") == "single" else _list(answer)
        for value in {_as_index(v) for v in chosen}:
            if value is not None and 0 <= value < len(options):
                counts[value] += 1
    rows = [
        (str(option.get("text", "")), bool(option.get("correct")), counts[i])
        for i, option in enumerate(options)
    ]
    return _group("", rows, len(answers))


def _truefalse_picks(data: Mapping[str, Any], answers: list[Any]) -> PickGroup:
    right = bool(data.get("answer"))
    counts = Counter(answer for answer in answers if isinstance(answer, bool))
    rows = [("True", right is True, counts[True]), ("False", right is False, counts[False])]
    return _group("", rows, len(answers))


def _match_picks(data: Mapping[str, Any], answers: list[Any]) -> tuple[PickGroup, ...]:
    pairs = list(data.get("pairs") or [])
    groups = []
    for i, pair in enumerate(pairs):
        counts: Counter[str] = Counter()
        for answer in answers:
            chosen = _list(answer)
            if i < len(chosen) and isinstance(chosen[i], str):
                counts[chosen[i]] += 1
        right = str(pair.get("right", ""))
        rows = [(right, True, counts.pop(right, 0))]
        rows += [(text, False, n) for text, n in sorted(counts.items(), key=lambda kv: -kv[1])]
        groups.append(_group(str(pair.get("left", "")), rows, len(answers)))
    return tuple(groups)


def _order_picks(data: Mapping[str, Any], answers: list[Any]) -> tuple[PickGroup, ...]:
    steps = list(data.get("steps") or [])
    groups = []
    for i, step in enumerate(steps):
        counts: Counter[int] = Counter()
        for answer in answers:
            chosen = _list(answer)
            position = _as_index(chosen[i]) if i < len(chosen) else None
            if position is not None:
                counts[position] += 1
        rows = [(f"position {i + 1}", True, counts.pop(i + 1, 0))]
        rows += [(f"position {p}", False, n) for p, n in sorted(counts.items())]
        groups.append(_group(str(step), rows, len(answers)))
    return tuple(groups)


def _list(answer: Any) -> list[Any]:
    if isinstance(answer, list | tuple):
        return list(answer)
    return []


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
