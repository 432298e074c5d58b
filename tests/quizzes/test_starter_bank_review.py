"""Every question of the starter bank can be reviewed: shown, answered right, and explained."""

from __future__ import annotations

import pytest

from quizzes.forms_learn import AnswerForm, answer_as_post, display_size
from quizzes.grading import correct_answer, grade
from quizzes.presenters import show_question
from quizzes.services_bank import starter_bank_load

pytestmark = pytest.mark.django_db


def test_each_starter_question_renders_and_its_answer_grades_right():
    bank, created, _ = starter_bank_load()
    assert created > 0
    for question in bank.questions.select_related("current_revision"):
        revision = question.current_revision
        data = revision.data
        right = correct_answer(data)
        form = AnswerForm(answer_as_post(data, right), question_data=data)
        assert form.is_valid(), (question.key, form.errors)
        assert grade(data, form.cleaned_data["answer"]).correct, question.key
        shown = list(reversed(range(display_size(data))))
        view = show_question(data, revision.rendered, shown, answer=right, reveal=True)
        assert view.explanation, question.key
        if data.get("keyword"):
            assert "<mark>" in view.prompt, question.key
