"""The permission matrix: anonymous → login, other learner → 404, owner → 200."""

from __future__ import annotations

import pytest

from quizzes.models import Card, Exam, ReviewLog

from .factories import make_drill, make_questions
from .helpers import review_post

pytestmark = pytest.mark.django_db

LEARNER_PAGES = [
    "/review/",
    "/review/settings/",
    "/review/banks/",
    "/drill/",
    "/dashboard/",
    "/exams/",
]


@pytest.fixture
def owned(client, learner, bank):
    """A review log, a leech card and a finished and an open exam, all the learner's."""
    make_questions(bank, 3)
    client.force_login(learner)
    review_post(client, answer={"choice": "0"})
    log = ReviewLog.objects.get(user=learner)
    Card.objects.filter(pk=log.card_id).update(leech=True, lapses=6)
    client.post("/exams/start/", {"kind": "custom"})
    finished = Exam.objects.get(user=learner)
    client.post(f"/exams/{finished.pk}/finish/")
    client.post("/exams/start/", {"kind": "custom"})
    open_exam = Exam.objects.get(user=learner, status=Exam.Status.IN_PROGRESS)
    client.logout()
    return {"log": log, "card": log.card, "finished": finished, "open": open_exam}


def private_urls(owned):
    log, card, finished, open_exam = owned["log"], owned["card"], owned["finished"], owned["open"]
    return {
        "get": [
            f"/review/answered/{log.pk}/",
            f"/review/leech/{card.pk}/",
            f"/exams/{open_exam.pk}/",
            f"/exams/{open_exam.pk}/q/1/",
            f"/exams/{open_exam.pk}/finish/",
            f"/exams/{finished.pk}/result/",
        ],
        "post": [
            f"/review/leech/{card.pk}/",
            f"/exams/{open_exam.pk}/q/1/save/",
            f"/exams/{open_exam.pk}/finish/",
        ],
    }


@pytest.mark.parametrize("url", LEARNER_PAGES)
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize(
    "url", ["/review/answer/", "/review/undo/", "/drill/answer/", "/exams/start/"]
)
def test_anonymous_posts_are_sent_to_log_in(client, url):
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_anonymous_visitors_cannot_open_private_pages(client, owned):
    urls = private_urls(owned)
    for url in urls["get"]:
        assert client.get(url)["Location"].startswith("/accounts/login/"), url
    for url in urls["post"]:
        assert client.post(url)["Location"].startswith("/accounts/login/"), url


def test_another_learner_gets_404_for_logs_cards_and_exams(client, owned, other_learner):
    client.force_login(other_learner)
    urls = private_urls(owned)
    for url in urls["get"]:
        assert client.get(url).status_code == 404, url
    for url in urls["post"]:
        assert client.post(url, {"choice": "0", "submission_id": "x" * 12}).status_code == 404, url


def test_the_owner_can_open_every_private_page(client, owned, learner):
    client.force_login(learner)
    for url in private_urls(owned)["get"]:
        assert client.get(url).status_code in (200, 302), url


def test_another_learner_cannot_answer_for_questions_outside_their_banks(
    client, learner, other_learner, bank
):
    from .factories import make_bank, make_question

    private_bank = make_bank(default=False)
    question = make_question(private_bank, "single")
    client.force_login(other_learner)
    response = client.post(
        "/review/answer/",
        {
            "revision": question.current_revision_id,
            "version": 0,
            "submission_id": "abcdefgh1234",
            "shown": "0,1,2,3",
            "started": 0,
            "choice": "0",
        },
    )
    assert response.status_code == 404
    assert not ReviewLog.objects.exists()


def test_one_learner_never_sees_another_learners_queue_or_stats(client, owned, other_learner):
    client.force_login(other_learner)
    review = client.get("/review/").content.decode()
    assert 'data-mode="question"' in review
    assert 'value="0" name="version"' in review or 'name="version" value="0"' in review
    dashboard = client.get("/dashboard/").content.decode()
    assert '<span class="stat-value" data-stat="streak">0</span>' in dashboard
    assert "Leeches" not in dashboard
    assert "No exams yet." in client.get("/exams/").content.decode()


def test_undo_only_touches_the_learners_own_answers(client, owned, other_learner):
    client.force_login(other_learner)
    client.post("/review/undo/")
    assert ReviewLog.objects.get(pk=owned["log"].pk).voided_at is None


def test_drill_feedback_of_another_learner_is_not_shown(client, learner, other_learner):
    from quizzes.models import KeywordAttempt

    drill = make_drill("PKCS #11", "cloudhsm")
    attempt = KeywordAttempt.objects.create(user=learner, drill=drill, chosen="kms", correct=False)
    client.force_login(other_learner)
    html = client.get(f"/drill/?last={attempt.pk}&queue=").content.decode()
    assert "you said" not in html
