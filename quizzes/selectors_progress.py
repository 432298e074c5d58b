"""Reads for the dashboard: the review forecast, true retention, streak, time spent, mastery
per topic, memory state and leeches. Everything here only reads."""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import fsrs
from django.contrib.auth.models import User
from django.db import connection

from accounts.sql import fetch_one

from . import scheduling, sql
from .models import (
    Card,
)
from .selectors import (
    GENERAL_TOPIC,
    local_day_start,
    studied_cards,
    study_bank_ids_for,
)

#: Counts of due cards stop here ("1000+"), so the review page stays fast for huge decks.
FORECAST_DAYS = 14


def forecast_for(
    *,
    user: User,
    now: dt.datetime,
    time_zone: str,
    days: int = FORECAST_DAYS,
    bank_ids: list[int] | None = None,
) -> list[tuple[dt.date, int]]:
    """Cards due on each of the next ``days`` local days (today includes overdue ones)."""
    start = local_day_start(now, time_zone)
    bounds = [start + dt.timedelta(days=i + 1) for i in range(days)]
    counts = [0] * days
    # Bucketed here rather than grouped by local day in SQL: SQLite would call back into
    # Python for every card to convert time zones.
    for due in (
        studied_cards(
            user=user, bank_ids=study_bank_ids_for(user=user) if bank_ids is None else bank_ids
        )
        .filter(due__lt=bounds[-1])
        .values_list("due", flat=True)
    ):
        counts[bisect.bisect_right(bounds, due)] += 1  # today's includes the overdue cards
    today = start.date()
    return [(today + dt.timedelta(days=i), counts[i]) for i in range(days)]


@dataclass(frozen=True)
class Retention:
    correct: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.correct / self.total if self.total else None


@dataclass(frozen=True)
class LogTotals:
    """True retention (review-state answers that stand) and milliseconds spent answering."""

    retention: Retention
    retention_month: Retention
    ms_today: int
    ms_week: int
    ms_all: int


def log_totals_for(*, user: User, now: dt.datetime, time_zone: str) -> LogTotals:
    """Retention all time and over 30 days, time spent today, over 7 days and all time: one
    read of the learner's review log (voided answers, exams and drills excluded)."""
    start = local_day_start(now, time_zone)
    adapt = connection.ops.adapt_datetimefield_value
    month, review = adapt(now - dt.timedelta(days=30)), Card.State.REVIEW
    row = fetch_one(
        sql.log_totals_sql(connection.vendor),
        [review, review, True, review, month, review, month, True, adapt(start),
         adapt(start - dt.timedelta(days=6)), user.pk],
    )  # fmt: skip
    assert row is not None  # an aggregate row always comes back
    answered, right, month_answered, month_right, ms_today, ms_week, ms_all = row
    return LogTotals(
        retention=Retention(correct=right, total=answered),
        retention_month=Retention(correct=month_right, total=month_answered),
        ms_today=int(ms_today or 0),
        ms_week=int(ms_week or 0),
        ms_all=int(ms_all or 0),
    )


def streak_for(*, user: User, now: dt.datetime, time_zone: str) -> int:
    """Consecutive local days with at least one review, ending today (or yesterday)."""
    since = local_day_start(now, time_zone) - dt.timedelta(days=400)
    zone = ZoneInfo(time_zone)
    # Local days converted here, for the same reason as in forecast_for.
    days = {moment.astimezone(zone).date() for moment in sql.review_times(user.pk, since)}
    day = now.astimezone(ZoneInfo(time_zone)).date()
    if day not in days:
        day -= dt.timedelta(days=1)
    streak = 0
    while day in days:
        streak += 1
        day -= dt.timedelta(days=1)
    return streak


@dataclass
class TopicMastery:
    topic: str
    questions: int = 0
    seen: int = 0
    mature: int = 0
    recall_now_total: float = 0.0
    recall_exam_total: float = 0.0
    lapses: int = 0

    @property
    def label(self) -> str:
        return topic_label(self.topic)

    @property
    def recall_now(self) -> float:
        return self.recall_now_total / self.questions if self.questions else 0.0

    @property
    def recall_exam(self) -> float:
        return self.recall_exam_total / self.questions if self.questions else 0.0

    @property
    def seen_share(self) -> float:
        return self.seen / self.questions if self.questions else 0.0


TOPIC_LABELS = {
    "backups-ha": "Backups and high availability",
    "multi-region": "Multi-Region keys",
    "key-policies": "Key policies, IAM and grants",
    "cloudhsm-keys": "CloudHSM keys and attributes",
    "cloudhsm-users": "CloudHSM users, quorum and lockout",
    "fips": "FIPS 140 levels",
}


def topic_label(topic: str) -> str:
    if topic in TOPIC_LABELS:
        return TOPIC_LABELS[topic]
    special = {"kms": "KMS", "cloudhsm": "CloudHSM", "fips": "FIPS"}
    words = [special.get(word, word) for word in topic.split("-")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


#: Stability (days) from which a card counts as "mature" (Anki's 21-day interval).
MATURE_DAYS = 21


def mastery_for(
    *,
    user: User,
    now: dt.datetime,
    exam_at: dt.datetime | None,
    scheduler: fsrs.Scheduler,
    bank_ids: list[int] | None = None,
) -> tuple[list[TopicMastery], TopicMastery]:
    """Per-topic and overall mastery: recall predicted now and on exam day.

    Unseen questions count as 0 recall, so readiness rises only by studying the whole bank.
    """
    if bank_ids is None:
        bank_ids = study_bank_ids_for(user=user)
    # One hand-written read and FSRS's curve on plain numbers: this runs for every question
    # the learner studies, on every dashboard.
    rows = sql.mastery_rows(user.pk, bank_ids)
    recall = scheduling.forgetting_curve(scheduler)
    topics: dict[str, TopicMastery] = {}
    overall = TopicMastery(topic="overall")
    for _question_id, question_topics, stability, last_review, card_lapses in rows:
        recall_now = recall_exam = 0.0
        seen = mature = False
        lapses = 0
        if card_lapses is not None:  # the learner has a seen card for the question
            lapses = card_lapses
            seen = True
            mature = (stability or 0) >= MATURE_DAYS
            recall_now = recall(stability, last_review, now)
            recall_exam = recall(stability, last_review, exam_at) if exam_at else recall_now
        for name in [*(question_topics or [GENERAL_TOPIC]), None]:
            bucket = overall if name is None else topics.setdefault(name, TopicMastery(name))
            bucket.questions += 1
            bucket.seen += seen
            bucket.mature += mature
            bucket.lapses += lapses
            bucket.recall_now_total += recall_now
            bucket.recall_exam_total += recall_exam
    ordered = sorted(topics.values(), key=lambda t: (t.recall_exam, t.topic))
    return ordered, overall


def memory_state(card: Card) -> scheduling.MemoryState:
    return scheduling.MemoryState(
        state=card.state,
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due,
        last_review=card.last_review,
        reps=card.reps,
        lapses=card.lapses,
    )


def leeches_for(*, user: User, limit: int = 10) -> list[Card]:
    return list(
        Card.objects.filter(user=user, leech=True)
        .select_related("question__current_revision")
        .order_by("-lapses", "id")[:limit]
    )
