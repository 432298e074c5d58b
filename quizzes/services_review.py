"""Writes for spaced repetition: answering, undo, leech contrast drills, settings, bank choice.

Every answer locks the learner's card row (``select_for_update``), checks the card version it
was shown at (a card answered in another tab is not answered again) and the form's submission
id (the same answer posted twice logs once), then updates the card and appends a
``ReviewLog`` in the same transaction. Undo never deletes: it voids the log and restores the
card from the log's ``state_before``.

Cards are created up front, in state NEW, for every question of the banks a learner studies
(:func:`review_cards_sync`), so the review queue never scans a bank for unseen questions. A
bank's ``question_serial`` goes up with every question added (:func:`bank_questions_added`);
a learner's ``ReviewSettings.synced_banks`` remembers the serial their cards were made at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import fsrs
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.db.transaction import TransactionManagementError

from accounts.models import Profile
from accounts.sql import row_as

from . import scheduling, sql
from .grading import Grade, grade
from .models import (
    Bank,
    BankSubscription,
    Card,
    KeywordAttempt,
    KeywordDrill,
    Question,
    QuestionRevision,
    ReviewLog,
    ReviewSettings,
)
from .selectors import ReviewQueue, review_queue_for, study_banks_for
from .selectors_progress import memory_state

DEFAULT_LEARNING_STEPS = [1, 10]
DEFAULT_RELEARNING_STEPS = [10]
#: Longest duration counted for one answer (a learner who walked away is not "studying").
MAX_DURATION_MS = 10 * 60 * 1000


class StaleCardError(Exception):
    """The card was answered (in another tab or window) after this form was shown."""


class NotStudiedError(Exception):
    """The question is not in any bank the learner studies."""


@dataclass(frozen=True)
class AnswerOutcome:
    log: ReviewLog
    card: Card
    grade: Grade
    duplicate: bool = False
    became_leech: bool = False


@dataclass(frozen=True)
class ContrastOutcome:
    log: ReviewLog
    results: list[tuple[KeywordDrill, str, bool]]
    passed: bool
    duplicate: bool = False


# --- settings and bank choice ----------------------------------------------------------


def review_settings_for(*, user: User) -> ReviewSettings:
    """The learner's settings, created with the defaults on first use.

    Read on every review request, so read with one plain query (see :mod:`.sql`).
    """
    with connection.cursor() as cursor:
        cursor.execute(sql.settings_sql(), [user.pk])
        row = cursor.fetchone()
    if row is not None:
        return row_as(row, ReviewSettings)
    settings, _ = ReviewSettings.objects.get_or_create(
        user=user,
        defaults={
            "learning_steps_minutes": DEFAULT_LEARNING_STEPS,
            "relearning_steps_minutes": DEFAULT_RELEARNING_STEPS,
        },
    )
    return settings


def review_settings_update(
    *,
    user: User,
    desired_retention: float,
    new_cards_per_day: int,
    learning_steps_minutes: list[int],
    relearning_steps_minutes: list[int],
) -> ReviewSettings:
    settings = review_settings_for(user=user)
    settings.desired_retention = desired_retention
    settings.new_cards_per_day = new_cards_per_day
    settings.learning_steps_minutes = learning_steps_minutes
    settings.relearning_steps_minutes = relearning_steps_minutes
    settings.full_clean()
    settings.save()
    return settings


# --- cards for every studied question ----------------------------------------------------


def bank_questions_added(*, bank_id: int) -> None:
    """Note that questions were added to the bank: learners' next sync creates their cards."""
    Bank.objects.filter(pk=bank_id).update(question_serial=F("question_serial") + 1)


def review_cards_sync(
    *,
    user: User,
    banks: Mapping[int, int],
    now: dt.datetime,
    settings: ReviewSettings | None = None,
) -> int:
    """Create NEW cards for the studied questions the learner has no card for yet.

    ``banks`` maps the learner's study banks to their ``question_serial`` (as
    ``selectors.study_banks_for`` returns them). Banks whose serial the learner already
    synced at cost nothing; the others get one insert of the missing cards. Cards are made for
    every question of the bank, draft or archived too: the queue filters those out when it
    reads, so publishing or restoring a question needs no sync. Returns the cards created.

    Safe to run concurrently: a card that appeared meanwhile is skipped (unique per learner
    and question), and a serial is recorded only as read before the insert, so a question
    added during the sync is picked up by the next one.
    """
    settings = settings or review_settings_for(user=user)
    synced = settings.synced_banks or {}
    stale = {
        bank_id: serial for bank_id, serial in banks.items() if synced.get(str(bank_id)) != serial
    }
    if not stale:
        return 0
    has_card = Card.objects.filter(user=user, question=OuterRef("pk"))
    missing = (
        Question.objects.filter(bank_id__in=list(stale))
        .filter(~Exists(has_card))
        .order_by()
        .values_list("id", "bank_id")
    )
    created = Card.objects.bulk_create(
        [
            Card(user=user, question_id=question_id, bank_id=bank_id, due=now)
            for question_id, bank_id in missing
        ],
        batch_size=500,
        ignore_conflicts=True,
    )
    settings.synced_banks = {
        **synced,
        **{str(bank_id): serial for bank_id, serial in stale.items()},
    }
    ReviewSettings.objects.filter(pk=settings.pk).update(synced_banks=settings.synced_banks)
    return len(created)


