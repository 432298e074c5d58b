"""Reads for review, drills, exams and the dashboard.

A learner has a card for every question of the banks they study (new ones in state NEW,
created by ``services_review.review_cards_sync``), so the review queue is read from two
partial indexes of ``Card`` and stops after ``limit`` rows, whatever the size of the deck or
the bank (``benchmarks/review_bench.py`` measures it):

* ``card_due_queue`` on ``(user, suspended, due, bank, question) WHERE state > NEW``: seen
  cards, most overdue first (:func:`cards_due_for`);
* ``card_new_queue`` on ``(user, suspended, bank, question) WHERE state = NEW``: new cards
  in the order their questions were added (:func:`new_cards_for`).

Counts shown to the learner are capped the same way.

The review page and every answer read the queue and the learner's banks through the
hand-written SQL of :mod:`.sql` (the reason is stated there), with the same conditions as
the ORM reads here. Everything in this module only reads.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count, QuerySet

from accounts.models import Profile
from accounts.sql import fetch_one

from . import sql
from .models import (
    Card,
    ExamItem,
    KeywordAttempt,
    KeywordDrill,
    Question,
    ReviewLog,
)
from .sql import DUE_COUNT_CAP

#: Counts of due cards stop here ("1000+"), so the review page stays fast for huge decks.
GENERAL_TOPIC = "general"


# --- what a learner studies ------------------------------------------------------------


def study_banks_for(*, user: User) -> dict[int, int]:
    """Bank id → ``question_serial`` of the banks the learner studies, in title order.

    The published banks the learner chose; the default banks when they chose none. One
    query either way.
    """
    with connection.cursor() as cursor:
        cursor.execute(sql.study_banks_sql(), [True, user.pk, True, user.pk, True])
        return dict(cursor.fetchall())


def study_bank_ids_for(*, user: User) -> list[int]:
    """Published banks the learner chose; the default banks when they chose none."""
    return list(study_banks_for(user=user))


def study_questions_for(*, user: User, bank_ids: list[int] | None = None) -> QuerySet[Question]:
    """Published, non-archived questions of the learner's banks."""
    if bank_ids is None:
        bank_ids = study_bank_ids_for(user=user)
    return Question.objects.filter(
        bank_id__in=bank_ids,
        status=Question.Status.PUBLISHED,
        is_archived=False,
        current_revision__isnull=False,
    )


def is_studied(question: Question, bank_ids: Iterable[int]) -> bool:
    """Whether ``question`` is one :func:`study_questions_for` would list (no query)."""
    return (
        question.bank_id in bank_ids
        and question.status == Question.Status.PUBLISHED
        and not question.is_archived
        and question.current_revision_id is not None
    )


def studied_cards(*, user: User, bank_ids: list[int]) -> QuerySet[Card]:
    """The learner's seen cards of studied questions (the ``card_due_queue`` index)."""
    return _live_cards(user, bank_ids).filter(state__gt=Card.State.NEW)


def _live_cards(user: User, bank_ids: list[int]) -> QuerySet[Card]:
    """The learner's unsuspended cards of published, unarchived questions in ``bank_ids``."""
    return Card.objects.filter(
        user=user,
        suspended=False,
        bank_id__in=bank_ids,
        question__status=Question.Status.PUBLISHED,
        question__is_archived=False,
        question__current_revision__isnull=False,
    )


def cards_due_for(
    *, user: User, now: dt.datetime, limit: int = 20, bank_ids: list[int] | None = None
) -> list[Card]:
    """The learner's due (already seen) cards, most overdue first."""
    if bank_ids is None:
        bank_ids = study_bank_ids_for(user=user)
    return list(
        studied_cards(user=user, bank_ids=bank_ids)
        .filter(due__lte=now)
        .select_related("question__current_revision")
        .order_by("due", "id")[:limit]
    )


def due_count_for(
    *, user: User, until: dt.datetime, bank_ids: list[int], cap: int = DUE_COUNT_CAP
) -> int:
    """How many seen cards are due by ``until``, counting at most ``cap`` + 1."""
    return (
        studied_cards(user=user, bank_ids=bank_ids)
        .filter(due__lte=until)
        .order_by("due")[: cap + 1]
        .count()
    )


def new_cards_for(*, user: User, bank_ids: list[int], limit: int) -> list[int]:
    """Ids of the learner's NEW cards of studied questions, in the order questions were added.

    Read from the ``card_new_queue`` index in (bank, question) order (question ids follow
    the order questions were added in), stopping after ``limit`` rows. Needs the learner's
    cards synced (``services_review.review_cards_sync``).
    """
    if limit <= 0 or not bank_ids:
        return []
    return list(
        _live_cards(user, bank_ids)
        .filter(state=Card.State.NEW)
        .order_by("bank_id", "question_id")
        .values_list("id", flat=True)[:limit]
    )


