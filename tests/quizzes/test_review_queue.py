"""The review queue read from pre-created cards: sync, the SQL read path, and its cost."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from quizzes import selectors, sql
from quizzes.models import Bank, BankSubscription, Card, Question, ReviewLog
from quizzes.selectors import (
    cards_due_for,
    due_count_for,
    new_cards_for,
    review_logs,
    study_banks_for,
)
from quizzes.services_review import (
    review_answer_submit,
    review_queue_refresh,
    review_settings_for,
)

from .conftest import FROZEN
from .factories import make_bank, make_question, make_questions
from .helpers import review_post

pytestmark = pytest.mark.django_db


def seen(user, question, *, due, **fields):
    return Card.objects.create(
        user=user, question=question, state=Card.State.REVIEW, stability=5.0, difficulty=5.0,
        due=due, last_review=due - dt.timedelta(days=5), reps=3, **fields,
    )  # fmt: skip


def logged(user, card, *, at, state=Card.State.REVIEW, **fields):
    return ReviewLog.objects.create(
        card=card, user=user, question=card.question, revision=card.question.current_revision,
        rating=3, correct=True, chosen=0, reviewed_at=at, state_before={"state": state},
        submission_id=f"log-{at.timestamp()}-{card.pk}", **fields,
    )  # fmt: skip


def test_the_sql_queue_agrees_with_the_orm_on_a_mixed_deck(learner):
    studied, other = make_bank(default=True), make_bank(default=False)
    due_early, due_late, future, suspended, draft, archived, *fresh = make_questions(studied, 9)
    Question.objects.filter(pk=draft.pk).update(status=Question.Status.DRAFT)
    Question.objects.filter(pk=archived.pk).update(is_archived=True)
    Question.objects.filter(pk=fresh[0].pk).update(is_archived=True)  # a new, archived one
    elsewhere = make_question(other)
    seen(learner, due_late, due=FROZEN - dt.timedelta(hours=1))
    first = seen(learner, due_early, due=FROZEN - dt.timedelta(days=3))
    seen(learner, future, due=FROZEN + dt.timedelta(hours=1))
    seen(learner, suspended, due=FROZEN - dt.timedelta(days=9), suspended=True)
    seen(learner, draft, due=FROZEN - dt.timedelta(days=9))
    seen(learner, archived, due=FROZEN - dt.timedelta(days=9))
    seen(learner, elsewhere, due=FROZEN - dt.timedelta(days=9))
    logged(learner, first, at=FROZEN - dt.timedelta(hours=2), state=Card.State.NEW)
    logged(learner, first, at=FROZEN - dt.timedelta(hours=1))
    logged(learner, first, at=FROZEN - dt.timedelta(minutes=50), voided_at=FROZEN)
    logged(learner, first, at=FROZEN - dt.timedelta(minutes=40), source="exam")
    logged(learner, first, at=FROZEN - dt.timedelta(days=1), state=Card.State.NEW)

    queue = review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)

    bank_ids = [studied.pk]
    today = review_logs(learner).filter(reviewed_at__gte=FROZEN.replace(hour=0, minute=0))
    assert queue.card == cards_due_for(user=learner, now=FROZEN, bank_ids=bank_ids)[0] == first
    assert queue.due_count == due_count_for(user=learner, until=FROZEN, bank_ids=bank_ids) == 2
    new = new_cards_for(user=learner, bank_ids=bank_ids, limit=20)
    assert queue.new_count == len(new) == 2  # fresh[1:], not the archived fresh[0]
    assert [Card.objects.get(pk=pk).question for pk in new] == fresh[1:]
    assert queue.done_today == today.count() == 2
    assert queue.new_count == 2  # 20 a day, one introduced today
    limited = review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=2)
    assert limited.new_count == 1


def test_new_questions_are_shown_in_the_order_they_were_added_after_due_ones(learner, bank):
    questions = make_questions(bank, 3)
    queue = review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)
    assert queue.question == questions[0]
    assert queue.is_new
    assert queue.new_count == 3
    assert Card.objects.filter(user=learner, state=Card.State.NEW).count() == 3


def test_a_question_added_later_gets_a_card_on_the_next_review(learner, bank):
    make_questions(bank, 2)
    review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)
    serial = Bank.objects.get(pk=bank.pk).question_serial
    added = make_question(bank)
    assert Bank.objects.get(pk=bank.pk).question_serial == serial + 1
    queue = review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)
    assert queue.new_count == 3
    assert Card.objects.filter(user=learner, question=added, state=Card.State.NEW).exists()
    assert review_settings_for(user=learner).synced_banks == {str(bank.pk): serial + 1}


def test_cards_are_synced_only_when_a_bank_changed(learner, bank):
    make_questions(bank, 2)
    review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)
    with CaptureQueriesContext(connection) as queries:
        review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)
    assert not [q for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))]


def test_a_newly_chosen_bank_gets_its_cards(learner, bank):
    make_questions(bank, 2)
    review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)
    chosen = make_bank(default=False)
    make_questions(chosen, 3)
    BankSubscription.objects.create(user=learner, bank=chosen)
    queue = review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)
    assert queue.new_count == 3
    assert queue.question.bank == chosen


def test_deleting_a_bank_deletes_its_learners_cards(learner, bank):
    make_questions(bank, 3)
    review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)
    assert Card.objects.filter(user=learner).count() == 3
    bank.delete()  # the cards go with their questions
    assert not Card.objects.exists()


def test_suspended_new_cards_are_not_offered(learner, bank):
    first, second = make_questions(bank, 2)
    review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)
    Card.objects.filter(user=learner, question=first).update(suspended=True)
    queue = review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)
    assert queue.question == second
    assert queue.new_count == 1


def test_due_counts_stop_at_the_cap(learner, bank, monkeypatch):
    for question in make_questions(bank, 3):
        seen(learner, question, due=FROZEN - dt.timedelta(hours=1))
    monkeypatch.setattr(sql, "DUE_COUNT_CAP", 1)
    monkeypatch.setattr(selectors, "DUE_COUNT_CAP", 1)
    sql.queue_sql.cache_clear()
    try:
        queue = review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=0)
        assert queue.due_count == 2  # counted up to the cap + 1
        assert queue.remaining_capped
    finally:
        sql.queue_sql.cache_clear()


def test_answering_a_new_card_marks_its_log_as_introducing_it(learner, single):
    review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)
    outcome = review_answer_submit(
        user=learner, revision=single.current_revision, answer=0, guessed=False,
        duration_ms=9_000, submission_id="intro-0001", seen_version=0, now=FROZEN, fuzz=False,
    )  # fmt: skip
    log = ReviewLog.objects.get(pk=outcome.log.pk)
    assert log.new_card
    assert log.state_before["state"] == Card.State.NEW
    card = Card.objects.get(pk=outcome.card.pk)
    assert (card.state, card.version, card.reps) == (Card.State.LEARNING, 1, 1)
    assert card.bank_id == single.bank_id


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plan")
def test_the_queue_reads_only_from_its_indexes(learner, bank):
    make_questions(bank, 2)
    banks = study_banks_for(user=learner)
    review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)
    params = [learner.pk, False, bank.pk, bank.pk]
    today = [learner.pk, FROZEN]
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN QUERY PLAN " + sql.queue_sql(connection.vendor, len(banks)),
            [*params, FROZEN, *params, FROZEN, *params, 20, *params, *today, *today, True],
        )
        plan = " ".join(row[3] for row in cursor.fetchall())
    for index in ("card_due_queue", "card_new_queue", "question_not_live", "log_review_day"):
        assert f"INDEX {index}" in plan
    assert "SCAN quizzes_card" not in plan
    assert "SCAN quizzes_question" not in plan


def test_the_review_page_and_an_answer_take_few_queries(client, learner, bank):
    make_questions(bank, 3)
    client.force_login(learner)
    client.get("/review/")  # the first visit creates the learner's settings and cards
    with CaptureQueriesContext(connection) as page:
        client.get("/review/")
    # session, user, profile, settings, banks, queue, card, instructor role
    assert len(page) <= 8, [q["sql"] for q in page]
    with CaptureQueriesContext(connection) as answer:
        review_post(client, answer={"choice": "0"}, htmx=True)
    # the page above (8), then: session, user, profile, settings, banks, revision, card lock,
    # card, log, queue counts, plus the transaction's BEGIN and COMMIT on SQLite
    assert len(answer) - 8 <= 12, [q["sql"] for q in answer]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent connections (PostgreSQL)"
)
def test_learners_syncing_at_once_get_one_card_per_question(learner):
    make_questions(make_bank(), 5)
    review_settings_for(user=learner)
    barrier = threading.Barrier(4)
    errors: list[Exception] = []

    def worker() -> None:
        from django.db import connections

        try:
            barrier.wait()
            review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert Card.objects.filter(user=learner).count() == 5


def test_reading_the_queue_writes_nothing_and_refreshing_it_syncs_cards(learner):
    make_questions(make_bank(default=True), 2)

    queue = selectors.review_queue_for(user=learner, now=FROZEN, new_cards_per_day=20)

    assert queue.card is None and queue.new_count == 0
    assert not Card.objects.filter(user=learner).exists()
    refreshed = review_queue_refresh(user=learner, now=FROZEN, new_cards_per_day=20)
    assert refreshed.new_count == 2 and refreshed.card is not None
    assert Card.objects.filter(user=learner).count() == 2
