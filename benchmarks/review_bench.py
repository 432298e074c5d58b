"""Due-queue selection: a learner with 100,000 card states against one with 1,000.

Run: ``.venv/bin/python benchmarks/review_bench.py`` (uses a throwaway test database: an
in-memory SQLite one, or ``test_<name>`` on the server when DATABASE_URL points at
PostgreSQL). Prints medians and the ratio big/small; the target is at most 2x, which holds
when the ``card_due_queue`` index on (user, suspended, due, …) serves the query. Both
learners study the same 100,000-question bank, so each has a card for every question (the
small deck's other 99,000 are NEW). The whole review-page queue — the one statement that
counts due, new and today's cards and picks the next card, plus that card — is measured too;
its query plan is printed.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studyapp.settings")
os.environ.setdefault("TESTING", "1")

import django

django.setup()

from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import setup_test_environment
from django.utils import timezone

from benchmarks.review_setup import (
    bench_bank,
    bench_cards_create,
    bench_questions_create,
)
from quizzes import sql
from quizzes.models import BankSubscription
from quizzes.selectors import cards_due_for, due_count_for, study_bank_ids_for, study_banks_for
from quizzes.services_review import review_cards_sync, review_queue_refresh

SMALL, BIG = 1_000, 100_000
DUE_SHARE = 0.1
RUNS = 60


def median_ms(fn: Callable[[], object], runs: int = RUNS) -> float:
    for _ in range(5):
        fn()
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def query_plan(user, now) -> str:
    """The plan of the review queue's statement (what ``review_queue_for`` runs)."""
    bank_ids = study_bank_ids_for(user=user)
    cards = [user.pk, False, *bank_ids, *bank_ids]
    when = connection.ops.adapt_datetimefield_value(now)
    params = [*cards, when, *cards, when, *cards, 20, *cards, user.pk, when, user.pk, when, True]
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(explain + sql.queue_sql(connection.vendor, len(bank_ids)), params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def main() -> None:
    setup_test_environment()
    if connection.vendor != "sqlite":
        # A database of its own, so a test run on the same server is never clobbered.
        connection.settings_dict["TEST"]["NAME"] = (
            f"{connection.settings_dict['NAME']}_review_bench"
        )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run() -> None:
    rng = random.Random(42)
    now = timezone.now()
    users = get_user_model().objects
    small = users.create(username="small-deck")
    big = users.create(username="big-deck")
    bank = bench_bank()
    for user in (small, big):
        BankSubscription.objects.create(user=user, bank=bank)
    started = time.perf_counter()
    question_ids = bench_questions_create(bank, BIG)
    bench_cards_create(
        user=small, question_ids=question_ids[:SMALL], now=now, due_share=DUE_SHARE, rng=rng
    )
    bench_cards_create(user=big, question_ids=question_ids, now=now, due_share=DUE_SHARE, rng=rng)
    for user in (small, big):  # NEW cards for the rest of the bank, as the first review would
        review_cards_sync(user=user, banks=study_banks_for(user=user), now=now)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    setup_seconds = time.perf_counter() - started

    def due(user):
        return lambda: cards_due_for(user=user, now=now, limit=20)

    def count(user):
        bank_ids = study_bank_ids_for(user=user)
        return lambda: due_count_for(user=user, until=now, bank_ids=bank_ids)

    def queue(user):
        return lambda: review_queue_refresh(user=user, now=now, new_cards_per_day=20)

    rows = []
    for label, make, runs in (
        ("due queue: next 20 due cards", due, RUNS),
        ("due count (stops at 1,001 rows)", count, RUNS),
        ("whole review queue", queue, RUNS),
    ):
        small_ms = median_ms(make(small), runs)
        big_ms = median_ms(make(big), runs)
        rows.append((label, small_ms, big_ms, big_ms / small_ms))

    print(
        f"== Review due-queue selection ({connection.vendor}; {SMALL:,} vs {BIG:,} card states,"
        f" {DUE_SHARE:.0%} due; median of {RUNS}; data built in {setup_seconds:.1f} s) =="
    )
    print(f"{'query':34} {'1,000 cards':>12} {'100,000 cards':>14} {'ratio':>7}")
    for label, small_ms, big_ms, ratio in rows:
        print(f"{label:34} {small_ms:10.3f}ms {big_ms:12.3f}ms {ratio:6.2f}x")
    ratio = rows[0][3]
    verdict = "OK" if ratio <= 2 else "ABOVE TARGET"
    print(f"due-queue ratio {ratio:.2f}x (target <= 2x): {verdict}")
    print("query plan of the review queue for the big deck:")
    print("  " + query_plan(big, now).replace("\n", "\n  "))


if __name__ == "__main__":
    main()
