"""Mock exams: start (stratified by topic), autosave, deadline, scoring, and feeding reviews.

Scaled score
    AWS reports 100–1000 with 750 to pass and does not publish its equating. We map the raw
    share of questions answered fully right, ``r``, piecewise linearly so that 0 → 100,
    ``PASS_RAW`` (72 %, the share commonly cited for a pass) → 750 and 100 % → 1000::

        r <= 0.72:  100 + 650 * r / 0.72
        r >  0.72:  750 + 250 * (r - 0.72) / 0.28

    Questions are all-or-nothing as on the real exam (a "select TWO" with one right pick
    scores 0); partial credit is shown per topic only as a study aid.

Deadline
    The server enforces it: a save after ``Exam.deadline`` is refused, and the exam is
    finished as timed out the next time it is touched.

Reviews
    Finishing an exam feeds the review schedule without counting as reviews: each wrong
    answer rates its card Again and makes it due at once (``ReviewLog.source = "exam"``);
    right answers leave scheduling alone.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import fsrs
from django.contrib.auth.models import User
from django.db import transaction

from .grading import answer_is_blank, grade
from .models import Exam, ExamItem, Question, QuestionRevision, ReviewLog
from .selectors import primary_topic, study_questions_for
from .services_review import card_apply_rating, card_lock, scheduler_context

PASS_SCALED = 750
PASS_RAW = 0.72
MIN_SCALED, MAX_SCALED = 100, 1000


@dataclass(frozen=True)
class Blueprint:
    questions: int
    minutes: int


#: The real exams' length and time (SCS-C03: 65 / 170 min; SAP-C02: 75 / 180 min).
BLUEPRINTS: dict[str, Blueprint] = {
    Exam.Kind.SCS_C03: Blueprint(65, 170),
    Exam.Kind.SAP_C02: Blueprint(75, 180),
    Exam.Kind.CUSTOM: Blueprint(10, 20),
}


class NoQuestionsError(Exception):
    """The learner's banks have no published questions to build an exam from."""


class ExamClosedError(Exception):
    """The exam is finished (submitted or timed out); nothing more can be saved."""


def _live_revision(question: Question) -> QuestionRevision:
    """The revision an exam shows: exams draw only studied questions, which have one."""
    assert question.current_revision is not None
    return question.current_revision


def exam_plan(kind: str, pool_size: int) -> Blueprint:
    """Questions and minutes for ``kind``, scaled down proportionally for a small bank."""
    blueprint = BLUEPRINTS[kind]
    if pool_size >= blueprint.questions:
        return blueprint
    minutes = math.ceil(blueprint.minutes * pool_size / blueprint.questions)
    return Blueprint(pool_size, max(1, minutes))


def stratified_sample(
    questions: Sequence[Question], count: int, rng: random.Random
) -> list[Question]:
    """``count`` questions with each topic represented in proportion to the pool.

    Largest-remainder allocation per primary topic, then the draw is shuffled so topics are
    mixed through the exam.
    """
    groups: dict[str, list[Question]] = defaultdict(list)
    for question in questions:
        groups[primary_topic(question.topics)].append(question)
    total = len(questions)
    count = min(count, total)
    quotas = {topic: count * len(group) / total for topic, group in groups.items()}
    allocation = {topic: math.floor(quota) for topic, quota in quotas.items()}
    leftover = count - sum(allocation.values())
    by_remainder = sorted(quotas, key=lambda t: (-(quotas[t] - allocation[t]), t))
    for topic in by_remainder[:leftover]:
        allocation[topic] += 1
    drawn: list[Question] = []
    for topic in sorted(groups):
        drawn.extend(rng.sample(groups[topic], allocation[topic]))
    rng.shuffle(drawn)
    return drawn


def display_order(data: dict[str, Any], rng: random.Random) -> list[int]:
    """The shuffled order options (single/multiple), pairs (match) or steps (order) show in."""
    size = {
        "single": len(data.get("options") or []),
        "multiple": len(data.get("options") or []),
        "match": len(data.get("pairs") or []),
        "order": len(data.get("steps") or []),
    }.get(data["type"], 0)
    order = list(range(size))
    rng.shuffle(order)
    return order


@transaction.atomic
def exam_start(
    *, user: User, kind: str, now: dt.datetime, rng: random.Random | None = None
) -> Exam:
    rng = rng or random.Random()
    pool = list(study_questions_for(user=user).select_related("current_revision"))
    if not pool:
        raise NoQuestionsError
    plan = exam_plan(kind, len(pool))
    exam = Exam.objects.create(
        user=user,
        kind=kind,
        duration_minutes=plan.minutes,
        started_at=now,
        deadline=now + dt.timedelta(minutes=plan.minutes),
    )
    ExamItem.objects.bulk_create(
        ExamItem(
            exam=exam,
            position=position,
            question=question,
            revision=_live_revision(question),
            option_order=display_order(_live_revision(question).data, rng),
        )
        for position, question in enumerate(stratified_sample(pool, plan.questions, rng), 1)
    )
    return exam


