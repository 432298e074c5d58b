from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import pytest

from accounts.services import profile_for
from quizzes.models import BankSubscription, Card, Question, ReviewLog
from quizzes.selectors import PastAttempt, cards_due_for, drill_round_pick, study_bank_ids_for
from quizzes.selectors_progress import forecast_for, log_totals_for, mastery_for, streak_for
from quizzes.services_review import review_queue_refresh, scheduler_context

from .conftest import FROZEN
from .factories import make_bank, make_question, make_questions

pytestmark = pytest.mark.django_db


def seen_card(user, question, *, due, state=Card.State.REVIEW, **fields):
    return Card.objects.create(
        user=user, question=question, state=state, stability=5.0, difficulty=5.0, due=due,
        last_review=due - dt.timedelta(days=5), reps=3, **fields,
    )  # fmt: skip


def log(user, card, *, at, correct=True, state=Card.State.REVIEW, **fields):
    options = {"source": ReviewLog.Source.REVIEW, "submission_id": f"s-{at.timestamp()}-{card.pk}"}
    return ReviewLog.objects.create(
        card=card, user=user, question=card.question, revision=card.question.current_revision,
        rating=3 if correct else 1, correct=correct, chosen=0, reviewed_at=at,
        state_before={"state": state}, duration_ms=10_000, **(options | fields),
    )  # fmt: skip


def test_learners_without_a_choice_study_the_default_banks(learner):
    default = make_bank(default=True)
    make_bank(default=False)
    assert study_bank_ids_for(user=learner) == [default.pk]


def test_chosen_banks_replace_the_defaults(learner):
    make_bank(default=True)
    chosen = make_bank(default=False)
    BankSubscription.objects.create(user=learner, bank=chosen)
    assert study_bank_ids_for(user=learner) == [chosen.pk]


def test_unpublished_chosen_banks_fall_back_to_the_defaults(learner):
    default = make_bank(default=True)
    hidden = make_bank(default=False, published=False)
    BankSubscription.objects.create(user=learner, bank=hidden)
    assert study_bank_ids_for(user=learner) == [default.pk]


def test_due_cards_come_most_overdue_first_and_skip_future_and_suspended(learner, bank):
    first, second, future, suspended = make_questions(bank, 4)
    seen_card(learner, second, due=FROZEN - dt.timedelta(hours=1))
    seen_card(learner, first, due=FROZEN - dt.timedelta(days=2))
    seen_card(learner, future, due=FROZEN + dt.timedelta(hours=1))
    seen_card(learner, suspended, due=FROZEN - dt.timedelta(days=9), suspended=True)
    due = cards_due_for(user=learner, now=FROZEN)
    assert [card.question for card in due] == [first, second]


def test_archived_draft_and_unstudied_questions_never_come_up(learner, bank):
    archived, draft = make_questions(bank, 2)
    Question.objects.filter(pk=archived.pk).update(is_archived=True)
    Question.objects.filter(pk=draft.pk).update(status=Question.Status.DRAFT)
    elsewhere = make_question(make_bank(default=False), "single")
    for question in (archived, draft, elsewhere):
        seen_card(learner, question, due=FROZEN - dt.timedelta(days=1))
    queue = review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)
    assert queue.question is None
    assert queue.remaining == 0


def test_the_queue_shows_due_reviews_before_new_questions(learner, bank):
    _new, reviewed = make_questions(bank, 2)
    seen_card(learner, reviewed, due=FROZEN - dt.timedelta(minutes=5))
    queue = review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)
    assert queue.question == reviewed
    assert queue.due_count == 1
    assert queue.new_count == 1
    assert queue.remaining == 2


def test_new_questions_are_limited_per_day(learner, bank):
    questions = make_questions(bank, 4)
    card = seen_card(learner, questions[0], due=FROZEN + dt.timedelta(days=3))
    log(learner, card, at=FROZEN - dt.timedelta(hours=1), state=Card.State.NEW)
    queue = review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=2)
    assert queue.new_count == 1
    assert queue.done_today == 1


