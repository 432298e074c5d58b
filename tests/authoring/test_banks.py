"""Banks: create, rename, publish, co-editors, question states and export downloads."""

from __future__ import annotations

import pytest
from django.urls import reverse

from quizzes.models import Bank, BankSubscription, Question
from quizzes.selectors import study_bank_ids_for, study_questions_for

from .factories import HTMX, BankFactory, make_question

pytestmark = pytest.mark.django_db


def test_an_instructor_creates_an_unpublished_bank_they_own(author_client, instructor):
    response = author_client.post(
        reverse("author_bank_create"), {"title": "FIPS levels", "description": "140-2 vs 140-3"}
    )
    bank = Bank.objects.get(title="FIPS levels")
    assert response["Location"] == reverse("author_bank", args=[bank.pk])
    assert bank.owner == instructor
    assert bank.slug == "fips-levels"
    assert not bank.is_published


def test_bank_slugs_stay_unique(author_client):
    for _ in range(2):
        author_client.post(reverse("author_bank_create"), {"title": "Same title"})
    assert sorted(Bank.objects.values_list("slug", flat=True)) == ["same-title", "same-title-2"]


def test_a_bank_needs_a_title(author_client):
    response = author_client.post(reverse("author_bank_create"), {"title": ""})
    assert response.context["form"].errors["title"] == ["This field is required."]


def test_rename_and_describe(author_client, bank):
    author_client.post(
        reverse("author_bank_settings", args=[bank.pk]),
        {"title": "KMS in depth", "description": "Grants and key policies"},
    )
    bank.refresh_from_db()
    assert (bank.title, bank.description) == ("KMS in depth", "Grants and key policies")
    assert bank.slug == "kms-basics"  # links and exports keep working


def test_home_lists_owned_and_co_edited_banks_only(client, co_editor, bank, instructor):
    BankFactory(owner=instructor, title="Owned by the owner only")
    BankFactory(title="Someone else's")
    client.force_login(co_editor)
    page = client.get(reverse("author_home")).content.decode()
    assert "KMS basics" in page
    assert "Co-editor (owner: instructor)" in page
    assert "Owned by the owner only" not in page
    assert "Someone else&#x27;s" not in page


def test_publishing_makes_the_bank_choosable_by_learners(author_client, bank, learner):
    make_question(bank, "single", key="q1")
    BankSubscription.objects.create(user=learner, bank=bank)
    assert bank.pk not in study_bank_ids_for(user=learner)

    response = author_client.post(
        reverse("author_bank_publish", args=[bank.pk]), {"published": "1"}
    )

    assert response.status_code == 302
    bank.refresh_from_db()
    assert bank.is_published
    assert study_bank_ids_for(user=learner) == [bank.pk]
    assert list(study_questions_for(user=learner).values_list("key", flat=True)) == ["q1"]


def test_unpublishing_with_htmx_swaps_the_visibility_box(author_client, bank):
    bank.is_published = True
    bank.save()
    response = author_client.post(
        reverse("author_bank_publish", args=[bank.pk]), {"published": "0"}, **HTMX
    )
    page = response.content.decode()
    assert page.strip().startswith('<section id="publish"')
    assert "Publish bank" in page
    assert "HX-Request" in response["Vary"]
    bank.refresh_from_db()
    assert not bank.is_published


def test_the_bank_page_works_without_javascript_for_publishing(author_client, bank):
    page = author_client.get(reverse("author_bank", args=[bank.pk])).content.decode()
    assert f'<form method="post" action="{reverse("author_bank_publish", args=[bank.pk])}"' in page


# --- co-editors ---------------------------------------------------------------------


