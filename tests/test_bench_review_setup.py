from __future__ import annotations

import pytest
from django.test import Client

from benchmarks.review_setup import bench_learner_setup
from quizzes.models import Card, ReviewLog

pytestmark = pytest.mark.django_db


def test_bench_setup_prints_a_session_that_can_review_and_answer():
    setup = bench_learner_setup(cards=5)
    assert Card.objects.filter(user__username="bench-learner").count() == 5
    assert len(setup["answer_bodies"]) == 5

    client = Client(enforce_csrf_checks=True)
    headers = {"Cookie": setup["cookie"]}
    page = client.get(setup["review_url"], headers=headers)
    assert page.status_code == 200
    assert 'data-mode="question"' in page.content.decode()
    answer = client.post(
        setup["answer_url"],
        setup["answer_body"],
        content_type="application/x-www-form-urlencoded",
        headers=setup["headers"],
    )
    assert answer.status_code == 200
    assert "✓ Right" in answer.content.decode()
    assert ReviewLog.objects.count() == 1


def test_bench_setup_can_run_twice():
    bench_learner_setup(cards=3)
    bench_learner_setup(cards=4)
    assert Card.objects.filter(user__username="bench-learner").count() == 4