@transaction.atomic
def bank_subscriptions_set(*, user: User, bank_ids: Iterable[int]) -> list[Bank]:
    """Study exactly these published banks (none chosen: the default banks)."""
    banks = list(Bank.objects.filter(is_published=True, id__in=list(bank_ids)))
    BankSubscription.objects.filter(user=user).exclude(bank__in=banks).delete()
    for bank in banks:
        BankSubscription.objects.get_or_create(user=user, bank=bank)
    return banks


# --- the scheduler for one learner -----------------------------------------------------


#: "Look the profile up": a caller may pass ``profile=None`` for a learner without one.
_LOOK_UP: Any = object()


def scheduler_context(
    *,
    user: User,
    now: dt.datetime,
    fuzz: bool = True,
    settings: ReviewSettings | None = None,
    profile: Profile | None = _LOOK_UP,
) -> tuple[fsrs.Scheduler, dt.datetime | None]:
    """The learner's scheduler for a review at ``now`` and their exam-day cutoff.

    A view that already holds the learner's settings and profile passes them in.
    """
    settings = settings or review_settings_for(user=user)
    if profile is _LOOK_UP:
        profile = Profile.objects.filter(user=user).first()
    cutoff = None
    if profile is not None:
        cutoff = scheduling.exam_cutoff(profile.exam_date, time_zone=profile.time_zone, now=now)
    scheduler = scheduling.scheduler_for(
        desired_retention=settings.desired_retention,
        learning_steps_minutes=list(settings.learning_steps_minutes),
        relearning_steps_minutes=list(settings.relearning_steps_minutes),
        now=now,
        cutoff=cutoff,
        fuzz=fuzz,
    )
    return scheduler, cutoff


def card_snapshot(card: Card) -> dict[str, Any]:
    """Everything undo needs to put the card back, as JSON."""
    return {
        "state": card.state,
        "step": card.step,
        "stability": card.stability,
        "difficulty": card.difficulty,
        "due": card.due.isoformat(),
        "last_review": card.last_review.isoformat() if card.last_review else None,
        "reps": card.reps,
        "lapses": card.lapses,
        "suspended": card.suspended,
        "leech": card.leech,
    }


def _card_restore(card: Card, snapshot: Mapping[str, Any]) -> None:
    card.state = snapshot["state"]
    card.step = snapshot["step"]
    card.stability = snapshot["stability"]
    card.difficulty = snapshot["difficulty"]
    card.due = dt.datetime.fromisoformat(snapshot["due"])
    last_review = snapshot["last_review"]
    card.last_review = dt.datetime.fromisoformat(last_review) if last_review else None
    card.reps = snapshot["reps"]
    card.lapses = snapshot["lapses"]
    card.suspended = snapshot["suspended"]
    card.leech = snapshot["leech"]


def review_queue_refresh(
    *,
    user: User,
    now: dt.datetime,
    new_cards_per_day: int,
    pick: bool = True,
    banks: Mapping[int, int] | None = None,
    settings: ReviewSettings | None = None,
    time_zone: str | None = None,
) -> ReviewQueue:
    """Give the learner cards for questions added to their banks, then read the queue
    (``selectors.review_queue_for``): what the review page and the dashboard show."""
    if banks is None:
        banks = study_banks_for(user=user)
    review_cards_sync(user=user, banks=banks, now=now, settings=settings)
    return review_queue_for(
        user=user,
        now=now,
        new_cards_per_day=new_cards_per_day,
        pick=pick,
        banks=banks,
        time_zone=time_zone,
    )


