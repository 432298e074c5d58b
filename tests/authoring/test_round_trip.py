"""Export then import gives back the same questions, in every format; what a format cannot
carry is announced as a warning on export."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from quizzes.formats import FORMATS, QuestionData, parse_upload
from quizzes.models import Bank
from quizzes.selectors_author import bank_data, bank_export
from quizzes.services_author import bank_import, question_save

from .factories import SAMPLES, BankFactory

pytestmark = pytest.mark.django_db

RICH = {
    "key": "rich-single",
    **SAMPLES["single"],
    "keyword": "PKCS #11",
    "lesson": "cloudhsm-vs-kms#interfaces",
    "exam_vs_today": "Still true in **2026**.",
    "category": "interfaces",
    "source": {
        "title": "CloudHSM User Guide",
        "url": "https://docs.aws.amazon.com/cloudhsm/latest/userguide/",
        "verified": dt.date(2026, 11, 28),
    },
}


@pytest.fixture
def full_bank(instructor):
    bank = BankFactory(owner=instructor, slug="full", title="Full bank", description="All types")
    questions = [RICH] + [
        {"key": f"{qtype}-q", **data, **({"status": "draft"} if qtype == "truefalse" else {})}
        for qtype, data in SAMPLES.items()
        if qtype != "single"
    ]
    for data in questions:
        question_save(bank=bank, data=QuestionData.from_dict(data), author=instructor)
    return bank


def originals(bank: Bank) -> dict[str, QuestionData]:
    return {q.key: q for q in bank_data(bank=bank).questions}


def reimport(text: str, name: str, owner) -> Bank:
    result = parse_upload(text.encode(), name, None)
    assert result.errors == []
    return bank_import(result=result, owner=owner).bank


def file_name(format_name: str) -> str:
    return "export" + FORMATS[format_name].extension


def test_yaml_round_trip_is_exact(full_bank, instructor):
    exported = bank_export(bank=full_bank, format_name="yaml")
    assert exported.warnings == []

    copy = reimport(exported.text, "full.yaml", instructor)

    assert originals(copy) == originals(full_bank)
    assert len(originals(copy)) == 5
    assert (copy.title, copy.description) == ("Full bank", "All types")
    assert copy.slug == "full-2"  # the header's slug was taken


def test_gift_round_trip_keeps_everything_but_ordering(full_bank, instructor):
    exported = bank_export(bank=full_bank, format_name="gift")
    assert [w.message for w in exported.warnings] == [
        "GIFT cannot express ordering questions; skipped 'order-q'"
    ]

    copy = originals(reimport(exported.text, "full.gift", instructor))

    before = originals(full_bank)
    del before["order-q"]
    assert copy == before


def test_aiken_round_trip_keeps_single_choice_text_and_key_and_warns_about_the_rest(
    full_bank, instructor
):
    exported = bank_export(bank=full_bank, format_name="aiken")
    messages = [w.message for w in exported.warnings]
    assert "Aiken cannot carry explanations; lost for 'rich-single'" in messages
    assert "Aiken cannot carry option feedback; lost for 'rich-single'" in messages
    for key in ("multiple-q", "truefalse-q", "match-q", "order-q"):
        assert any(f"skips non-single-choice question '{key}'" in m for m in messages)

    (copy,) = originals(reimport(exported.text, "full.txt", instructor)).values()

    rich = originals(full_bank)["rich-single"]
    assert copy.type == "single"
    assert copy.prompt == rich.prompt
    assert [(o.text, o.correct) for o in copy.options] == [
        (o.text, o.correct) for o in rich.options
    ]


def test_csv_round_trip_keeps_the_pairs_of_matching_questions(full_bank, instructor):
    exported = bank_export(bank=full_bank, format_name="csv")
    messages = [w.message for w in exported.warnings]
    assert len([m for m in messages if "keep only matching questions" in m]) == 4
    assert any("prompts, keys, explanations and metadata are lost" in m for m in messages)

    (copy,) = originals(reimport(exported.text, "full.csv", instructor)).values()

    assert copy.type == "match"
    assert copy.pairs == originals(full_bank)["match-q"].pairs


EXPECTED_KEYS = {
    "yaml": {"rich-single", "multiple-q", "truefalse-q", "match-q", "order-q"},
    "gift": {"rich-single", "multiple-q", "truefalse-q", "match-q"},
    "aiken": {"which-service-offers-a-pkcs-11-interface"},
    "csv": {"export-1"},
}


@pytest.mark.parametrize("format_name", sorted(FORMATS))
def test_round_trip_through_the_views(author_client, full_bank, format_name):
    download = author_client.get(
        reverse("author_bank_export", args=[full_bank.pk]) + f"?format={format_name}"
    )
    upload = SimpleUploadedFile(file_name(format_name), download.content)
    preview_url = author_client.post(
        reverse("author_import"), {"file": upload, "title": f"Via {format_name}"}
    )["Location"]
    author_client.post(preview_url, {"action": "confirm"})

    copy = Bank.objects.get(title=f"Via {format_name}") if format_name != "yaml" else None
    copy = copy or Bank.objects.exclude(pk=full_bank.pk).get()
    assert set(copy.questions.values_list("key", flat=True)) == EXPECTED_KEYS[format_name]
    if format_name in ("yaml", "gift"):
        before = originals(full_bank)
        assert all(before[key] == data for key, data in originals(copy).items())


@pytest.mark.parametrize("format_name", sorted(FORMATS))
def test_round_trip_through_the_commands(tmp_path, full_bank, format_name):
    path = tmp_path / file_name(format_name)
    err = StringIO()
    call_command("export_bank", "full", "--format", format_name, "--output", str(path), stderr=err)
    if format_name != "yaml":
        assert "warning:" in err.getvalue()

    call_command("import_bank", str(path), "--bank", f"Copy {format_name}", stdout=StringIO())

    copy = Bank.objects.get(title=f"Copy {format_name}")
    assert set(copy.questions.values_list("key", flat=True)) == EXPECTED_KEYS[format_name]
    if format_name in ("yaml", "gift"):
        before = originals(full_bank)
        assert all(before[key] == data for key, data in originals(copy).items())