def test_forecast_counts_due_cards_per_local_day_with_overdue_today(learner, bank):
    questions = make_questions(bank, 4)
    seen_card(learner, questions[0], due=FROZEN - dt.timedelta(days=3))
    seen_card(learner, questions[1], due=FROZEN + dt.timedelta(hours=2))
    seen_card(learner, questions[2], due=FROZEN + dt.timedelta(days=2))
    seen_card(learner, questions[3], due=FROZEN + dt.timedelta(days=30))
    forecast = forecast_for(user=learner, now=FROZEN, time_zone="UTC")
    assert len(forecast) == 14
    assert forecast[0] == (FROZEN.date(), 2)
    assert forecast[2] == (FROZEN.date() + dt.timedelta(days=2), 1)
    assert sum(count for _, count in forecast) == 3


def test_true_retention_counts_only_review_state_answers_that_stand(learner, bank):
    card = seen_card(learner, make_question(bank), due=FROZEN)
    log(learner, card, at=FROZEN, correct=True)
    log(learner, card, at=FROZEN + dt.timedelta(seconds=1), correct=False)
    log(learner, card, at=FROZEN + dt.timedelta(seconds=2), correct=True, state=Card.State.LEARNING)
    log(learner, card, at=FROZEN + dt.timedelta(seconds=3), correct=False, voided_at=FROZEN)
    log(learner, card, at=FROZEN + dt.timedelta(seconds=4), correct=False, source="exam")
    totals = log_totals_for(user=learner, now=FROZEN + dt.timedelta(days=40), time_zone="UTC")
    assert (totals.retention.correct, totals.retention.total) == (1, 2)
    assert totals.retention.rate == 0.5
    assert totals.retention_month.total == 0  # all of them more than 30 days before "now"
    recent = log_totals_for(user=learner, now=FROZEN + dt.timedelta(days=1), time_zone="UTC")
    assert (recent.retention_month.correct, recent.retention_month.total) == (1, 2)
    # Time spent counts the three answers that stand (10 s each), today and over the week.
    assert (recent.ms_today, recent.ms_week, recent.ms_all) == (0, 30_000, 30_000)
    same_day = log_totals_for(user=learner, now=FROZEN + dt.timedelta(minutes=5), time_zone="UTC")
    assert same_day.ms_today == 30_000


def test_streak_counts_consecutive_days_in_the_learner_time_zone(learner, bank):
    profile = profile_for(learner)
    profile.time_zone = "America/Los_Angeles"
    profile.save()
    card = seen_card(learner, make_question(bank), due=FROZEN)
    now = dt.datetime(2026, 11, 5, 20, 0, tzinfo=dt.UTC)  # 12:00 in Los Angeles
    # 03:00 UTC on the 5th is still the 4th in Los Angeles.
    for moment in ("2026-11-05T18:00", "2026-11-05T03:00", "2026-11-03T20:00"):
        log(learner, card, at=dt.datetime.fromisoformat(moment).replace(tzinfo=dt.UTC))
    assert streak_for(user=learner, now=now, time_zone="America/Los_Angeles") == 3
    assert streak_for(user=learner, now=now, time_zone="UTC") == 1


def test_streak_survives_until_the_day_is_over(learner, bank):
    card = seen_card(learner, make_question(bank), due=FROZEN)
    log(learner, card, at=FROZEN - dt.timedelta(days=1))
    log(learner, card, at=FROZEN - dt.timedelta(days=2))
    assert streak_for(user=learner, now=FROZEN, time_zone="UTC") == 2


def test_exam_answers_and_undone_answers_do_not_make_a_streak(learner, bank):
    card = seen_card(learner, make_question(bank), due=FROZEN)
    log(learner, card, at=FROZEN, source="exam")
    log(learner, card, at=FROZEN - dt.timedelta(days=1), voided_at=FROZEN)
    assert streak_for(user=learner, now=FROZEN, time_zone="UTC") == 0


@dataclass(frozen=True)
class Item:
    pk: int
    answer: str
    topics: tuple[str, ...] = ()