def card_lock(*, user: User, question: Question, now: dt.datetime) -> Card:
    """The learner's card for ``question``, created if needed, locked until commit.

    Cards exist ahead of time (:func:`review_cards_sync`), so this is one plain
    ``SELECT … FOR UPDATE``; a card not made yet (a question added since the learner's last
    sync, say) is created here.
    """
    if not connection.in_atomic_block:
        raise TransactionManagementError("card_lock() must run inside a transaction.")
    with connection.cursor() as cursor:
        cursor.execute(
            sql.card_lock_sql(connection.features.has_select_for_update), [user.pk, question.pk]
        )
        row = cursor.fetchone()
    if row is None:
        card, _ = Card.objects.select_for_update().get_or_create(
            user=user, question=question, defaults={"due": now, "bank_id": question.bank_id}
        )
        return card
    card = row_as(row, Card)
    card.question = question
    return card


def card_apply_rating(
    *,
    card: Card,
    revision: QuestionRevision,
    rating: fsrs.Rating,
    correct: bool,
    chosen: Any,
    duration_ms: int,
    source: str,
    submission_id: str,
    now: dt.datetime,
    scheduler: fsrs.Scheduler,
    cutoff: dt.datetime | None,
) -> tuple[ReviewLog, bool]:
    """Schedule the (locked) card after an answer and append its log. Returns (log, leech?)."""
    before = card_snapshot(card)
    state = scheduling.next_state(
        memory_state(card), rating, scheduler=scheduler, now=now, cutoff=cutoff
    )
    became_leech = scheduling.is_new_leech(lapses_before=card.lapses, lapses_after=state.lapses)
    card.state = state.state
    card.step = state.step
    card.stability = state.stability
    card.difficulty = state.difficulty
    card.due = state.due  # type: ignore[assignment]  # FSRS always schedules a due time
    card.last_review = state.last_review
    card.reps = state.reps
    card.lapses = state.lapses
    if became_leech:
        card.leech = True
    card.version += 1
    sql.card_schedule_save(card)
    log = ReviewLog(
        card=card,
        user_id=card.user_id,
        question_id=card.question_id,
        revision=revision,
        source=source,
        rating=int(rating),
        correct=correct,
        chosen=chosen,
        duration_ms=duration_ms,
        reviewed_at=now,
        state_before=before,
        submission_id=submission_id,
    )
    sql.review_log_insert(log)
    return log, became_leech


# --- answering -------------------------------------------------------------------------


def review_answer_submit(
    *,
    user: User,
    revision: QuestionRevision,
    answer: Any,
    guessed: bool,
    duration_ms: int,
    submission_id: str,
    seen_version: int,
    now: dt.datetime,
    fuzz: bool = True,
    settings: ReviewSettings | None = None,
    profile: Profile | None = _LOOK_UP,
) -> AnswerOutcome:
    """Grade and schedule one review answer.

    Raises :class:`StaleCardError` when the card changed since it was shown (answered in
    another tab). A repeated ``submission_id`` returns the first outcome with
    ``duplicate=True`` and writes nothing. ``settings`` and ``profile`` save their look-ups
    when the caller has them.
    """
    # Everything that does not depend on the card happens before its lock is taken.
    result = grade(revision.data, answer)
    duration_ms = max(0, min(duration_ms, MAX_DURATION_MS))
    rating = scheduling.rating_for(correct=result.correct, guessed=guessed, duration_ms=duration_ms)
    scheduler, cutoff = scheduler_context(
        user=user, now=now, fuzz=fuzz, settings=settings, profile=profile
    )
    try:
        with transaction.atomic():
            return _answer(
                user=user,
                revision=revision,
                answer=answer,
                result=result,
                rating=rating,
                duration_ms=duration_ms,
                submission_id=submission_id,
                seen_version=seen_version,
                now=now,
                scheduler=scheduler,
                cutoff=cutoff,
            )
    except IntegrityError:
        # Two identical submissions raced past the check; the other one won.
        log = ReviewLog.objects.filter(user=user, submission_id=submission_id).first()
        if log is None:
            raise
        return _duplicate_outcome(log)


def _duplicate_outcome(log: ReviewLog) -> AnswerOutcome:
    return AnswerOutcome(
        log=log, card=log.card, grade=grade(log.revision.data, log.chosen), duplicate=True
    )


