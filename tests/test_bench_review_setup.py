from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def test_signed_in_setup_prints_a_learner_whose_pages_answer(settings):
    from django.core.management import call_command

    from benchmarks.signed_in_setup import LOG_DAYS, LOGS_PER_DAY, learner_setup

    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    call_command("load_demo", verbosity=0)
    setup = learner_setup("bench-starter")
    assert ReviewLog.objects.filter(user__username="bench-starter").count() == (
        LOG_DAYS * LOGS_PER_DAY
    )
    client = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
    cookie = {"Cookie": setup["headers"]["Cookie"]}
    dashboard = client.get(setup["dashboard_url"], headers=cookie)
    assert dashboard.status_code == 200 and "bench-starter" in dashboard.content.decode()
    assert client.get(setup["exam_url"], headers=cookie).status_code == 200
    encrypted = client.post(
        setup["console_url"],
        setup["console_body"],
        content_type="application/x-www-form-urlencoded",
        headers=setup["headers"],
    )
    assert encrypted.status_code == 200
    assert "CiphertextBlob" in encrypted.content.decode()


@pytest.mark.django_db(databases=[])
@pytest.mark.parametrize(
    "script", ["kms_endpoint_bench.py", "s3_endpoint_bench.py", "pkcs11_bench.py"]
)
def test_the_endpoint_benchmarks_start_as_make_bench_runs_them(script, tmp_path):
    # make bench runs each file as a script, from the repository: its own path setup must
    # come before its imports of the project.
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, str(root / "benchmarks" / script), "--help"],
        cwd=tmp_path,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
