from __future__ import annotations

import datetime as dt
import re

import pytest

from quizzes.models import Exam, ExamItem

from .factories import make_question, make_questions

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, learner):
    client.force_login(learner)
    return client


@pytest.fixture
def exam(signed_in, bank, frozen_now):
    make_questions(bank, 4, topics=["kms"])
    make_question(bank, "match", topics=["decision"])
    signed_in.post("/exams/start/", {"kind": "custom"})
    return Exam.objects.get()


def correct_choice(item: ExamItem) -> str:
    options = item.revision.data["options"]
    return str(next(i for i, option in enumerate(options) if option.get("correct")))


def single_item(exam: Exam) -> ExamItem:
    return exam.items.filter(question__type="single").order_by("position").first()


def test_the_exam_list_offers_the_three_exams_scaled_to_the_bank(signed_in, bank):
    make_questions(bank, 5)
    html = signed_in.get("/exams/").content.decode()
    assert "Security Specialty (SCS-C03)" in html
    assert "5 questions · 14 minutes (the real one: 65 in 170 min" in html
    assert "5 questions · 12 minutes (the real one: 75 in 180 min" in html
    assert "5 questions · 10 minutes</span>" in html


def test_starting_an_exam_opens_question_one(signed_in, bank):
    make_questions(bank, 3)
    response = signed_in.post("/exams/start/", {"kind": "SCS-C03"})
    exam = Exam.objects.get()
    assert response["Location"] == f"/exams/{exam.pk}/q/1/"
    assert exam.items.count() == 3
    assert exam.duration_minutes == 8


def test_the_question_page_has_a_navigator_timer_and_autosave_form(signed_in, exam):
    html = signed_in.get(f"/exams/{exam.pk}/q/2/").content.decode()
    assert 'class="nav-q is-current" aria-current="step"' in html
    assert html.count('class="nav-q') >= 5
    assert "Time left: <strong data-time-left>0:10:00</strong>" in html
    assert f'hx-post="/exams/{exam.pk}/q/2/save/" hx-trigger="change"' in html
    assert 'name="go" value="next"' in html


def test_autosave_with_htmx_returns_the_status_region(signed_in, exam, frozen_now):
    item = single_item(exam)
    response = signed_in.post(
        f"/exams/{exam.pk}/q/{item.position}/save/",
        {"choice": "1", "flagged": "on"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<aside id="exam-status"')
    assert "Saved at" in html
    assert "is-answered is-flagged is-current" in html
    assert "HX-Request" in response["Vary"]
    item.refresh_from_db()
    assert item.answer == 1
    assert item.flagged


def test_save_and_next_without_javascript_redirects(signed_in, exam):
    response = signed_in.post(f"/exams/{exam.pk}/q/1/save/", {"go": "next"})
    assert response["Location"] == f"/exams/{exam.pk}/q/2/"
    last = signed_in.post(f"/exams/{exam.pk}/q/5/save/", {"go": "next"})
    assert last["Location"] == f"/exams/{exam.pk}/finish/"
    back = signed_in.post(f"/exams/{exam.pk}/q/3/save/", {"go": "previous"})
    assert back["Location"] == f"/exams/{exam.pk}/q/2/"


def test_a_reload_shows_the_saved_answer(signed_in, exam):
    item = single_item(exam)
    signed_in.post(f"/exams/{exam.pk}/q/{item.position}/save/", {"choice": "2"})
    html = signed_in.get(f"/exams/{exam.pk}/q/{item.position}/").content.decode()
    assert re.search(r'name="choice" value="2"[^>]*checked', html)


def test_a_partial_match_answer_is_kept(signed_in, exam):
    item = exam.items.get(question__type="match")
    signed_in.post(f"/exams/{exam.pk}/q/{item.position}/save/", {"pair_1": "AWS CloudHSM"})
    item.refresh_from_db()
    assert item.answer == [None, "AWS CloudHSM", None]
    html = signed_in.get(f"/exams/{exam.pk}/q/{item.position}/").content.decode()
    assert '<option value="AWS CloudHSM" selected>' in html


def test_autosave_after_the_deadline_is_refused_and_redirects_to_the_result(
    signed_in, exam, frozen_now
):
    item = single_item(exam)
    signed_in.post(f"/exams/{exam.pk}/q/{item.position}/save/", {"choice": correct_choice(item)})
    frozen_now.advance(minutes=11)
    response = signed_in.post(
        f"/exams/{exam.pk}/q/{item.position}/save/", {"choice": "3"}, headers={"HX-Request": "true"}
    )
    assert response["HX-Redirect"] == f"/exams/{exam.pk}/result/"
    exam.refresh_from_db()
    assert exam.status == Exam.Status.TIMED_OUT
    item.refresh_from_db()
    assert item.answer == int(correct_choice(item))
    assert item.correct


def test_opening_a_question_after_the_deadline_times_the_exam_out(signed_in, exam, frozen_now):
    frozen_now.advance(minutes=10, seconds=1)
    response = signed_in.get(f"/exams/{exam.pk}/q/1/", follow=True)
    assert response.redirect_chain[-1][0] == f"/exams/{exam.pk}/result/"
    assert "Time is up" in response.content.decode()
    assert "The time ran out" in response.content.decode()


def test_the_finish_page_lists_unanswered_and_flagged_questions(signed_in, exam):
    signed_in.post(f"/exams/{exam.pk}/q/2/save/", {"flagged": "on"})
    html = signed_in.get(f"/exams/{exam.pk}/finish/").content.decode()
    assert "5 unanswered" in html
    assert "Flagged for review:" in html


def test_submitting_shows_the_score_breakdown_and_every_question(signed_in, exam):
    for item in exam.items.filter(question__type="single"):
        signed_in.post(
            f"/exams/{exam.pk}/q/{item.position}/save/", {"choice": correct_choice(item)}
        )
    response = signed_in.post(f"/exams/{exam.pk}/finish/", follow=True)
    html = response.content.decode()
    exam.refresh_from_db()
    assert exam.status == Exam.Status.SUBMITTED
    assert exam.raw_score == 0.8
    assert f"<span data-scaled-score>{exam.scaled_score}</span>" in html
    assert '<th scope="row">KMS</th><td>4</td><td>4</td>' in html
    assert '<th scope="row">Decision</th><td>1</td><td>0</td>' in html
    assert html.count('class="exam-review-item') == 5
    assert "RDS calls KMS for you." in html
    assert "How the score is scaled" in html


def test_the_result_of_an_exam_in_progress_is_not_shown(signed_in, exam):
    assert signed_in.get(f"/exams/{exam.pk}/result/").status_code == 404


def test_resuming_goes_to_the_first_unanswered_question(signed_in, exam):
    signed_in.post(f"/exams/{exam.pk}/q/1/save/", {"choice": "0", "pair_0": "AWS KMS"})
    response = signed_in.get(f"/exams/{exam.pk}/")
    assert response["Location"] == f"/exams/{exam.pk}/q/2/"


def test_the_deadline_is_checked_on_the_server_clock(signed_in, exam, frozen_now):
    frozen_now.advance(minutes=9, seconds=59)
    response = signed_in.post(f"/exams/{exam.pk}/q/1/save/", {"go": "next"})
    assert response["Location"] == f"/exams/{exam.pk}/q/2/"
    assert exam.deadline - frozen_now.now == dt.timedelta(seconds=1)