def _answer(
    *,
    user: User,
    revision: QuestionRevision,
    answer: Any,
    result: Grade,
    rating: fsrs.Rating,
    duration_ms: int,
    submission_id: str,
    seen_version: int,
    now: dt.datetime,
    scheduler: fsrs.Scheduler,
    cutoff: dt.datetime | None,
) -> AnswerOutcome:
    card = card_lock(user=user, question=revision.question, now=now)
    if card.version != seen_version:
        # Answered since it was shown: this very submission (a double click, a retry) or
        # another one (a second tab). An unchanged card cannot have been answered by this
        # submission, so the look-up is only needed here; a submission id reused for another
        # card still logs once (the unique constraint, handled by the caller).
        existing = ReviewLog.objects.filter(user=user, submission_id=submission_id).first()
        if existing is not None:
            return _duplicate_outcome(existing)
        raise StaleCardError
    log, became_leech = card_apply_rating(
        card=card,
        revision=revision,
        rating=rating,
        correct=result.correct,
        chosen=answer,
        duration_ms=duration_ms,
        source=ReviewLog.Source.REVIEW,
        submission_id=submission_id,
        now=now,
        scheduler=scheduler,
        cutoff=cutoff,
    )
    return AnswerOutcome(log=log, card=card, grade=result, became_leech=became_leech)


@transaction.atomic
def review_undo(*, user: User, now: dt.datetime) -> ReviewLog | None:
    """Void the learner's latest review answer and put its card back as it was.

    Only the card's latest change can be undone (an exam or contrast drill since then
    blocks it). Returns the voided log, or ``None`` when there is nothing to undo.
    """
    log = (
        ReviewLog.objects.filter(user=user, source=ReviewLog.Source.REVIEW, voided_at__isnull=True)
        .order_by("-reviewed_at", "-id")
        .first()
    )
    if log is None:
        return None
    card = Card.objects.select_for_update().get(pk=log.card_id)
    latest = (
        ReviewLog.objects.filter(card=card, voided_at__isnull=True)
        .order_by("-reviewed_at", "-id")
        .first()
    )
    if latest is None or latest.pk != log.pk:
        return None
    _card_restore(card, log.state_before)
    card.version += 1
    card.save(update_fields=[*sql.SCHEDULE_FIELDS, "suspended"])
    log.voided_at = now
    log.save(update_fields=["voided_at"])
    return log


# --- leeches: explanation and contrast drill before the card returns ---------------------


def _shown_revision(question: Question) -> QuestionRevision:
    """The revision a leech's contrast drill was about: its question has one (it was answered)."""
    assert question.current_revision is not None
    return question.current_revision


def leech_contrast_submit(
    *,
    card: Card,
    answers: Mapping[int, str],
    drills: list[KeywordDrill],
    submission_id: str,
    now: dt.datetime,
) -> ContrastOutcome:
    """Record a contrast drill for a leech; all right clears the flag and the card returns.

    The card's memory state is untouched: the drill is logged (source "leech") and each
    keyword answer is also a ``KeywordAttempt``, so it feeds the keyword drill's statistics.
    """
    with transaction.atomic():
        locked = Card.objects.select_for_update().get(pk=card.pk)
        existing = ReviewLog.objects.filter(user_id=locked.user_id, submission_id=submission_id)
        if existing.exists():
            log = existing.get()
            return ContrastOutcome(log=log, results=[], passed=log.correct, duplicate=True)
        results = []
        for drill in drills:
            chosen = answers.get(drill.pk, "")
            right = chosen == drill.answer
            results.append((drill, chosen, right))
            if chosen:
                KeywordAttempt.objects.create(
                    user_id=locked.user_id, drill=drill, chosen=chosen, correct=right
                )
        passed = all(right for _, _, right in results)
        before = card_snapshot(locked)
        if passed:
            locked.leech = False
            locked.version += 1
            locked.save(update_fields=["leech", "version"])
        question = locked.question
        log = ReviewLog.objects.create(
            card=locked,
            user_id=locked.user_id,
            question=question,
            revision=_shown_revision(question),
            source=ReviewLog.Source.LEECH_DRILL,
            rating=int(fsrs.Rating.Good if passed else fsrs.Rating.Again),
            correct=passed,
            chosen={str(drill.pk): chosen for drill, chosen, _ in results},
            reviewed_at=now,
            state_before=before,
            submission_id=submission_id,
        )
    card.leech = locked.leech
    card.version = locked.version
    return ContrastOutcome(log=log, results=results, passed=passed)


def leech_release(*, card: Card, submission_id: str, now: dt.datetime) -> ReviewLog:
    """Return a leech to the queue after its explanation when no contrast items exist."""
    return leech_contrast_submit(
        card=card, answers={}, drills=[], submission_id=submission_id, now=now
    ).log


# --- keyword drill ---------------------------------------------------------------------


def keyword_attempt_record(*, user: User, drill: KeywordDrill, chosen: str) -> KeywordAttempt:
    return KeywordAttempt.objects.create(
        user=user, drill=drill, chosen=chosen, correct=chosen == drill.answer
    )