def local_day_start(now: dt.datetime, time_zone: str) -> dt.datetime:
    local = now.astimezone(ZoneInfo(time_zone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def time_zone_for(user: User) -> str:
    profile = Profile.objects.filter(user=user).only("time_zone").first()
    return profile.time_zone if profile else "UTC"


def review_logs(user: User) -> QuerySet[ReviewLog]:
    """Ordinary review answers: exam answers and contrast drills are not reviews."""
    return ReviewLog.objects.filter(
        user=user, source=ReviewLog.Source.REVIEW, voided_at__isnull=True
    )


@dataclass(frozen=True)
class ReviewQueue:
    card: Card | None
    question: Question | None
    due_count: int
    new_count: int
    done_today: int

    @property
    def remaining(self) -> int:
        return self.due_count + self.new_count

    @property
    def remaining_capped(self) -> bool:
        return self.due_count > DUE_COUNT_CAP

    @property
    def progress_max(self) -> int:
        return self.done_today + min(self.remaining, DUE_COUNT_CAP)

    @property
    def is_new(self) -> bool:
        return self.card is None or self.card.state == Card.State.NEW


def review_queue_for(
    *,
    user: User,
    now: dt.datetime,
    new_cards_per_day: int,
    pick: bool = True,
    banks: Mapping[int, int] | None = None,
    time_zone: str | None = None,
) -> ReviewQueue:
    """The next question to show and the counts around it.

    Due reviews come first (most overdue first), then new questions up to today's limit,
    like Anki's "show new cards after reviews". With ``pick=False`` only the counts are read
    (the feedback after an answer shows them). ``banks`` (:func:`study_banks_for`) and
    ``time_zone`` save their look-ups when the caller has them. One query for the counts, one
    for the card to show. Only reads: ``services_review.review_queue_refresh`` first gives
    the learner cards for questions added to their banks.
    """
    if banks is None:
        banks = study_banks_for(user=user)
    bank_ids = list(banks)
    day_start = local_day_start(now, time_zone or time_zone_for(user))
    adapt = connection.ops.adapt_datetimefield_value
    cards = [user.pk, False, *bank_ids, *bank_ids]
    due = [*cards, adapt(now)]
    new = [*cards, max(new_cards_per_day, 0), *cards]
    logs = [user.pk, adapt(day_start)]
    row = fetch_one(
        sql.queue_sql(connection.vendor, len(bank_ids)), [*due, *due, *new, *logs, *logs, True]
    )
    assert row is not None  # an aggregate row always comes back
    due_count, due_id, new_available, new_id, done_today, introduced = row
    new_count = min(new_available, max(0, new_cards_per_day - introduced))
    card = None
    if pick and (due_id or (new_id and new_count)):
        card = sql.queue_card(due_id or new_id)
    return ReviewQueue(
        card=card,
        question=card.question if card else None,
        due_count=due_count,
        new_count=new_count,
        done_today=done_today,
    )


# --- keyword drill ---------------------------------------------------------------------


class DrillLike(Protocol):
    pk: Any
    answer: str
    topics: Any


@dataclass(frozen=True)
class PastAttempt:
    drill_id: int
    chosen: str
    correct: bool


#: Each older attempt counts this much less than the one after it.
MISTAKE_DECAY = 0.93


def drill_weights(
    attempts: Sequence[PastAttempt],
) -> tuple[dict[int, float], dict[int, Counter[str]]]:
    """Recent-mistake weight per item, and for each item the answers it was confused with.

    ``attempts`` are newest first. A mistake counts ``MISTAKE_DECAY ** age``; a later right
    answer pays back half as much, so an item fades out of the round once it is known.
    """
    weights: dict[int, float] = defaultdict(float)
    confused: dict[int, Counter[str]] = defaultdict(Counter)
    for age, attempt in enumerate(attempts):
        factor = MISTAKE_DECAY**age
        if attempt.correct:
            weights[attempt.drill_id] -= 0.5 * factor
        else:
            weights[attempt.drill_id] += factor
            confused[attempt.drill_id][attempt.chosen] += 1
    return {key: value for key, value in weights.items() if value > 0}, confused


def drill_round_pick(
    items: Sequence[DrillLike],
    attempts: Sequence[PastAttempt],
    *,
    size: int,
    rng: random.Random,
) -> list[DrillLike]:
    """A round of keyword items that interleaves what this learner confuses.

    Up to half the round goes to the items with the heaviest recent mistakes, each followed
    by a *contrast item*: one whose right answer is the answer the learner wrongly gave
    (sharing a topic when possible). The rest is a weighted sample: recent mistakes weigh
    more, never-seen items a little more.
    """
    if not items:
        return []
    by_id = {item.pk: item for item in items}
    weights, confused = drill_weights(attempts)
    seen = {attempt.drill_id for attempt in attempts}
    picked: list[DrillLike] = []
    used: set[Any] = set()

    def take(item: DrillLike) -> None:
        picked.append(item)
        used.add(item.pk)

    troubles = sorted((pk for pk in weights if pk in by_id), key=lambda pk: (-weights[pk], pk))[
        : max(1, size // 2)
    ]
    for pk in troubles:
        if len(picked) >= size:
            break
        item = by_id[pk]
        take(item)
        wrong_answer = confused[pk].most_common(1)[0][0] if confused[pk] else ""
        contrast = _contrast_item(item, wrong_answer, items, used, rng)
        if contrast is not None and len(picked) < size:
            take(contrast)

    rest = [item for item in items if item.pk not in used]
    rest_weights = [
        1.0 + 3.0 * weights.get(item.pk, 0.0) + (0.5 if item.pk not in seen else 0.0)
        for item in rest
    ]
    while rest and len(picked) < size:
        (chosen,) = rng.choices(range(len(rest)), weights=rest_weights)
        take(rest.pop(chosen))
        rest_weights.pop(chosen)
    return picked


def _contrast_item(
    item: DrillLike,
    wrong_answer: str,
    items: Sequence[DrillLike],
    used: set[Any],
    rng: random.Random,
) -> DrillLike | None:
    candidates = [other for other in items if other.answer == wrong_answer and other.pk not in used]
    if not candidates:
        return None
    topics = set(item.topics or [])
    shared = [other for other in candidates if topics & set(other.topics or [])]
    chosen: DrillLike = rng.choice(shared or candidates)
    return chosen


def drill_round_for(*, user: User, size: int = 10, rng: random.Random | None = None) -> list[Any]:
    rng = rng or random.Random()
    items = list(KeywordDrill.objects.all())
    attempts = [
        PastAttempt(drill_id=row["drill_id"], chosen=row["chosen"], correct=row["correct"])
        for row in KeywordAttempt.objects.filter(user=user)
        .order_by("-created_at", "-id")
        .values("drill_id", "chosen", "correct")[:300]
    ]
    return drill_round_pick(items, attempts, size=size, rng=rng)


def confusions_for(*, user: User, limit: int = 5) -> list[dict[str, Any]]:
    """The learner's most frequent (right answer → wrong answer) mix-ups."""
    rows = (
        KeywordAttempt.objects.filter(user=user, correct=False)
        .values("drill__answer", "chosen")
        .annotate(times=Count("id"))
        .order_by("-times", "drill__answer", "chosen")[:limit]
    )
    labels = dict(KeywordDrill.Answer.choices)
    return [
        {
            "right": labels.get(row["drill__answer"], row["drill__answer"]),
            "chosen": labels.get(row["chosen"], row["chosen"]),
            "times": row["times"],
        }
        for row in rows
    ]


def leech_contrast_drills(*, question: Question, limit: int = 4) -> list[KeywordDrill]:
    """Keyword items that contrast the leech question's deciding keyword with its neighbours.

    Items whose keyword appears in the question come first, then items sharing its topics;
    the set mixes different right answers, so the learner has to tell them apart.
    """
    data = question.current_revision.data if question.current_revision else {}
    text = f"{data.get('prompt', '')} {data.get('keyword', '')}".lower()
    topics = set(question.topics or [])
    scored = []
    for drill in KeywordDrill.objects.all():
        score = (3 if drill.keyword.lower() in text else 0) + len(topics & set(drill.topics))
        if score:
            scored.append((score, drill))
    scored.sort(key=lambda pair: (-pair[0], pair[1].keyword))
    picked: list[KeywordDrill] = []
    answers: set[str] = set()
    # First pass: one item per distinct answer, so the drill is a contrast; then fill up.
    for _, drill in scored:
        if drill.answer not in answers and len(picked) < limit:
            picked.append(drill)
            answers.add(drill.answer)
    for _, drill in scored:
        if drill not in picked and len(picked) < limit:
            picked.append(drill)
    return picked


# --- exams -----------------------------------------------------------------------------


def exams_for(*, user: User) -> QuerySet[Any]:
    return user.exams.annotate(questions=Count("items")).order_by("-started_at")


exam_navigator_rows = sql.exam_navigator_rows


def exam_item_for(*, user: User, exam_id: int, position: int) -> ExamItem | None:
    """The item at ``position`` of the learner's own exam (anyone else's: None), with its
    exam and revision attached: one read."""
    return sql.exam_item(exam_id=exam_id, user_id=user.pk, position=position)


def primary_topic(topics: Iterable[str] | None) -> str:
    topics = list(topics or [])
    return topics[0] if topics else GENERAL_TOPIC


def percent(value: float | None) -> int | None:
    return None if value is None else math.floor(value * 100 + 0.5)
