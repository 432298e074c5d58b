from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from accounts.services import profile_for
from quizzes import sql
from quizzes.models import Card, KeywordAttempt, ReviewLog
from quizzes.services_review import (
    StaleCardError,
    leech_contrast_submit,
    review_answer_submit,
    review_settings_for,
    review_settings_update,
    review_undo,
)

from .conftest import FROZEN
from .factories import make_drill

pytestmark = pytest.mark.django_db


def answer(user, question, choice, *, now=FROZEN, submission="sub-00000001", version=0, **kw):
    options = {"guessed": False, "duration_ms": 12_000, "fuzz": False} | kw
    return review_answer_submit(
        user=user,
        revision=question.current_revision,
        answer=choice,
        submission_id=submission,
        seen_version=version,
        now=now,
        **options,
    )


def test_an_answer_updates_the_card_and_appends_one_log(learner, single):
    outcome = answer(learner, single, 0)
    card = Card.objects.get(user=learner, question=single)
    log = ReviewLog.objects.get(user=learner)
    assert outcome.grade.correct
    assert card.state == Card.State.LEARNING
    assert card.reps == 1
    assert card.version == 1
    assert card.due == FROZEN + dt.timedelta(minutes=10)
    assert log.rating == 3
    assert log.correct
    assert log.chosen == 0
    assert log.duration_ms == 12_000
    assert log.revision == single.current_revision
    assert log.state_before["state"] == Card.State.NEW
    assert log.reviewed_at == FROZEN


def test_a_wrong_answer_is_rated_again(learner, single):
    outcome = answer(learner, single, 2)
    assert not outcome.grade.correct
    assert outcome.log.rating == 1


def test_a_guessed_right_answer_is_rated_hard(learner, single):
    assert answer(learner, single, 0, guessed=True).log.rating == 2


def test_a_fast_sure_right_answer_is_rated_easy(learner, single):
    assert answer(learner, single, 0, duration_ms=3_000).log.rating == 4


def test_the_same_submission_twice_logs_once(learner, single):
    first = answer(learner, single, 0)
    second = answer(learner, single, 0, now=FROZEN + dt.timedelta(seconds=1))
    assert not first.duplicate
    assert second.duplicate
    assert second.log.pk == first.log.pk
    assert ReviewLog.objects.filter(user=learner).count() == 1
    assert Card.objects.get(user=learner).reps == 1


def test_an_answer_from_a_stale_tab_is_refused(learner, single):
    answer(learner, single, 0, submission="tab-one-0001")
    with pytest.raises(StaleCardError):
        answer(learner, single, 0, submission="tab-two-0001", version=0)
    assert ReviewLog.objects.filter(user=learner).count() == 1


def test_card_and_log_are_written_in_one_transaction(learner, single, monkeypatch):
    def broken(log):
        raise RuntimeError("disk full")

    # The log is written after the card: a failure there must take the card back too.
    monkeypatch.setattr(sql, "review_log_insert", broken)
    with pytest.raises(RuntimeError):
        answer(learner, single, 0)
    assert not Card.objects.filter(user=learner, reps__gt=0).exists()


def test_undo_voids_the_log_and_restores_the_card(learner, single):
    answer(learner, single, 0)
    card = Card.objects.get(user=learner)
    answer(
        learner,
        single,
        2,
        submission="sub-00000002",
        version=card.version,
        now=FROZEN + dt.timedelta(minutes=11),
    )
    before_undo = ReviewLog.objects.get(submission_id="sub-00000002").state_before

    voided = review_undo(user=learner, now=FROZEN + dt.timedelta(minutes=12))

    card.refresh_from_db()
    assert voided.voided_at == FROZEN + dt.timedelta(minutes=12)
    assert ReviewLog.objects.filter(user=learner).count() == 2
    assert card.state == before_undo["state"]
    assert card.step == before_undo["step"]
    assert card.reps == 1
    assert card.due.isoformat() == before_undo["due"]
    assert card.version == 3


