"""Spaced-repetition glue around the ``fsrs`` package (FSRS-6). No Django imports.

The database keeps a card's memory state in plain columns (:class:`MemoryState` mirrors
them); this module turns an answer into an ``fsrs.Rating``, builds the learner's
``fsrs.Scheduler`` and computes the next state. Time is always passed in, so tests can
freeze it.

Exam-date awareness: when the learner has an exam date, no interval may run past the start
of that day (in the learner's time zone). The scheduler's ``maximum_interval`` is set to the
whole days left for that review, and the resulting due time is capped at the cutoff (FSRS
intervals are at least one day, which could otherwise overshoot on the eve of the exam).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import fsrs

__all__ = [
    "EASY_MAX_MS",
    "HARD_MIN_MS",
    "LEECH_THRESHOLD",
    "MemoryState",
    "exam_cutoff",
    "is_new_leech",
    "next_state",
    "parse_steps",
    "rating_for",
    "retrievability",
    "scheduler_for",
]

#: Answers faster than this (and not guessed) are rated Easy.
EASY_MAX_MS = 8_000
#: Right answers slower than this are rated Hard.
HARD_MIN_MS = 60_000
#: Lapses after which a card is flagged as a leech (Anki's default); again every 3 lapses more.
LEECH_THRESHOLD = 6
LEECH_REPEAT = 3
#: FSRS's own default: no cap.
NO_MAXIMUM_INTERVAL = 36_500

NEW, LEARNING, REVIEW, RELEARNING = 0, 1, 2, 3


@dataclass(frozen=True)
class MemoryState:
    """One learner's memory of one question, as stored on ``quizzes.Card``.

    ``state`` uses ``fsrs.State`` values, plus 0 for a card never answered yet.
    """

    state: int = NEW
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: dt.datetime | None = None
    last_review: dt.datetime | None = None
    reps: int = 0
    lapses: int = 0

    def to_fsrs(self, *, now: dt.datetime) -> fsrs.Card:
        if self.state == NEW:
            return fsrs.Card(card_id=0, state=fsrs.State.Learning, step=0, due=_utc(now))
        return fsrs.Card(
            card_id=0,
            state=fsrs.State(self.state),
            step=self.step,
            stability=self.stability,
            difficulty=self.difficulty,
            due=_utc(self.due or now),
            last_review=_utc(self.last_review) if self.last_review else None,
        )


def _utc(moment: dt.datetime) -> dt.datetime:
    # fsrs insists on tzinfo == datetime.timezone.utc (not zoneinfo's UTC).
    return moment.astimezone(dt.UTC)


def rating_for(*, correct: bool, guessed: bool, duration_ms: int) -> fsrs.Rating:
    """The rating an answer earns: a miss is always Again, never Hard."""
    if not correct:
        return fsrs.Rating.Again
    if guessed or duration_ms > HARD_MIN_MS:
        return fsrs.Rating.Hard
    if duration_ms < EASY_MAX_MS:
        return fsrs.Rating.Easy
    return fsrs.Rating.Good


def parse_steps(text: str) -> list[int]:
    """``"1m 10m 1h"`` → ``[1, 10, 60]`` (minutes). Raises ``ValueError`` on bad input."""
    units = {"m": 1, "h": 60, "d": 1440}
    minutes: list[int] = []
    for token in text.replace(",", " ").split():
        number, unit = token[:-1], token[-1].lower()
        if unit.isdigit():
            number, unit = token, "m"
        if unit not in units or not number.isdigit() or int(number) == 0:
            raise ValueError(
                f"“{token}” is not a step: use minutes, hours or days like 1m 10m 1h 1d"
            )
        minutes.append(int(number) * units[unit])
    if len(minutes) > 10:
        raise ValueError("Use at most 10 steps.")
    return minutes


def exam_cutoff(
    exam_date: dt.date | None, *, time_zone: str, now: dt.datetime
) -> dt.datetime | None:
    """The start of exam day in the learner's zone, or ``None`` when there is no future exam."""
    if exam_date is None:
        return None
    cutoff = dt.datetime.combine(exam_date, dt.time.min, tzinfo=ZoneInfo(time_zone))
    return cutoff.astimezone(dt.UTC) if cutoff > now else None


def scheduler_for(
    *,
    desired_retention: float,
    learning_steps_minutes: list[int],
    relearning_steps_minutes: list[int],
    now: dt.datetime,
    cutoff: dt.datetime | None = None,
    fuzz: bool = True,
) -> fsrs.Scheduler:
    """The learner's FSRS scheduler for a review made at ``now``."""
    maximum_interval = NO_MAXIMUM_INTERVAL
    if cutoff is not None:
        maximum_interval = max(1, (cutoff - now).days)
    return fsrs.Scheduler(
        desired_retention=desired_retention,
        learning_steps=[dt.timedelta(minutes=m) for m in learning_steps_minutes],
        relearning_steps=[dt.timedelta(minutes=m) for m in relearning_steps_minutes],
        maximum_interval=maximum_interval,
        enable_fuzzing=fuzz,
    )


def next_state(
    state: MemoryState,
    rating: fsrs.Rating,
    *,
    scheduler: fsrs.Scheduler,
    now: dt.datetime,
    cutoff: dt.datetime | None = None,
) -> MemoryState:
    """The memory state after answering with ``rating`` at ``now``."""
    card, _ = scheduler.review_card(state.to_fsrs(now=now), rating, review_datetime=_utc(now))
    due = card.due
    if cutoff is not None and due > cutoff:
        due = cutoff
    lapsed = state.state == REVIEW and rating == fsrs.Rating.Again
    return replace(
        state,
        state=int(card.state),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=due,
        last_review=card.last_review,
        reps=state.reps + 1,
        lapses=state.lapses + (1 if lapsed else 0),
    )


def retrievability(state: MemoryState, *, at: dt.datetime, scheduler: fsrs.Scheduler) -> float:
    """Predicted probability of recalling the card at ``at`` (0 for a card never answered)."""
    if state.state == NEW or state.stability is None or state.last_review is None:
        return 0.0
    return float(scheduler.get_card_retrievability(state.to_fsrs(now=at), _utc(at)))


def forgetting_curve(
    scheduler: fsrs.Scheduler,
) -> Callable[[float | None, dt.datetime | None, dt.datetime], float]:
    """``recall(stability, last_review, at)``: what :func:`retrievability` answers for a card
    with that stability and last review (fsrs's own formula and decay), without building an
    fsrs Card, for reads over every card of a learner."""
    decay = -scheduler.parameters[20]
    factor = 0.9 ** (1 / decay) - 1

    def recall(stability: float | None, last_review: dt.datetime | None, at: dt.datetime) -> float:
        if stability is None or last_review is None:
            return 0.0
        elapsed_days = max(0, (at - last_review).days)
        return float((1 + factor * elapsed_days / stability) ** decay)

    return recall


def is_new_leech(*, lapses_before: int, lapses_after: int) -> bool:
    """True when this answer's lapse makes the card a leech (at 6 lapses, then every 3)."""
    if lapses_after <= lapses_before or lapses_after < LEECH_THRESHOLD:
        return False
    return (lapses_after - LEECH_THRESHOLD) % LEECH_REPEAT == 0
