"""The question editor: every type, field-level validation, rows with and without htmx,
the live preview and sanitizing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from quizzes.models import Question

from .factories import HTMX, editor_data, editor_rows, make_question

pytestmark = pytest.mark.django_db


def create_url(bank) -> str:
    return reverse("author_question_create", args=[bank.pk])


def edit_url(question) -> str:
    return reverse("author_question_edit", args=[question.pk])


def row_errors(response, index: int, field: str) -> list[str]:
    return list(response.context["editor"].rows.forms[index].errors.get(field, []))


def rows_errors(response) -> list[str]:
    return list(response.context["editor"].rows.non_form_errors())


@pytest.mark.parametrize("qtype", ["single", "multiple", "truefalse", "match", "order"])
def test_every_question_type_can_be_created(author_client, bank, instructor, qtype):
    response = author_client.post(create_url(bank), editor_data(qtype, key=f"new-{qtype}"))

    question = Question.objects.get(bank=bank, key=f"new-{qtype}")
    assert response.status_code == 302
    assert response["Location"].endswith(f"#question-{question.pk}")
    revision = question.current_revision
    assert revision.number == 1
    assert revision.author == instructor
    assert revision.data["type"] == qtype
    assert "status" not in revision.data  # publishing is not a content change
    assert question.status == Question.Status.PUBLISHED


def test_created_question_stores_the_native_shape(author_client, bank):
    data = editor_data(
        "single",
        key="with-source",
        topics="kms, fips , kms",
        keyword="PKCS #11",
        lesson="cloudhsm-vs-kms#interfaces",
        source_title="CloudHSM User Guide",
        source_url="https://docs.aws.amazon.com/cloudhsm/",
        source_verified="2026-11-28",
        status="draft",
    )
    author_client.post(create_url(bank), data)

    question = Question.objects.get(key="with-source")
    stored = question.current_revision.data
    assert stored["topics"] == ["kms", "fips"]
    assert stored["source"] == {
        "title": "CloudHSM User Guide",
        "url": "https://docs.aws.amazon.com/cloudhsm/",
        "verified": "2026-11-28",
    }
    assert stored["options"][1] == {
        "text": "AWS CloudHSM",
        "correct": True,
        "feedback": "Yes: the client SDK.",
    }
    assert question.status == Question.Status.DRAFT
    assert question.topics == ["kms", "fips"]


def test_an_empty_key_is_made_from_the_prompt(author_client, bank):
    author_client.post(create_url(bank), editor_data("truefalse"))
    author_client.post(create_url(bank), editor_data("truefalse"))

    keys = sorted(bank.questions.values_list("key", flat=True))
    assert keys == [
        "ebs-can-use-a-cloudhsm-key-handle-directly",
        "ebs-can-use-a-cloudhsm-key-handle-directly-2",
    ]


# --- validation messages sit on the field they are about --------------------------------


def test_single_choice_needs_exactly_one_correct_option(author_client, bank):
    rows = editor_rows("single")
    rows[0]["correct"] = True
    response = author_client.post(create_url(bank), editor_data("single", rows=rows))

    assert response.status_code == 200
    assert rows_errors(response) == [
        "A single-choice question has exactly one correct option (2 marked)."
    ]
    assert "exactly one correct option (2 marked)" in response.content.decode()
    assert not bank.questions.exists()


def test_single_choice_with_no_correct_option_is_refused(author_client, bank):
    rows = [{**row, "correct": False} for row in editor_rows("single")]
    response = author_client.post(create_url(bank), editor_data("single", rows=rows))

    assert rows_errors(response) == [
        "A single-choice question has exactly one correct option (0 marked)."
    ]


def test_multiple_response_needs_at_least_two_correct_options(author_client, bank):
    rows = editor_rows("multiple")
    rows[1]["correct"] = False
    response = author_client.post(create_url(bank), editor_data("multiple", rows=rows))

    assert "at least two correct options (1 marked)" in rows_errors(response)[0]
    assert not bank.questions.exists()


def test_matching_needs_three_pairs(author_client, bank):
    response = author_client.post(
        create_url(bank), editor_data("match", rows=editor_rows("match")[:2])
    )
    assert rows_errors(response) == ["A matching question needs at least three pairs."]


def test_matching_keywords_must_be_unique_and_the_error_is_on_the_duplicate(author_client, bank):
    rows = editor_rows("match")
    rows[2]["left"] = "PKCS #11"
    response = author_client.post(create_url(bank), editor_data("match", rows=rows))

    assert row_errors(response, 2, "left") == [
        "Keyword “PKCS #11” is already used in pair 1: keywords must be unique."
    ]
    assert row_errors(response, 0, "left") == []


def test_ordering_needs_three_steps(author_client, bank):
    response = author_client.post(
        create_url(bank), editor_data("order", rows=editor_rows("order")[:2])
    )
    assert rows_errors(response) == ["An ordering question needs at least three steps."]


def test_an_empty_option_is_an_error_on_that_option(author_client, bank):
    rows = editor_rows("single")
    rows[3]["text"] = "  "
    response = author_client.post(create_url(bank), editor_data("single", rows=rows))

    assert row_errors(response, 3, "text") == ["This option is empty: write it or remove the row."]
    assert 'class="field has-error"' in response.content.decode()


def test_empty_pair_and_step_rows_are_errors(author_client, bank):
    rows = editor_rows("match")
    rows[1]["right"] = ""
    response = author_client.post(create_url(bank), editor_data("match", rows=rows))
    assert row_errors(response, 1, "right") == ["This answer is empty: write it or remove the row."]

    rows = editor_rows("order")
    rows[0]["text"] = ""
    response = author_client.post(create_url(bank), editor_data("order", rows=rows))
    assert row_errors(response, 0, "text") == ["This step is empty: write it or remove the row."]


def test_true_false_needs_an_answer(author_client, bank):
    data = editor_data("truefalse")
    del data["answer"]
    response = author_client.post(create_url(bank), data)

    assert response.context["form"].errors["answer"] == [
        "Choose whether the statement is true or false."
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("prompt", "", "Write the question prompt."),
        ("keyword", "HSM", "“HSM” does not appear in the prompt."),
        ("key", "Not A Slug", "Use lowercase letters, digits and hyphens, e.g. kms-fips-level."),
        ("lesson", "../etc", "Use a lesson slug such as cloudhsm-vs-kms or kms-basics#grants."),
        ("source_url", "javascript:alert(1)", "Enter a valid URL."),
        ("source_verified", "28/11/2026", "Enter a valid date."),
    ],
)
def test_field_errors_are_attached_to_their_field(author_client, bank, field, value, message):
    response = author_client.post(create_url(bank), editor_data("single", **{field: value}))

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert not bank.questions.exists()


def test_a_key_already_used_in_the_bank_is_refused(author_client, bank, question):
    response = author_client.post(create_url(bank), editor_data("single", key=question.key))
    assert response.context["form"].errors["key"] == ["Another question in this bank has this key."]


# --- rows: add and remove, with and without JavaScript --------------------------------


def test_add_row_without_javascript_renders_the_form_with_an_extra_row(author_client, bank):
    data = editor_data("single", prompt="", action="add_row")
    response = author_client.post(create_url(bank), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" in page
    assert 'name="options-TOTAL_FORMS" value="5"' in page
    assert 'name="options-4-text"' in page
    assert "AWS CloudHSM" in page  # what was typed is kept
    assert "errorlist" not in page  # no validation on row changes
    assert not bank.questions.exists()


def test_add_row_with_htmx_returns_only_the_rows(author_client, bank):
    data = editor_data("match", action="add_row")
    response = author_client.post(create_url(bank), data, **HTMX)

    page = response.content.decode()
    assert "<html" not in page
    assert page.strip().startswith('<fieldset id="rows"')
    assert 'name="pairs-TOTAL_FORMS" value="4"' in page
    assert 'data-focus-row="4"' in page
    assert "HX-Request" in response["Vary"]


def test_remove_row_renumbers_the_remaining_rows(author_client, bank):
    data = editor_data("single", remove_row="0")
    response = author_client.post(create_url(bank), data, **HTMX)

    page = response.content.decode()
    assert 'name="options-TOTAL_FORMS" value="3"' in page
    assert "AWS KMS" not in page
    assert 'name="options-0-text"' in page
    assert 'name="options-3-text"' not in page
    # The correct tick moved with its option (now row 0).
    assert 'name="options-0-correct" id="id_options-0-correct" checked' in page


def test_remove_row_without_javascript_keeps_the_whole_page(author_client, bank, question):
    response = author_client.post(edit_url(question), editor_data("single", remove_row="3"))

    page = response.content.decode()
    assert "<html" in page
    assert 'name="options-TOTAL_FORMS" value="3"' in page
    assert "Amazon S3" not in page.split('id="preview"')[0]
    question.refresh_from_db()
    assert question.revisions.count() == 1  # nothing saved


def test_switching_type_shows_the_rows_of_the_new_type(author_client, bank):
    data = editor_data("single", type="match", action="change_type")
    response = author_client.post(create_url(bank), data, **HTMX)

    page = response.content.decode()
    assert 'name="pairs-TOTAL_FORMS" value="3"' in page
    assert "options-TOTAL_FORMS" not in page

    data = editor_data("single", type="truefalse", action="change_type")
    page = author_client.post(create_url(bank), data).content.decode()
    assert 'name="answer"' in page
    assert "options-TOTAL_FORMS" not in page


def test_rows_are_capped(author_client, bank):
    rows = [{"text": f"Option {n}"} for n in range(20)]
    rows[0]["correct"] = True
    page = author_client.post(
        create_url(bank), editor_data("single", rows=rows, action="add_row")
    ).content.decode()
    assert 'name="options-TOTAL_FORMS" value="20"' in page
    assert 'value="add_row"' not in page


# --- preview ------------------------------------------------------------------------


def test_live_preview_with_htmx_returns_the_preview_fragment(author_client, bank):
    data = editor_data("match", prompt="Match the **keyword**")
    response = author_client.post(reverse("author_question_preview", args=[bank.pk]), data, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.strip().startswith('<section id="preview"')
    assert "<strong>keyword</strong>" in page
    assert '<label for="preview-pair-0">PKCS #11</label>' in page  # the learners' own inputs
    assert "HX-Request" in response["Vary"]


def test_preview_without_htmx_is_a_full_page(author_client, bank):
    response = author_client.post(
        reverse("author_question_preview", args=[bank.pk]), editor_data("order")
    )
    page = response.content.decode()
    assert "<html" in page
    assert "Put the CloudHSM setup steps in order." in page
    assert "HX-Request" in response["Vary"]


def test_the_preview_button_works_without_javascript(author_client, bank):
    data = editor_data("single", prompt="What about *grants*?", action="preview")
    response = author_client.post(create_url(bank), data)

    preview = response.content.decode().split('id="preview"')[1]
    assert "<em>grants</em>" in preview
    assert not bank.questions.exists()


def test_the_editor_wires_the_live_preview_to_keyup(author_client, bank):
    page = author_client.get(create_url(bank) + "?type=match").content.decode()
    assert 'hx-trigger="keyup changed delay:400ms, change"' in page
    assert f'hx-post="{reverse("author_question_preview", args=[bank.pk])}"' in page
    assert 'name="pairs-TOTAL_FORMS" value="3"' in page


def test_the_preview_does_not_need_a_valid_question(author_client, bank):
    data = {"type": "single", "prompt": "Half typed", "options-TOTAL_FORMS": "1"}
    response = author_client.post(reverse("author_question_preview", args=[bank.pk]), data, **HTMX)
    assert response.status_code == 200
    assert "Half typed" in response.content.decode()


# --- sanitizing ---------------------------------------------------------------------

HOSTILE = (
    'Which key? <script>alert("x")</script> [docs](javascript:alert(1)) '
    '<img src=x onerror="alert(2)">'
)


def _assert_harmless(html: str) -> None:
    assert "<script" not in html
    assert "javascript:" not in html
    assert "onerror" not in html


def test_preview_sanitizes_like_lessons(author_client, bank):
    rows = editor_rows("single")
    rows[0]["text"] = '<script>alert("o")</script>[x](javascript:void(0))'
    data = editor_data("single", prompt=HOSTILE, explanation=HOSTILE, rows=rows)
    response = author_client.post(reverse("author_question_preview", args=[bank.pk]), data, **HTMX)
    _assert_harmless(response.content.decode())


def test_saved_questions_are_sanitized_like_lessons(author_client, bank):
    from content.markdown import render_inline

    rows = editor_rows("single")
    rows[0]["feedback"] = "[x](javascript:alert(1))"
    author_client.post(
        create_url(bank), editor_data("single", key="hostile", prompt=HOSTILE, rows=rows)
    )

    question = Question.objects.get(key="hostile")
    rendered = question.current_revision.rendered
    assert rendered["prompt"] == render_inline(HOSTILE)
    _assert_harmless(rendered["prompt"])
    _assert_harmless(rendered["options"][0]["feedback"])
    assert question.current_revision.data["prompt"] == HOSTILE  # the source is kept as typed
    page = author_client.get(edit_url(question)).content.decode()
    _assert_harmless(page.split('id="preview"')[1])


# --- editing --------------------------------------------------------------------------


def test_the_editor_opens_with_the_current_revision(author_client, question):
    page = author_client.get(edit_url(question)).content.decode()
    assert "Which service offers a **PKCS #11** interface?" in page
    assert 'name="options-TOTAL_FORMS" value="4"' in page
    assert 'value="cloudhsm, interfaces"' in page
    assert 'name="key"' not in page  # the key is fixed once created


def test_the_key_cannot_be_changed_by_posting_it(author_client, question):
    author_client.post(edit_url(question), editor_data("single", key="renamed", prompt="New?"))
    question.refresh_from_db()
    assert question.key == "pkcs11"
    assert question.current_revision.data["key"] == "pkcs11"


def test_saving_without_a_change_makes_no_revision(author_client, bank):
    question = make_question(bank, "match", key="m")
    response = author_client.post(edit_url(question), editor_data("match"), follow=True)
    assert question.revisions.count() == 1
    assert "No content change" in response.content.decode()


def test_a_status_change_alone_makes_no_revision(author_client, question):
    author_client.post(edit_url(question), editor_data("single", status="draft"))
    question.refresh_from_db()
    assert question.status == Question.Status.DRAFT
    assert question.revisions.count() == 1
