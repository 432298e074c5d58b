"""Browser import: upload, preview, confirm; errors, valid-only, limits, atomicity."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from quizzes import services_author
from quizzes.formats import parse_upload
from quizzes.models import Bank, Question
from quizzes.services_author import ImportRejected, bank_import
from quizzes.views_author import PENDING_IMPORTS

pytestmark = pytest.mark.django_db

GIFT = """\
// A small GIFT file
::kms-integrations:: Which service do RDS, EBS and S3 integrate with? {
=AWS KMS # native integration
~AWS CloudHSM # no direct integration
}

::pkcs11:: Which service exposes a PKCS \\#11 library? {=AWS CloudHSM ~AWS KMS}

::fips-tf:: CloudHSM HSMs are FIPS 140-3 Level 3 validated (hsm2m.medium). {T}
"""

GIFT_WITH_ERRORS = """\
::ok:: Which service manages HSM users for you? {=Neither ~AWS KMS}

::broken:: Which service is it? {=AWS KMS =AWS CloudHSM}

::ok-too:: Is KMS multi-tenant? {T}
"""

YAML = """\
bank:
  slug: imported-yaml
  title: Imported from YAML
  description: Three questions
questions:
  - key: tf-one
    type: truefalse
    prompt: KMS keys never leave KMS unencrypted.
    answer: true
  - key: order-one
    type: order
    prompt: Order the steps.
    steps: [Create cluster, Initialize cluster, Activate cluster]
    status: draft
