"""Revisions: an edit keeps learners' cards and history, later answers point at the new
revision; history with a readable diff; revert as a new revision."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from quizzes.models import Card, QuestionRevision, ReviewLog
from quizzes.services_review import review_answer_submit

from .factories import HTMX, NOW, editor_data, editor_rows, make_question

pytestmark = pytest.mark.django_db


def answer(learner, question, choice: int, n: int) -> ReviewLog:
    question.refresh_from_db()
    card = Card.objects.filter(user=learner, question=question).first()
    outcome = review_answer_submit(
        user=learner,
        revision=question.current_revision,
        answer=choice,
        guessed=False,
        duration_ms=4000,
        submission_id=f"sub-{n}",
        seen_version=card.version if card else 0,
        now=NOW + dt.timedelta(days=n),
        fuzz=False,
    )
    return outcome.log


def edit(client, question, **fields):
    rows = fields.pop("rows", None) or editor_rows("single")
    data = editor_data("single", rows=rows, **fields)
    return client.post(reverse("author_question_edit", args=[question.pk]), data)


def test_editing_keeps_learner_cards_and_history_and_new_answers_use_the_new_revision(
    author_client, question, learner
):
    first_log = answer(learner, question, 1, 1)
    card = Card.objects.get(user=learner, question=question)
    card_state = (card.pk, card.reps, card.state, card.due)
    first_revision = question.current_revision

    response = edit(author_client, question, prompt="Which service exposes **PKCS #11**?")

    assert response.status_code == 302
    question.refresh_from_db()
    assert question.current_revision.number == 2
    card.refresh_from_db()
    assert (card.pk, card.reps, card.state, card.due) == card_state
    first_log.refresh_from_db()
    assert first_log.revision == first_revision
    second_log = answer(learner, question, 1, 9)
    assert second_log.revision == question.current_revision
    assert second_log.card == card
    assert list(card.logs.values_list("revision__number", flat=True)) == [1, 2]


def test_an_edit_records_author_and_note(author_client, question, co_editor, client):
    client.force_login(co_editor)
    edit(client, question, prompt="Reworded?", note="Clearer wording")
    revision = QuestionRevision.objects.get(question=question, number=2)
    assert revision.author == co_editor
    assert revision.note == "Clearer wording"


def test_history_shows_a_readable_diff_of_the_last_change(author_client, question):
    rows = editor_rows("single")
    rows[0]["correct"], rows[1]["correct"] = True, False
    edit(author_client, question, rows=rows, explanation="KMS, surprisingly.")

    response = author_client.get(reverse("author_question_history", args=[question.pk]))
    page = response.content.decode()
    assert "Changes from revision 1 to 2" in page
    assert "<del>" in page and "<ins>" in page
    assert "Option 1 [correct]:" in page
    assert "Option 2 [wrong]:" in page
    assert "KMS, surprisingly." in page
    assert "HX-Request" in response["Vary"]


def test_history_compares_any_two_revisions_and_htmx_gets_the_diff_only(author_client, question):
    edit(author_client, question, prompt="Second wording?")
    edit(author_client, question, prompt="Third wording?")
    url = reverse("author_question_history", args=[question.pk])

    response = author_client.get(url + "?from=1&to=3", **HTMX)

    page = response.content.decode()
    assert page.strip().startswith('<section id="diff"')
    assert "Changes from revision 1 to 3" in page
    assert "Third wording?" in page
    assert "Second wording?" not in page


def test_history_of_a_single_revision_has_nothing_to_compare(author_client, question):
    page = author_client.get(reverse("author_question_history", args=[question.pk])).content
    assert b"Only one revision so far" in page


def test_revert_saves_the_old_content_as_a_new_revision(author_client, question):
    original = question.current_revision.data
    edit(author_client, question, prompt="A worse wording?")

    response = author_client.post(reverse("author_question_revert", args=[question.pk, 1]))

    assert response.status_code == 302
    question.refresh_from_db()
    current = question.current_revision
    assert current.number == 3
    assert current.data == original
    assert current.note == "Reverted to revision 1"
    assert list(question.revisions.values_list("number", flat=True)) == [1, 2, 3]


def test_reverting_to_the_current_content_changes_nothing(author_client, question):
    response = author_client.post(
        reverse("author_question_revert", args=[question.pk, 1]), follow=True
    )
    assert question.revisions.count() == 1
    assert "already the current content" in response.content.decode()


def test_revert_to_a_missing_revision_is_404(author_client, question):
    response = author_client.post(reverse("author_question_revert", args=[question.pk, 7]))
    assert response.status_code == 404


def test_revisions_are_listed_with_revert_buttons_except_the_current_one(author_client, bank):
    question = make_question(bank, "truefalse", key="tf")
    author_client.post(
        reverse("author_question_edit", args=[question.pk]),
        editor_data("truefalse", answer="true"),
    )
    page = author_client.get(reverse("author_question_history", args=[question.pk])).content
    page = page.decode()
    assert reverse("author_question_revert", args=[question.pk, 1]) in page
    assert reverse("author_question_revert", args=[question.pk, 2]) not in page
    assert "Answer: false" in page and "Answer: true" in page
