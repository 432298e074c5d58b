from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest

from quizzes.models import Card, Exam, ReviewLog
from quizzes.services_exam import (
    Blueprint,
    ExamClosedError,
    NoQuestionsError,
    exam_answer_save,
    exam_expire_if_due,
    exam_finish,
    exam_plan,
    exam_start,
    scaled_score,
    stratified_sample,
)

from .conftest import FROZEN
from .factories import make_questions

pytestmark = pytest.mark.django_db


def test_full_banks_get_the_real_exam_lengths():
    assert exam_plan("SCS-C03", 500) == Blueprint(65, 170)
    assert exam_plan("SAP-C02", 500) == Blueprint(75, 180)
    assert exam_plan("custom", 500) == Blueprint(10, 20)


def test_small_banks_scale_questions_and_time_proportionally():
    assert exam_plan("SCS-C03", 13) == Blueprint(13, 34)
    assert exam_plan("SAP-C02", 30) == Blueprint(30, 72)
    assert exam_plan("custom", 5) == Blueprint(5, 10)


def test_the_draw_is_stratified_by_topic(bank):
    kms = make_questions(bank, 30, topics=["kms"])
    hsm = make_questions(bank, 20, topics=["cloudhsm"])
    general = make_questions(bank, 10, topics=[])
    drawn = stratified_sample(kms + hsm + general, 12, random.Random(4))
    topics = Counter((q.topics or ["general"])[0] for q in drawn)
    assert topics == {"kms": 6, "cloudhsm": 4, "general": 2}
    assert len(set(drawn)) == 12


def test_starting_an_exam_sets_the_deadline_and_shuffles_options(learner, bank):
    make_questions(bank, 12)
    exam = exam_start(user=learner, kind="custom", now=FROZEN, rng=random.Random(1))
    assert exam.items.count() == 10
    assert exam.deadline == FROZEN + dt.timedelta(minutes=20)
    assert exam.status == Exam.Status.IN_PROGRESS
    for item in exam.items.all():
        assert sorted(item.option_order) == [0, 1, 2, 3]


def test_no_questions_no_exam(learner, bank):
    with pytest.raises(NoQuestionsError):
        exam_start(user=learner, kind="custom", now=FROZEN)


def test_answers_are_saved_with_their_flag(learner, bank):
    make_questions(bank, 3)
    exam = exam_start(user=learner, kind="custom", now=FROZEN)
    item = exam_answer_save(exam=exam, position=2, answer=1, flagged=True, now=FROZEN)
    assert item.answer == 1
    assert item.flagged
    assert item.answered_at == FROZEN


def test_a_save_after_the_deadline_is_refused_and_times_the_exam_out(learner, bank):
    make_questions(bank, 3)
    exam = exam_start(user=learner, kind="custom", now=FROZEN)
    exam_answer_save(exam=exam, position=1, answer=0, flagged=False, now=FROZEN)
    late = exam.deadline + dt.timedelta(seconds=1)
    with pytest.raises(ExamClosedError):
        exam_answer_save(exam=exam, position=2, answer=0, flagged=False, now=late)
    exam.refresh_from_db()
    assert exam.status == Exam.Status.TIMED_OUT
    assert exam.finished_at == exam.deadline
    assert exam.items.get(position=2).answer is None
    assert exam.items.get(position=1).correct


def test_a_finished_exam_refuses_saves(learner, bank):
    make_questions(bank, 2)
    exam = exam_start(user=learner, kind="custom", now=FROZEN)
    exam_finish(exam=exam, now=FROZEN)
    with pytest.raises(ExamClosedError):
        exam_answer_save(exam=exam, position=1, answer=0, flagged=False, now=FROZEN)


def test_an_exam_past_its_deadline_is_finished_when_next_touched(learner, bank):
    make_questions(bank, 2)
    exam = exam_start(user=learner, kind="custom", now=FROZEN)
    assert not exam_expire_if_due(exam=exam, now=exam.deadline)
    assert exam_expire_if_due(exam=exam, now=exam.deadline + dt.timedelta(minutes=1))
    assert exam.status == Exam.Status.TIMED_OUT


@pytest.mark.parametrize(
    ("raw", "scaled"), [(0, 100), (0.36, 425), (0.72, 750), (0.86, 875), (1, 1000)]
)
def test_scaled_scores_run_from_100_to_1000_with_72_percent_at_750(raw, scaled):
    assert scaled_score(raw) == scaled


def test_finishing_scores_the_exam_with_a_topic_breakdown(learner, bank):
    make_questions(bank, 2, topics=["kms"])
    make_questions(bank, 2, "multiple", topics=["cloudhsm"])
    exam = exam_start(user=learner, kind="custom", now=FROZEN)
    for item in exam.items.all():
        answer = 0 if item.question.type == "single" else [0]
        exam_answer_save(
            exam=exam, position=item.position, answer=answer, flagged=False, now=FROZEN
        )
    exam_finish(exam=exam, now=FROZEN + dt.timedelta(minutes=5))
    exam.refresh_from_db()
    assert exam.status == Exam.Status.SUBMITTED
    assert exam.raw_score == 0.5
    assert exam.scaled_score == scaled_score(0.5)
    assert not exam.passed
    assert exam.topic_breakdown == {
        "cloudhsm": {"questions": 2, "correct": 0, "credit": 1.0},
        "kms": {"questions": 2, "correct": 2, "credit": 2.0},
    }


def test_wrong_exam_answers_come_back_in_review_at_once(learner, bank):
    right_q, wrong_q, skipped_q = make_questions(bank, 3)
    known = Card.objects.create(
        user=learner, question=right_q, state=Card.State.REVIEW, stability=30.0, difficulty=4.0,
        due=FROZEN + dt.timedelta(days=20), last_review=FROZEN - dt.timedelta(days=10), reps=4,
    )  # fmt: skip
    exam = exam_start(user=learner, kind="custom", now=FROZEN)
    positions = {item.question_id: item.position for item in exam.items.all()}
    exam_answer_save(exam=exam, position=positions[right_q.pk], answer=0, flagged=False, now=FROZEN)
    exam_answer_save(exam=exam, position=positions[wrong_q.pk], answer=2, flagged=False, now=FROZEN)
    finished_at = FROZEN + dt.timedelta(minutes=3)
    exam_finish(exam=exam, now=finished_at)

    wrong_card = Card.objects.get(user=learner, question=wrong_q)
    assert wrong_card.due == finished_at
    assert wrong_card.state == Card.State.LEARNING
    log = ReviewLog.objects.get(user=learner)
    assert log.source == ReviewLog.Source.EXAM
    assert log.rating == 1
    assert log.question == wrong_q
    known_after = Card.objects.get(pk=known.pk)
    assert known_after.due == known.due
    assert known_after.version == known.version
    assert not Card.objects.filter(user=learner, question=skipped_q).exists()


def test_finishing_twice_changes_nothing(learner, bank):
    make_questions(bank, 2)
    exam = exam_start(user=learner, kind="custom", now=FROZEN)
    exam_answer_save(exam=exam, position=1, answer=3, flagged=False, now=FROZEN)
    exam_finish(exam=exam, now=FROZEN)
    exam_finish(exam=exam, now=FROZEN + dt.timedelta(minutes=1))
    assert ReviewLog.objects.filter(user=learner).count() == 1
