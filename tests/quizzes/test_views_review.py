from __future__ import annotations

import datetime as dt
import re

import pytest

from quizzes.models import Card, ReviewLog, ReviewSettings

from .factories import make_drill, make_question
from .helpers import hidden_fields, review_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, learner):
    client.force_login(learner)
    return client


def test_the_review_page_shows_a_question_with_a_form(signed_in, single, frozen_now):
    response = signed_in.get("/review/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert 'id="review-card"' in html
    assert 'data-mode="question"' in html
    assert "integrates natively with Amazon RDS" in html
    fields = hidden_fields(html)
    assert fields["revision"] == str(single.current_revision_id)
    assert fields["version"] == "0"
    assert sorted(fields["shown"].split(",")) == ["0", "1", "2", "3"]
    assert response["Vary"].count("HX-Request") == 1


def test_an_htmx_request_gets_only_the_card_region(signed_in, single):
    response = signed_in.get("/review/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="review-card"')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_options_are_shown_in_the_order_the_form_carries(signed_in, single):
    html = signed_in.get("/review/").content.decode()
    shown = hidden_fields(html)["shown"].split(",")
    values = re.findall(r'name="choice" value="(\d+)"', html)
    assert values == shown


def test_answering_without_javascript_redirects_to_the_feedback(signed_in, single, frozen_now):
    response, fields = review_post(signed_in, answer={"choice": "0"})
    log = ReviewLog.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/review/answered/{log.pk}/?shown={fields['shown']}"
    feedback = signed_in.get(response["Location"]).content.decode()
    assert "✓ Right" in feedback
    assert "<mark>Amazon RDS</mark>" in feedback
    assert "RDS calls KMS for you." in feedback
    assert 'href="/lessons/cloudhsm-vs-kms/#quick-decision-guide"' in feedback


def test_answering_with_htmx_swaps_in_the_feedback(signed_in, single, frozen_now):
    response, _ = review_post(signed_in, answer={"choice": "1"}, htmx=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="review-card"')
    assert "✗ Not quite" in html
    assert "Rated <strong>Again</strong>" in html
    assert "RDS cannot call a cluster directly." in html
    assert "data-continue" in html


def test_the_feedback_lists_options_in_the_shown_order(signed_in, single):
    response, fields = review_post(signed_in, answer={"choice": "0"}, htmx=True)
    html = response.content.decode()
    texts = ["AWS KMS", "AWS CloudHSM", "AWS Certificate Manager", "Amazon Macie"]
    shown = [texts[int(i)] for i in fields["shown"].split(",")]
    positions = [html.index(f"<p>{text}</p>") for text in shown]
    assert positions == sorted(positions)


def test_a_missing_answer_shows_a_form_error_and_logs_nothing(signed_in, single):
    response, _ = review_post(signed_in, answer={})
    assert response.status_code == 200
    assert "Choose an answer." in response.content.decode()
    assert not ReviewLog.objects.exists()


def test_slow_answers_are_rated_hard(signed_in, single, frozen_now):
    page = signed_in.get("/review/")
    fields = hidden_fields(page.content.decode())
    frozen_now.advance(seconds=75)
    signed_in.post("/review/answer/", {**fields, "choice": "0"})
    assert ReviewLog.objects.get().rating == 2
    assert ReviewLog.objects.get().duration_ms == 75_000


def test_ticking_i_guessed_rates_a_right_answer_hard(signed_in, single):
    review_post(signed_in, answer={"choice": "0", "guessed": "on"})
    assert ReviewLog.objects.get().rating == 2


def test_a_double_click_posts_once(signed_in, single):
    page = signed_in.get("/review/")
    fields = hidden_fields(page.content.decode())
    first = signed_in.post("/review/answer/", {**fields, "choice": "0"})
    second = signed_in.post("/review/answer/", {**fields, "choice": "0"})
    assert ReviewLog.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_an_answer_from_a_second_tab_is_not_counted_twice(signed_in, single):
    tab_one = hidden_fields(signed_in.get("/review/").content.decode())
    tab_two = hidden_fields(signed_in.get("/review/").content.decode())
    signed_in.post("/review/answer/", {**tab_one, "choice": "0"})
    response = signed_in.post("/review/answer/", {**tab_two, "choice": "0"}, follow=True)
    assert ReviewLog.objects.count() == 1
    assert "already answered that card" in response.content.decode()


def test_every_question_type_can_be_answered_through_the_form(signed_in, bank):
    answers = {
        "multiple": {"choices": ["0", "2"]},
        "truefalse": {"choice": "false"},
        "match": {"pair_0": "AWS KMS", "pair_1": "AWS CloudHSM", "pair_2": "AWS CloudHSM"},
        "order": {"step_0": "1", "step_1": "2", "step_2": "3", "step_3": "4"},
    }
    for qtype, answer in answers.items():
        make_question(bank, qtype)
        review_post(signed_in, answer=answer)
        log = ReviewLog.objects.latest("id")
        assert log.question.type == qtype
        assert log.correct, qtype


def test_an_ordering_answer_must_use_each_position_once(signed_in, bank):
    make_question(bank, "order")
    response, _ = review_post(
        signed_in, answer={"step_0": "1", "step_1": "1", "step_2": "3", "step_3": "4"}
    )
    assert "Use each position once." in response.content.decode()
    assert not ReviewLog.objects.exists()


def test_undo_restores_the_card_and_shows_it_again(signed_in, single, learner):
    review_post(signed_in, answer={"choice": "0"})
    response = signed_in.post("/review/undo/", follow=True)
    card = Card.objects.get(user=learner)
    assert card.state == Card.State.NEW
    assert ReviewLog.objects.get().voided_at is not None
    assert "Undone" in response.content.decode()
    assert 'data-mode="question"' in response.content.decode()


def test_a_bank_without_questions_says_there_is_nothing_to_study_and_where_to_go(signed_in, bank):
    html = signed_in.get("/review/").content.decode()
    assert 'data-mode="done"' in html
    assert "Nothing to study yet" in html and "All caught up" not in html
    assert 'href="/review/banks/"' in html


def test_a_queue_emptied_by_answering_is_caught_up(signed_in, single):
    review_post(signed_in, answer={"choice": "0"})
    html = signed_in.get("/review/").content.decode()
    assert "All caught up" in html and "Nothing to study yet" not in html


def test_a_due_leech_shows_an_explanation_and_a_contrast_drill(signed_in, single, learner):
    Card.objects.create(
        user=learner, question=single, state=Card.State.RELEARNING, step=0, stability=1.0,
        difficulty=9.0, due=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), lapses=6, leech=True,
        last_review=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), version=7,
    )  # fmt: skip
    drill = make_drill("Amazon RDS", "kms", ["kms"])
    other = make_drill("PKCS #11", "cloudhsm", ["decision"])
    html = signed_in.get("/review/").content.decode()
    assert 'data-mode="leech"' in html
    assert "keeps slipping" in html
    assert "<mark>Amazon RDS</mark>" in html
    submission = hidden_fields(html)["submission_id"]

    wrong = signed_in.post(
        f"/review/leech/{Card.objects.get().pk}/",
        {
            "submission_id": submission,
            f"drill_{drill.pk}": "cloudhsm",
            f"drill_{other.pk}": "cloudhsm",
        },
        follow=True,
    )
    assert "Read the reasons above and try again." in wrong.content.decode()
    assert Card.objects.get().leech

    retry = hidden_fields(wrong.content.decode())["submission_id"]
    passed = signed_in.post(
        f"/review/leech/{Card.objects.get().pk}/",
        {"submission_id": retry, f"drill_{drill.pk}": "kms", f"drill_{other.pk}": "cloudhsm"},
        follow=True,
    )
    assert "back in your queue" in passed.content.decode()
    assert not Card.objects.get().leech


def test_the_settings_page_saves_valid_settings(signed_in, learner):
    response = signed_in.post(
        "/review/settings/",
        {
            "desired_retention": "0.85",
            "new_cards_per_day": "15",
            "learning_steps": "1m 10m 1h",
            "relearning_steps": "10m",
        },
    )
    settings = ReviewSettings.objects.get(user=learner)
    assert response.status_code == 302
    assert settings.desired_retention == 0.85
    assert settings.new_cards_per_day == 15
    assert settings.learning_steps_minutes == [1, 10, 60]
    page = signed_in.get("/review/settings/").content.decode()
    assert 'value="1m 10m 1h"' in page


def test_a_retention_out_of_range_is_a_field_error(signed_in, learner):
    response = signed_in.post(
        "/review/settings/",
        {"desired_retention": "0.99", "new_cards_per_day": "20", "learning_steps": "1m"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Choose a retention of at most 0.97." in html
    assert 'class="field has-error"' in html


def test_bad_learning_steps_are_a_field_error(signed_in):
    response = signed_in.post(
        "/review/settings/",
        {"desired_retention": "0.9", "new_cards_per_day": "20", "learning_steps": "soon"},
    )
    assert "is not a step" in response.content.decode()


def test_learners_choose_the_banks_they_study(signed_in, learner, bank):
    from .factories import make_bank

    extra = make_bank(default=False)
    hidden = make_bank(default=False, published=False)
    refused = signed_in.post("/review/banks/", {"banks": [extra.pk, hidden.pk]})
    assert refused.status_code == 200
    assert not learner.bank_subscriptions.exists()
    signed_in.post("/review/banks/", {"banks": [extra.pk]})
    assert list(learner.bank_subscriptions.values_list("bank", flat=True)) == [extra.pk]
    page = signed_in.get("/review/banks/").content.decode()
    assert extra.title in page
    assert hidden.title not in page
    signed_in.post("/review/banks/", {})
    assert not learner.bank_subscriptions.exists()


def test_undo_with_htmx_swaps_the_card_back_in(signed_in, single):
    review_post(signed_in, answer={"choice": "0"})
    response = signed_in.post("/review/undo/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="review-card"')
    assert 'data-mode="question"' in html
    assert "Undone" in html


def test_a_failed_contrast_drill_with_htmx_shows_the_corrections_in_place(
    signed_in, single, learner
):
    card = Card.objects.create(
        user=learner, question=single, state=Card.State.RELEARNING, step=0, stability=1.0,
        difficulty=9.0, due=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), lapses=6, leech=True,
        last_review=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    )  # fmt: skip
    drill = make_drill("Amazon RDS", "kms", ["kms"])
    response = signed_in.post(
        f"/review/leech/{card.pk}/",
        {"submission_id": "contrast-0001", f"drill_{drill.pk}": "neither"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="review-card"')
    assert "it is <strong>AWS KMS</strong>" in html
    assert "HX-Request" in response["Vary"]
