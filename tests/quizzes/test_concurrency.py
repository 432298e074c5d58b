"""Two requests racing on one card: row locks and the submission id keep one log.

Threads need a database that lets two connections wait on each other's locks, so these
run on PostgreSQL (``DATABASE_URL=postgres://...``); the sequential double submit is tested
on every database in test_services_review.py and test_views_review.py.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from quizzes.models import Card, ReviewLog
from quizzes.services_review import StaleCardError, review_answer_submit

from .conftest import FROZEN
from .factories import make_bank, make_question

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL row locks across threads"
    ),
]


def race(user, revision, submissions: list[str], *, version: int = 0) -> list[object]:
    barrier = threading.Barrier(len(submissions))
    results: list[object] = [None] * len(submissions)

    def worker(index: int, submission_id: str) -> None:
        from django.db import connections

        try:
            barrier.wait()
            results[index] = review_answer_submit(
                user=user,
                revision=revision,
                answer=0,
                guessed=False,
                duration_ms=9_000,
                submission_id=submission_id,
                seen_version=version,
                now=FROZEN,
                fuzz=False,
            )
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, sub)) for i, sub in enumerate(submissions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_the_same_submission_racing_twice_makes_one_log(learner):
    question = make_question(make_bank(), "single")
    results = race(learner, question.current_revision, ["same-submission"] * 4)
    assert not [r for r in results if isinstance(r, Exception)]
    assert ReviewLog.objects.filter(user=learner).count() == 1
    assert sum(1 for r in results if not r.duplicate) == 1
    card = Card.objects.get(user=learner)
    assert card.reps == 1
    assert card.version == 1


def test_two_tabs_racing_on_one_card_count_once(learner):
    question = make_question(make_bank(), "single")
    results = race(learner, question.current_revision, ["tab-one-000", "tab-two-000"])
    stale = [r for r in results if isinstance(r, StaleCardError)]
    assert len(stale) == 1
    assert ReviewLog.objects.filter(user=learner).count() == 1
    assert Card.objects.get(user=learner).reps == 1
