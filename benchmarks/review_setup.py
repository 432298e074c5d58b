"""Make a signed-in learner with N due cards and print what wrk needs to load the review page.

Run ``python benchmarks/review_setup.py --cards N [--username U] [--seed S]`` with the
benchmark's environment (``DATABASE_URL`` ...). Prints one JSON object::

    {"cookie": "sessionid=…; csrftoken=…", "csrf": "<form token>",
     "review_url": "/review/", "answer_url": "/review/answer/",
     "answer_body": "<urlencoded form for the first due card>",
     "answer_bodies": ["<one per due card>", …],
     "headers": {"Cookie": …, "Content-Type": …, "HX-Request": "true"}}

Each body answers one due card once. Posting the same body again is a duplicate submission
(answered from the log, nothing written); with ``HX-Request: true`` the answer returns the
feedback region (200) instead of a redirect (302). Run it once per ``--username`` for
several learners (the benchmark bank and its questions are shared); the learner's cards are
synced, as their first review would, so requests measure the steady state.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studyapp.settings")

import django

django.setup()

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from content.markdown import render_inline
from quizzes.models import Bank, BankSubscription, Card, Question, QuestionRevision
from quizzes.selectors import study_banks_for
from quizzes.services_review import (
    bank_questions_added,
    review_cards_sync,
    review_settings_for,
)

BENCH_BANK = "bench-review"

_OPTIONS = [
    {"text": "AWS KMS", "correct": True, "feedback": "Native integration with AWS services."},
    {"text": "AWS CloudHSM", "feedback": "Services cannot call a cluster directly."},
    {"text": "AWS Certificate Manager", "feedback": "ACM manages TLS certificates."},
    {"text": "AWS Secrets Manager", "feedback": "It stores secrets and encrypts them with KMS."},
]


def bench_question_data(number: int) -> dict[str, Any]:
    return {
        "key": f"bench-{number}",
        "type": "single",
        "prompt": f"Scenario {number}: encrypt Amazon S3 objects with native integration. "
        "Which service holds the key?",
        "options": _OPTIONS,
        "explanation": "**KMS** integrates natively with S3, EBS and RDS.",
        "keyword": "native integration",
        "topics": ["decision", ["kms", "cloudhsm", "custom-key-stores"][number % 3]],
        "difficulty": 1,
        "lesson": "cloudhsm-vs-kms",
    }


def bench_questions_create(bank: Bank, count: int) -> list[int]:
    """``count`` published single-choice questions, inserted in bulk. Returns their ids."""
    start = bank.questions.count()
    rendered_once = {
        "prompt": render_inline(bench_question_data(0)["prompt"]),
        "explanation": render_inline(bench_question_data(0)["explanation"]),
        "options": [
            {"text": render_inline(o["text"]), "feedback": render_inline(o["feedback"])}
            for o in _OPTIONS
        ],
    }
    numbers = range(start + 1, start + count + 1)
    questions = Question.objects.bulk_create(
        [
            Question(
                bank=bank,
                key=f"bench-{n}",
                type="single",
                status=Question.Status.PUBLISHED,
                topics=bench_question_data(n)["topics"],
                difficulty=1,
                position=n,
            )
            for n in numbers
        ],
        batch_size=5000,
    )
    ids = [question.pk for question in questions]
    if None in ids:  # backends without RETURNING (none of ours today)
        ids = list(
            bank.questions.filter(position__gte=start + 1)
            .order_by("position")
            .values_list("id", flat=True)
        )
    QuestionRevision.objects.bulk_create(
        [
            QuestionRevision(
                question_id=pk, number=1, data=bench_question_data(n), rendered=rendered_once
            )
            for pk, n in zip(ids, numbers, strict=True)
        ],
        batch_size=5000,
    )
    bank_questions_added(bank_id=bank.pk)
    question_table = connection.ops.quote_name(Question._meta.db_table)
    revision_table = connection.ops.quote_name(QuestionRevision._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {question_table} SET current_revision_id = "
            f"(SELECT r.id FROM {revision_table} r WHERE r.question_id = {question_table}.id) "
            f"WHERE bank_id = %s AND current_revision_id IS NULL",
            [bank.pk],
        )
    return ids


def bench_cards_create(
    *,
    user,
    question_ids: list[int],
    now: dt.datetime,
    due_share: float,
    rng: random.Random,
    bank: Bank | None = None,
) -> int:
    """Review-state cards for ``question_ids`` (of ``bank``, the benchmark bank by default);
    ``due_share`` of them already due."""
    bank_id = (bank or bench_bank()).pk
    cards = []
    for pk in question_ids:
        if rng.random() < due_share:
            due = now - dt.timedelta(minutes=rng.randint(1, 60 * 24 * 30))
        else:
            due = now + dt.timedelta(minutes=rng.randint(60, 60 * 24 * 365))
        cards.append(
            Card(
                user=user,
                question_id=pk,
                bank_id=bank_id,
                state=Card.State.REVIEW,
                stability=rng.uniform(1, 90),
                difficulty=rng.uniform(2, 9),
                due=due,
                last_review=due - dt.timedelta(days=rng.randint(1, 60)),
                reps=rng.randint(2, 20),
                lapses=rng.randint(0, 3),
            )
        )
    Card.objects.bulk_create(cards, batch_size=5000)
    return len(cards)


def bench_bank() -> Bank:
    bank, _ = Bank.objects.get_or_create(
        slug=BENCH_BANK,
        defaults={"title": "Benchmark bank", "is_published": True, "is_default": False},
    )
    return bank


def bench_learner_setup(
    *, cards: int, username: str = "bench-learner", seed: int = 7
) -> dict[str, Any]:
    """A learner with ``cards`` due cards, signed in: its cookie and one answer body per card."""
    rng = random.Random(seed)
    now = timezone.now()
    User = get_user_model()
    with transaction.atomic():
        bank = bench_bank()
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save()
        Card.objects.filter(user=user).delete()
        BankSubscription.objects.get_or_create(user=user, bank=bank)
        available = list(bank.questions.order_by("position").values_list("id", flat=True))
        missing = cards - len(available)
        if missing > 0:
            available += bench_questions_create(bank, missing)
        question_ids = available[:cards]
        bench_cards_create(
            user=user, question_ids=question_ids, now=now, due_share=1.0, rng=rng, bank=bank
        )
        # The learner's cards were replaced: sync again (NEW cards for any other
        # question of the bank), as the review page would on its first visit.
        learner_settings = review_settings_for(user=user)
        learner_settings.synced_banks = {}
        review_cards_sync(
            user=user, banks=study_banks_for(user=user), now=now, settings=learner_settings
        )

    client = Client()
    client.force_login(user)
    cookie, form_token = session_cookie(client)

    bodies = []
    cards = (
        Card.objects.filter(user=user)
        .select_related("question")
        .order_by("due", "id")
        .values_list("question__current_revision_id", "version")
    )
    started = int(now.timestamp() * 1000)
    for index, (revision_id, version) in enumerate(cards):
        bodies.append(
            urlencode(
                {
                    "csrfmiddlewaretoken": form_token,
                    "revision": revision_id,
                    "version": version,
                    "submission_id": f"bench{seed}x{index:08d}",
                    "shown": "0,1,2,3",
                    "started": started,
                    "choice": "0",
                }
            )
        )
    return {
        "cookie": cookie,
        "csrf": form_token,
        "review_url": reverse("review"),
        "answer_url": reverse("review_answer"),
        "answer_body": bodies[0] if bodies else "",
        "answer_bodies": bodies,
        "headers": htmx_form_headers(cookie),
    }


def session_cookie(client: Client) -> tuple[str, str]:
    """(the ``Cookie`` header of ``client``'s session with a CSRF cookie, a form token for it)."""
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    request = RequestFactory().get("/")
    form_token = get_token(request)
    csrf_cookie = request.META["CSRF_COOKIE"]
    cookie = f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf_cookie}"
    return cookie, form_token


def htmx_form_headers(cookie: str) -> dict[str, str]:
    """What an htmx form POST of the signed-in page sends."""
    return {
        "Cookie": cookie,
        "Content-Type": "application/x-www-form-urlencoded",
        "HX-Request": "true",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=200, help="due cards to create")
    parser.add_argument("--username", default="bench-learner")
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    setup = bench_learner_setup(
        cards=arguments.cards, username=arguments.username, seed=arguments.seed
    )
    print(json.dumps(setup))


if __name__ == "__main__":
    main()