def exam_expire_if_due(*, exam: Exam, now: dt.datetime) -> bool:
    """Finish an exam whose deadline has passed (as timed out). True when it did."""
    if exam.status == Exam.Status.IN_PROGRESS and now > exam.deadline:
        exam_finish(exam=exam, now=now)
        return True
    return False


def exam_answer_save(
    *, exam: Exam, position: int, answer: Any, flagged: bool, now: dt.datetime
) -> ExamItem:
    """Autosave one answer and its flag. Refused (:class:`ExamClosedError`) after the deadline."""
    with transaction.atomic():
        locked = Exam.objects.select_for_update().get(pk=exam.pk)
        deadline_passed = now > locked.deadline
        if locked.status == Exam.Status.IN_PROGRESS and not deadline_passed:
            item = locked.items.get(position=position)
            item.answer = answer
            item.flagged = flagged
            item.answered_at = now
            item.save(update_fields=["answer", "flagged", "answered_at"])
            return item
    if deadline_passed:
        exam_finish(exam=exam, now=now)
    exam.refresh_from_db()
    raise ExamClosedError


def scaled_score(raw: float) -> int:
    """Raw share right (0..1) → AWS-style scaled score (see the module docstring)."""
    raw = min(1.0, max(0.0, raw))
    if raw <= PASS_RAW:
        scaled = MIN_SCALED + (PASS_SCALED - MIN_SCALED) * raw / PASS_RAW
    else:
        scaled = PASS_SCALED + (MAX_SCALED - PASS_SCALED) * (raw - PASS_RAW) / (1 - PASS_RAW)
    return round(scaled)


def exam_finish(*, exam: Exam, now: dt.datetime, fuzz: bool = True) -> Exam:
    """Grade, score and close the exam (timed out when past the deadline). Idempotent."""
    with transaction.atomic():
        locked = Exam.objects.select_for_update().get(pk=exam.pk)
        if locked.status != Exam.Status.IN_PROGRESS:
            return locked
        items = list(locked.items.select_related("revision", "question"))
        breakdown: dict[str, dict[str, float]] = {}
        right = 0
        for item in items:
            result = grade(item.revision.data, item.answer)
            item.correct = result.correct
            right += result.correct
            topic = breakdown.setdefault(
                primary_topic(item.revision.data.get("topics")),
                {"questions": 0, "correct": 0, "credit": 0.0},
            )
            topic["questions"] += 1
            topic["correct"] += int(result.correct)
            topic["credit"] = round(topic["credit"] + result.credit, 4)
        ExamItem.objects.bulk_update(items, ["correct"])
        raw = right / len(items) if items else 0.0
        locked.raw_score = raw
        locked.scaled_score = scaled_score(raw)
        locked.passed = locked.scaled_score >= PASS_SCALED
        locked.topic_breakdown = dict(sorted(breakdown.items()))
        locked.status = Exam.Status.TIMED_OUT if now > locked.deadline else Exam.Status.SUBMITTED
        locked.finished_at = min(now, locked.deadline)
        locked.save()
        _feed_reviews(exam=locked, items=items, now=now, fuzz=fuzz)
    for name in ("status", "finished_at", "raw_score", "scaled_score", "passed", "topic_breakdown"):
        setattr(exam, name, getattr(locked, name))
    return locked


def _feed_reviews(*, exam: Exam, items: list[ExamItem], now: dt.datetime, fuzz: bool) -> None:
    """Wrong answers come back in review at once; unanswered and right ones change nothing."""
    wrong = [
        item
        for item in items
        if not item.correct and not answer_is_blank(item.revision.data, item.answer)
    ]
    if not wrong:
        return
    scheduler, cutoff = scheduler_context(user=exam.user, now=now, fuzz=fuzz)
    for item in wrong:
        card = card_lock(user=exam.user, question=item.question, now=now)
        submission_id = f"exam-{exam.pk}-{item.position}"
        if ReviewLog.objects.filter(user=exam.user, submission_id=submission_id).exists():
            continue
        card_apply_rating(
            card=card,
            revision=item.revision,
            rating=fsrs.Rating.Again,
            correct=False,
            chosen=item.answer,
            duration_ms=0,
            source=ReviewLog.Source.EXAM,
            submission_id=submission_id,
            now=now,
            scheduler=scheduler,
            cutoff=cutoff,
        )
        card.due = now
        card.save(update_fields=["due"])