def test_the_owner_invites_an_instructor_by_username(author_client, bank, make_user, client):
    helper = make_user("helper", instructor=True)
    response = author_client.post(
        reverse("author_bank_editors", args=[bank.pk]), {"username": "helper"}
    )
    assert response.status_code == 302
    assert bank.editors.filter(pk=helper.pk).exists()
    client.force_login(helper)
    assert client.get(reverse("author_bank", args=[bank.pk])).status_code == 200


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("nobody", "There is no user called “nobody”."),
        ("learner", "learner is not an instructor, so cannot author banks."),
        ("instructor", "instructor owns this bank already."),
        ("coeditor", "coeditor is already a co-editor."),
    ],
)
def test_invalid_invitations_explain_why(author_client, bank, learner, username, message):
    response = author_client.post(
        reverse("author_bank_editors", args=[bank.pk]), {"username": username}
    )
    assert response.status_code == 200
    assert response.context["invite_form"].errors["username"] == [message]


def test_the_owner_removes_a_co_editor(author_client, bank, co_editor, client):
    author_client.post(reverse("author_bank_editor_remove", args=[bank.pk, co_editor.pk]))
    assert not bank.editors.exists()
    client.force_login(co_editor)
    assert client.get(reverse("author_bank", args=[bank.pk])).status_code == 404


def test_co_editors_edit_questions_but_do_not_manage_editors(client, co_editor, bank):
    client.force_login(co_editor)
    page = client.get(reverse("author_bank", args=[bank.pk])).content.decode()
    assert "Invite co-editor" not in page
    assert "New question:" in page


# --- question states ------------------------------------------------------------------


def test_question_state_changes_without_javascript(author_client, question):
    url = reverse("author_question_state", args=[question.pk])
    response = author_client.post(url, {"action": "draft"})
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.status == Question.Status.DRAFT

    author_client.post(url, {"action": "archive"})
    question.refresh_from_db()
    assert question.is_archived
    author_client.post(url, {"action": "restore"})
    author_client.post(url, {"action": "publish"})
    question.refresh_from_db()
    assert (question.is_archived, question.status) == (False, Question.Status.PUBLISHED)
    assert question.revisions.count() == 1


def test_question_state_with_htmx_returns_the_table_row(author_client, question):
    response = author_client.post(
        reverse("author_question_state", args=[question.pk]), {"action": "archive"}, **HTMX
    )
    page = response.content.decode()
    assert page.strip().startswith(f'<tr id="question-{question.pk}" class="archived"')
    assert "Restore" in page
    assert "HX-Request" in response["Vary"]


def test_an_unknown_state_action_is_a_bad_request(author_client, question):
    response = author_client.post(
        reverse("author_question_state", args=[question.pk]), {"action": "explode"}
    )
    assert response.status_code == 400
    assert b"That request could not be read" in response.content


def test_the_bank_page_lists_questions_with_statistics_columns(author_client, bank, question):
    page = author_client.get(reverse("author_bank", args=[bank.pk])).content.decode()
    assert f'id="question-{question.pk}"' in page
    assert "Facility" in page and "Discrimination" in page
    for qtype in ("single", "multiple", "truefalse", "match", "order"):
        assert f"{reverse('author_question_create', args=[bank.pk])}?type={qtype}" in page


# --- export from the bank page ----------------------------------------------------------


def test_export_page_lists_what_each_format_loses(author_client, bank, question):
    make_question(bank, "order", key="steps")
    page = author_client.get(reverse("author_bank_export", args=[bank.pk])).content.decode()
    assert "GIFT cannot express ordering questions; skipped &#x27;steps&#x27;" in page
    assert "Aiken skips non-single-choice question &#x27;steps&#x27; (order)" in page
    assert "?format=yaml" in page


def test_export_downloads_a_file(author_client, bank, question):
    response = author_client.get(reverse("author_bank_export", args=[bank.pk]) + "?format=gift")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="kms-basics.gift"'
    assert "PKCS \\#11" in response.content.decode()


def test_archived_questions_are_not_exported(author_client, bank, question):
    make_question(bank, "truefalse", key="old-one")
    Question.objects.filter(key="old-one").update(is_archived=True)
    text = author_client.get(
        reverse("author_bank_export", args=[bank.pk]) + "?format=yaml"
    ).content.decode()
    assert "pkcs11" in text
    assert "old-one" not in text
