"""Grading: pure functions on a revision's ``data`` (the native YAML shape) and an answer.

Answer shapes, one per question type (the same in review logs and exam items):

=========== ===================================================================
single      ``int``: the index of the chosen option (in the revision's order)
multiple    ``list[int]``: the chosen option indexes, sorted
truefalse   ``bool``
match       ``list[str | None]``: for pair *i* (revision order) the right-hand
            side the learner picked, ``None`` when left blank
order       ``list[int | None]``: for step *i* (revision order) the position
            (1-based) the learner gave it, ``None`` when left blank
=========== ===================================================================

Whether an answer is *correct* is all-or-nothing, as on the real exams: a match is correct
only when every pair is right, an ordering only when every step is in place, a multiple
response only when exactly the right options are chosen. ``credit`` (0..1) records partial
credit for the exam breakdowns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Grade", "answer_is_blank", "correct_answer", "grade", "match_choices"]


@dataclass(frozen=True)
class Grade:
    """The result of grading one answer.

    ``items`` holds one boolean per option (single/multiple: whether the option was handled
    right, i.e. chosen exactly when correct), per pair (match), per step (order), or a single
    entry (true/false).
    """

    correct: bool
    credit: float
    items: tuple[bool, ...] = ()


def _options(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(data.get("options") or [])


def correct_answer(data: Mapping[str, Any]) -> Any:
    """The right answer, in the answer shape of the question's type."""
    qtype = data["type"]
    if qtype == "single":
        return next(i for i, option in enumerate(_options(data)) if option.get("correct"))
    if qtype == "multiple":
        return [i for i, option in enumerate(_options(data)) if option.get("correct")]
    if qtype == "truefalse":
        return bool(data.get("answer"))
    if qtype == "match":
        return [pair["right"] for pair in data.get("pairs") or []]
    if qtype == "order":
        return list(range(1, len(data.get("steps") or []) + 1))
    raise ValueError(f"unknown question type {qtype!r}")


def match_choices(data: Mapping[str, Any]) -> list[str]:
    """The distinct right-hand sides of a match question, sorted (the learner's choices)."""
    return sorted({pair["right"] for pair in data.get("pairs") or []})


def answer_is_blank(data: Mapping[str, Any], answer: Any) -> bool:
    """True when the learner gave nothing at all (an unanswered exam item)."""
    if answer is None:
        return True
    if data["type"] in ("multiple", "match", "order"):
        return not any(value is not None for value in answer)
    return False


def grade(data: Mapping[str, Any], answer: Any) -> Grade:
    """Grade ``answer`` against the question ``data``; a blank or malformed answer scores 0."""
    qtype = data["type"]
    if qtype == "single":
        return _grade_single(data, answer)
    if qtype == "multiple":
        return _grade_multiple(data, answer)
    if qtype == "truefalse":
        right = isinstance(answer, bool) and answer == bool(data.get("answer"))
        return Grade(correct=right, credit=1.0 if right else 0.0, items=(right,))
    if qtype == "match":
        return _grade_match(data, answer)
    if qtype == "order":
        return _grade_order(data, answer)
    raise ValueError(f"unknown question type {qtype!r}")


def _grade_single(data: Mapping[str, Any], answer: Any) -> Grade:
    options = _options(data)
    chosen = answer if isinstance(answer, int) and not isinstance(answer, bool) else None
    items = tuple(bool(option.get("correct")) == (i == chosen) for i, option in enumerate(options))
    right = chosen is not None and 0 <= chosen < len(options) and options[chosen].get("correct")
    return Grade(correct=bool(right), credit=1.0 if right else 0.0, items=items)


def _grade_multiple(data: Mapping[str, Any], answer: Any) -> Grade:
    options = _options(data)
    chosen = set(_int_list(answer))
    expected = {i for i, option in enumerate(options) if option.get("correct")}
    items = tuple((i in chosen) == (i in expected) for i in range(len(options)))
    right = chosen == expected
    # Partial credit: correct picks minus wrong picks, over the number of correct options.
    hits = len(chosen & expected)
    misses = len(chosen - expected)
    credit = max(0.0, (hits - misses) / len(expected)) if expected else 0.0
    return Grade(correct=right, credit=1.0 if right else credit, items=items)


def _grade_match(data: Mapping[str, Any], answer: Any) -> Grade:
    pairs = list(data.get("pairs") or [])
    chosen = list(answer) if isinstance(answer, Sequence) and not isinstance(answer, str) else []
    chosen += [None] * (len(pairs) - len(chosen))
    items = tuple(chosen[i] == pair["right"] for i, pair in enumerate(pairs))
    return _from_items(items)


def _grade_order(data: Mapping[str, Any], answer: Any) -> Grade:
    steps = list(data.get("steps") or [])
    chosen = list(answer) if isinstance(answer, Sequence) and not isinstance(answer, str) else []
    chosen += [None] * (len(steps) - len(chosen))
    items = tuple(chosen[i] == i + 1 for i in range(len(steps)))
    return _from_items(items)


def _from_items(items: tuple[bool, ...]) -> Grade:
    if not items:
        return Grade(correct=False, credit=0.0, items=items)
    return Grade(correct=all(items), credit=sum(items) / len(items), items=items)


def _int_list(answer: Any) -> list[int]:
    if not isinstance(answer, Sequence) or isinstance(answer, str):
        return []
    return [value for value in answer if isinstance(value, int) and not isinstance(value, bool)]