ITEMS = [
    Item(1, "kms", ("integration",)),
    Item(2, "cloudhsm", ("apis",)),
    Item(3, "cloudhsm", ("integration",)),
    Item(4, "both", ("fips",)),
    Item(5, "neither", ()),
    Item(6, "kms", ("policies",)),
    Item(7, "cloudhsm", ("tls",)),
    Item(8, "kms", ("rotation",)),
]


def test_a_round_puts_the_most_missed_item_first_followed_by_what_it_is_confused_with():
    attempts = [
        PastAttempt(drill_id=1, chosen="cloudhsm", correct=False),
        PastAttempt(drill_id=1, chosen="cloudhsm", correct=False),
        PastAttempt(drill_id=5, chosen="kms", correct=True),
    ]
    picked = drill_round_pick(ITEMS, attempts, size=6, rng=random.Random(3))
    assert picked[0].pk == 1
    # The contrast item is a CloudHSM keyword, sharing the "integration" topic.
    assert picked[1].pk == 3
    assert len({item.pk for item in picked}) == 6


def test_a_round_without_history_is_a_sample_of_distinct_items():
    picked = drill_round_pick(ITEMS, [], size=5, rng=random.Random(1))
    assert len(picked) == 5
    assert len({item.pk for item in picked}) == 5


def test_items_answered_right_since_fade_from_the_front_of_the_round():
    attempts = [
        PastAttempt(drill_id=2, chosen="cloudhsm", correct=True),
        PastAttempt(drill_id=2, chosen="cloudhsm", correct=True),
        PastAttempt(drill_id=6, chosen="both", correct=False),
        PastAttempt(drill_id=2, chosen="kms", correct=False),
    ]
    picked = drill_round_pick(ITEMS, attempts, size=4, rng=random.Random(2))
    assert picked[0].pk == 6
    assert picked[1].answer == "both"


def test_a_recently_missed_item_is_in_every_round():
    attempts = [PastAttempt(drill_id=4, chosen="kms", correct=False)] * 3
    hits = sum(
        any(
            item.pk == 4
            for item in drill_round_pick(ITEMS, attempts, size=2, rng=random.Random(seed))
        )
        for seed in range(50)
    )
    assert hits == 50


def test_mastery_counts_every_studied_question_and_only_this_learners_seen_cards(
    learner, other_learner, bank
):
    seen, new, unseen = (make_question(bank, topics=["kms"]) for _ in range(3))
    fips = make_question(bank, topics=["fips"])
    archived = make_question(bank, topics=["kms"])
    Question.objects.filter(pk=archived.pk).update(is_archived=True)
    seen_card(learner, seen, due=FROZEN, lapses=2)
    Card.objects.filter(pk=seen_card(learner, fips, due=FROZEN).pk).update(stability=30.0)
    seen_card(learner, archived, due=FROZEN)  # not studied: left out
    Card.objects.create(user=learner, question=new, due=FROZEN)  # NEW: not seen yet
    seen_card(other_learner, unseen, due=FROZEN)  # someone else's
    scheduler, _ = scheduler_context(user=learner, now=FROZEN)
    exam_day = FROZEN + dt.timedelta(days=60)
    topics, overall = mastery_for(user=learner, now=FROZEN, exam_at=exam_day, scheduler=scheduler)
    by_name = {topic.topic: topic for topic in topics}
    assert set(by_name) == {"kms", "fips"}
    assert (by_name["kms"].questions, by_name["kms"].seen, by_name["kms"].lapses) == (3, 1, 2)
    assert (by_name["fips"].questions, by_name["fips"].seen, by_name["fips"].mature) == (1, 1, 1)
    assert (overall.questions, overall.seen) == (4, 2)
    # Recall: a seen card's share now, less by exam day; unseen questions count as 0.
    assert 0 < by_name["kms"].recall_now < 1 / 3 + 1e-9
    assert by_name["kms"].recall_exam < by_name["kms"].recall_now
    assert topics[0].topic == "kms"  # weakest on exam day first