def test_undo_walks_back_one_answer_at_a_time(learner, single):
    answer(learner, single, 0)
    assert review_undo(user=learner, now=FROZEN)
    card = Card.objects.get(user=learner)
    assert card.state == Card.State.NEW
    assert card.reps == 0
    assert review_undo(user=learner, now=FROZEN) is None


def test_exam_date_caps_the_next_due_date(learner, bank):
    from .factories import make_question

    question = make_question(bank, "single")
    profile = profile_for(learner)
    profile.exam_date = dt.date(2026, 11, 4)
    profile.save()
    card = Card.objects.create(
        user=learner,
        question=question,
        state=Card.State.REVIEW,
        stability=60.0,
        difficulty=3.0,
        due=FROZEN,
        last_review=FROZEN - dt.timedelta(days=50),
        reps=6,
    )
    answer(learner, question, 0, version=card.version, duration_ms=3_000)
    card.refresh_from_db()
    assert card.due <= dt.datetime(2026, 11, 4, tzinfo=dt.UTC)


def test_six_lapses_flag_a_leech_instead_of_suspending(learner, single):
    Card.objects.create(
        user=learner,
        question=single,
        state=Card.State.REVIEW,
        stability=2.0,
        difficulty=8.0,
        due=FROZEN,
        last_review=FROZEN - dt.timedelta(days=3),
        reps=12,
        lapses=5,
    )
    outcome = answer(learner, single, 3)
    card = Card.objects.get(user=learner)
    assert outcome.became_leech
    assert card.leech
    assert not card.suspended
    assert card.lapses == 6


def test_a_passed_contrast_drill_clears_the_leech_and_keeps_the_schedule(learner, single):
    card = Card.objects.create(
        user=learner, question=single, state=Card.State.RELEARNING, step=0, stability=1.0,
        difficulty=9.0, due=FROZEN, last_review=FROZEN, lapses=6, leech=True,
    )  # fmt: skip
    kms = make_drill("Amazon RDS encryption", "kms", ["kms"])
    hsm = make_drill("PKCS #11", "cloudhsm", ["decision"])
    outcome = leech_contrast_submit(
        card=card,
        answers={kms.pk: "kms", hsm.pk: "cloudhsm"},
        drills=[kms, hsm],
        submission_id="leech-000001",
        now=FROZEN,
    )
    card.refresh_from_db()
    assert outcome.passed
    assert not card.leech
    assert card.due == FROZEN
    assert card.stability == 1.0
    assert outcome.log.source == ReviewLog.Source.LEECH_DRILL
    assert KeywordAttempt.objects.filter(user=learner).count() == 2


def test_a_failed_contrast_drill_keeps_the_leech(learner, single):
    card = Card.objects.create(
        user=learner, question=single, state=Card.State.RELEARNING, step=0, stability=1.0,
        difficulty=9.0, due=FROZEN, last_review=FROZEN, lapses=6, leech=True,
    )  # fmt: skip
    kms = make_drill("Amazon RDS encryption", "kms", ["kms"])
    outcome = leech_contrast_submit(
        card=card,
        answers={kms.pk: "cloudhsm"},
        drills=[kms],
        submission_id="leech-0002",
        now=FROZEN,
    )
    card.refresh_from_db()
    assert not outcome.passed
    assert card.leech
    assert not KeywordAttempt.objects.get(user=learner).correct


def test_settings_default_to_anki_like_learning_steps(learner):
    settings = review_settings_for(user=learner)
    assert settings.learning_steps_minutes == [1, 10]
    assert settings.relearning_steps_minutes == [10]


def test_settings_refuse_a_retention_out_of_range(learner):
    with pytest.raises(ValidationError):
        review_settings_update(
            user=learner,
            desired_retention=0.99,
            new_cards_per_day=20,
            learning_steps_minutes=[1],
            relearning_steps_minutes=[10],
        )