"""


def upload(client, text: str | bytes, name: str = "bank.gift", **fields):
    content = text.encode() if isinstance(text, str) else text
    data = {"file": SimpleUploadedFile(name, content), **fields}
    return client.post(reverse("author_import"), data)


def preview_url_of(response) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def test_upload_shows_a_preview_and_writes_nothing(author_client, bank):
    response = author_client.get(preview_url_of(upload(author_client, GIFT, bank=bank.pk)))

    page = response.content.decode()
    assert response.status_code == 200
    assert "3 questions found" in page
    assert "<code>kms-integrations</code> · single" in page
    assert "Which service do RDS, EBS and S3 integrate with?" in page
    assert "3 to create" in page
    assert not bank.questions.exists()


def test_confirm_imports_into_the_bank(author_client, bank, instructor):
    preview_url = preview_url_of(upload(author_client, GIFT, bank=bank.pk))

    response = author_client.post(preview_url, {"action": "confirm"}, follow=True)

    assert sorted(bank.questions.values_list("key", flat=True)) == [
        "fips-tf",
        "kms-integrations",
        "pkcs11",
    ]
    assert "3 new, 0 updated, 0 unchanged." in response.content.decode()
    assert bank.questions.get(key="pkcs11").current_revision.author == instructor
    assert (
        PENDING_IMPORTS not in author_client.session or not author_client.session[PENDING_IMPORTS]
    )
    assert author_client.get(preview_url).status_code == 404  # confirmed once only


def test_the_pending_upload_lives_in_the_session_not_in_server_memory(
    author_client, bank, instructor
):
    preview_url = preview_url_of(upload(author_client, GIFT, bank=bank.pk))
    token = preview_url.rstrip("/").rsplit("/", 1)[1]
    assert author_client.session[PENDING_IMPORTS][token]["text"] == GIFT

    # Another "server": a fresh client holding only the session cookie.
    other_server = Client()
    other_server.cookies = author_client.cookies
    response = other_server.post(preview_url, {"action": "confirm"})

    assert response.status_code == 302
    assert bank.questions.count() == 3


def test_a_new_bank_takes_its_title_and_slug_from_the_file(author_client, instructor):
    response = author_client.post(
        preview_url_of(upload(author_client, YAML, name="questions.yaml")), {"action": "confirm"}
    )
    bank = Bank.objects.get(slug="imported-yaml")
    assert response["Location"] == reverse("author_bank", args=[bank.pk])
    assert (bank.title, bank.owner, bank.is_published) == ("Imported from YAML", instructor, False)
    assert bank.questions.get(key="order-one").status == Question.Status.DRAFT


def test_a_new_bank_without_a_header_is_named_after_the_file(author_client):
    author_client.post(
        preview_url_of(upload(author_client, GIFT, name="cloudhsm_quiz.gift")),
        {"action": "confirm"},
    )
    assert Bank.objects.get().title == "Cloudhsm quiz"


def test_errors_are_listed_with_line_numbers_and_block_the_import(author_client, bank):
    preview_url = preview_url_of(upload(author_client, GIFT_WITH_ERRORS, bank=bank.pk))

    page = author_client.get(preview_url).content.decode()
    assert "1 with errors" in page
    assert "line 3: unsupported question type: short answer" in page
    assert "Import only the 2 valid questions" in page

    response = author_client.post(preview_url, {"action": "confirm"})
    assert response.status_code == 200
    assert "Nothing was imported" in response.content.decode()
    assert not bank.questions.exists()


def test_import_only_the_valid_questions(author_client, bank):
    preview_url = preview_url_of(upload(author_client, GIFT_WITH_ERRORS, bank=bank.pk))

    response = author_client.post(
        preview_url, {"action": "confirm", "valid_only": "on"}, follow=True
    )

    assert sorted(bank.questions.values_list("key", flat=True)) == ["ok", "ok-too"]
    assert "2 new, 0 updated, 0 unchanged, 1 skipped with errors." in response.content.decode()


def test_reimporting_updates_changed_questions_as_new_revisions(author_client, bank):
    author_client.post(
        preview_url_of(upload(author_client, GIFT, bank=bank.pk)), {"action": "confirm"}
    )
    changed = GIFT.replace("PKCS \\#11 library", "PKCS \\#11 client library")
    preview_url = preview_url_of(upload(author_client, changed, bank=bank.pk))

    page = author_client.get(preview_url).content.decode()
    assert "1 to update, 2 unchanged" in page

    author_client.post(preview_url, {"action": "confirm"})
    pkcs = bank.questions.get(key="pkcs11")
    assert pkcs.current_revision.number == 2
    assert pkcs.current_revision.note == "Imported"
    assert bank.questions.get(key="fips-tf").revisions.count() == 1


def test_discard_drops_the_pending_import(author_client, bank):
    preview_url = preview_url_of(upload(author_client, GIFT, bank=bank.pk))
    response = author_client.post(preview_url, {"action": "discard"})
    assert response["Location"] == reverse("author_bank", args=[bank.pk])
    assert author_client.get(preview_url).status_code == 404
    assert not bank.questions.exists()


def test_an_unknown_token_is_404(author_client):
    assert author_client.get(reverse("author_import_preview", args=["nope"])).status_code == 404


def test_the_format_can_be_chosen(author_client, bank):
    aiken = "Which service has a key policy?\nA. AWS KMS\nB. AWS CloudHSM\nANSWER: A\n"
    preview_url = preview_url_of(upload(author_client, aiken, name="x.txt", format="aiken"))
    assert "Aiken" in author_client.get(preview_url).content.decode()


# --- limits and unreadable files -----------------------------------------------------------


def test_files_over_one_megabyte_are_refused_with_a_clear_message(author_client):
    response = upload(author_client, b"x" * 1_000_001, name="huge.gift")
    errors = response.context["form"].errors["file"]
    assert errors == [
        "The file is 1.0 MB (1,000,001 bytes); uploads are limited to 1.0 MB (1,000,000 bytes). "
        "Split it into smaller files."
    ]


def test_more_than_a_thousand_questions_are_refused(author_client):
    block = "Which service has key policies?\nA. AWS KMS\nB. AWS CloudHSM\nANSWER: A\n\n"
    response = upload(author_client, block * 1001, name="many.txt", format="aiken")
    assert response.context["form"].errors["file"] == [
        "The file has 1,001 questions; the limit is 1,000 per upload. Split it into smaller files."
    ]


def test_exactly_a_thousand_questions_are_accepted(author_client):
    block = "Which service has key policies?\nA. AWS KMS\nB. AWS CloudHSM\nANSWER: A\n\n"
    assert upload(author_client, block * 1000, name="many.txt", format="aiken").status_code == 302


def test_a_file_that_is_not_utf8_is_refused_with_its_position(author_client):
    response = upload(author_client, b"::q:: caf\xe9 {T}\n", name="latin1.gift")
    (error,) = response.context["form"].errors["file"]
    assert error.startswith("line 1: the file is not valid UTF-8: byte 0xE9")


def test_an_undetectable_format_asks_for_one(author_client):
    response = upload(author_client, "just some words", name="notes.dat")
    assert response.context["form"].errors["format"] == [
        "Could not tell the format from the file: choose it from the list."
    ]


def test_an_empty_file_is_refused(author_client):
    response = upload(author_client, "   \n", name="empty.gift")
    assert response.context["form"].errors["file"]


# --- atomicity ---------------------------------------------------------------------


def _failing_after(count: int, monkeypatch):
    real = services_author.question_create
    calls = {"n": 0}

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] > count:
            raise RuntimeError("database went away mid-import")
        return real(**kwargs)

    monkeypatch.setattr(services_author, "question_create", flaky)


@pytest.mark.logs_errors
def test_a_failure_mid_import_leaves_no_half_made_bank(author_client, monkeypatch):
    preview_url = preview_url_of(upload(author_client, YAML, name="q.yaml"))
    _failing_after(1, monkeypatch)

    with pytest.raises(RuntimeError):
        author_client.post(preview_url, {"action": "confirm"})

    assert not Bank.objects.exists()
    assert not Question.objects.exists()
    monkeypatch.undo()
    assert author_client.post(preview_url, {"action": "confirm"}).status_code == 302
    assert Bank.objects.get().questions.count() == 2


def test_a_failure_mid_import_into_a_bank_adds_nothing(bank, instructor, question, monkeypatch):
    result = parse_upload(GIFT.encode(), "q.gift", None)
    _failing_after(1, monkeypatch)  # creates one, revises pkcs11, then fails

    with pytest.raises(RuntimeError):
        bank_import(result=result, owner=instructor, bank=bank)

    assert list(bank.questions.values_list("key", flat=True)) == ["pkcs11"]
    assert question.revisions.count() == 1


def test_the_service_refuses_files_with_errors_unless_valid_only(bank, instructor):
    result = parse_upload(GIFT_WITH_ERRORS.encode(), "q.gift", None)
    with pytest.raises(ImportRejected) as rejected:
        bank_import(result=result, owner=instructor, bank=bank)
    assert "line 3" in str(rejected.value)
    assert not bank.questions.exists()
