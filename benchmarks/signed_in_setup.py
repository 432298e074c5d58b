"""Make a learner of the starter bank with a month of history, an exam in progress and a
sandbox with a KMS key, signed in; print what the signed-in benchmark loads.

Run ``python benchmarks/signed_in_setup.py [--username U]`` with the benchmark's environment
(``DATABASE_URL`` ...) after ``load_demo``. Prints one JSON object::

    {"cookie": "...", "dashboard_url": "/dashboard/", "exam_url": "/exams/1/q/1/",
     "console_url": "/sandbox/console/", "console_body": "<urlencoded aws kms encrypt>",
     "headers": {...}}

The learner is an ordinary one: every starter-bank question answered at least once (cards in
the Review state, some due today), 20 answers a day for 30 days in the review log, a mock
exam started through the exam page, and a sandbox key made and aliased through the console.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import random
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studyapp.settings")

import django

django.setup()

from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from benchmarks.review_setup import bench_cards_create, htmx_form_headers, session_cookie
from quizzes.models import Bank, Card, ReviewLog

LOG_DAYS = 30
LOGS_PER_DAY = 20
KEY_ALIAS = "alias/bench-console"


def history_create(user: Any, bank: Bank, now: dt.datetime, rng: random.Random) -> None:
    """Cards for every question of ``bank`` and ``LOG_DAYS`` days of answers to them."""
    questions = list(bank.questions.values_list("id", "current_revision_id"))
    Card.objects.filter(user=user).delete()
    bench_cards_create(
        user=user, question_ids=[q for q, _ in questions], now=now, due_share=0.2, rng=rng,
        bank=bank,
    )  # fmt: skip
    card_of = dict(Card.objects.filter(user=user).values_list("question_id", "id"))
    logs = []
    for day in range(LOG_DAYS):
        for number in range(LOGS_PER_DAY):
            question_id, revision_id = rng.choice(questions)
            correct = rng.random() < 0.85
            logs.append(
                ReviewLog(
                    card_id=card_of[question_id],
                    user=user,
                    question_id=question_id,
                    revision_id=revision_id,
                    rating=3 if correct else 1,
                    correct=correct,
                    chosen=[0],
                    duration_ms=rng.randint(4000, 40000),
                    reviewed_at=now - dt.timedelta(days=day, minutes=rng.randint(1, 600)),
                    state_before={"state": Card.State.REVIEW, "stability": 10.0},
                    submission_id=f"history-{day}-{number}",
                )
            )
    ReviewLog.objects.bulk_create(logs, batch_size=1000)


def console_run(client: Client, command: str) -> str:
    response = client.post(reverse("sandbox_console"), {"command": command}, HTTP_HX_REQUEST="1")
    if response.status_code != 200:
        raise RuntimeError(f"{command!r} answered {response.status_code}")
    return response.text


def learner_setup(username: str, seed: int = 11) -> dict[str, Any]:
    rng = random.Random(seed)
    now = timezone.now()
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save()
    with transaction.atomic():
        history_create(user, Bank.objects.get(is_default=True), now, rng)

    client = Client(HTTP_HOST="127.0.0.1")  # a host the benchmark server allows
    client.force_login(user)
    exam = client.post(reverse("exam_start"), {"kind": "SCS-C03"})
    if exam.status_code != 302:
        raise RuntimeError(f"the exam did not start: {exam.status_code}")
    exam_url = exam["Location"]
    if "/q/" not in exam_url:
        exam_url = client.get(exam_url).get("Location", exam_url)
    if not client.get(exam_url).status_code == 200:
        raise RuntimeError(f"the exam page {exam_url} does not answer")

    created_key = console_run(client, "aws kms create-key --description bench-console")
    key_id = re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", created_key)
    if key_id is None:
        raise RuntimeError(f"create-key printed no key id: {created_key[:400]}")
    console_run(
        client, f"aws kms create-alias --alias-name {KEY_ALIAS} --target-key-id {key_id[0]}"
    )

    cookie, form_token = session_cookie(client)
    plaintext = base64.b64encode(b"card number 4111-1111-1111-1111").decode()
    command = f"aws kms encrypt --key-id {KEY_ALIAS} --plaintext {plaintext}"
    return {
        "cookie": cookie,
        "dashboard_url": reverse("dashboard"),
        "exam_url": exam_url,
        "console_url": reverse("sandbox_console"),
        "console_body": urlencode({"csrfmiddlewaretoken": form_token, "command": command}),
        "headers": htmx_form_headers(cookie),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--username", default="bench-starter")
    arguments = parser.parse_args()
    print(json.dumps(learner_setup(arguments.username)))


if __name__ == "__main__":
    main()
