"""``import_bank`` and ``export_bank`` from the shell."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from quizzes.models import Bank, Question

from .factories import BankFactory, make_question

pytestmark = pytest.mark.django_db

GIFT = """\
::q-one:: Which service exposes PKCS \\#11? {=AWS CloudHSM ~AWS KMS}

::q-two:: KMS is a multi-tenant service. {T}
"""
GIFT_WITH_ERROR = GIFT + "\n::q-bad:: What is the answer? {=42}\n"


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_creates_a_bank_named_after_the_file(tmp_path, instructor):
    path = write(tmp_path, "hsm-basics.gift", GIFT)
    out, _ = run("import_bank", str(path), "--owner", "instructor")

    bank = Bank.objects.get()
    assert (bank.title, bank.slug, bank.owner) == ("hsm-basics", "hsm-basics", instructor)
    assert sorted(bank.questions.values_list("key", flat=True)) == ["q-one", "q-two"]
    assert "2 created, 0 updated, 0 unchanged, 0 skipped" in out


def test_errors_are_printed_with_line_numbers_and_nothing_is_written(tmp_path):
    path = write(tmp_path, "quiz.gift", GIFT_WITH_ERROR)
    err = StringIO()
    with pytest.raises(CommandError, match=r"1 error\(s\) in quiz.gift: nothing imported"):
        call_command("import_bank", str(path), stdout=StringIO(), stderr=err)

    assert "quiz.gift:5: error: unsupported question type" in err.getvalue()
    assert not Bank.objects.exists()


def test_valid_only_imports_the_rest(tmp_path):
    path = write(tmp_path, "quiz.gift", GIFT_WITH_ERROR)
    out, err = run("import_bank", str(path), "--valid-only", "--bank", "Partial")

    bank = Bank.objects.get(title="Partial")
    assert bank.questions.count() == 2
    assert "1 skipped" in out
    assert "quiz.gift:5: error:" in err


def test_import_into_an_existing_bank_by_slug_updates_by_key(tmp_path, instructor):
    bank = BankFactory(slug="target", title="Target", owner=instructor)
    make_question(bank, "truefalse", key="q-two", answer=True)
    path = write(tmp_path, "quiz.gift", GIFT)

    out, _ = run("import_bank", str(path), "--bank", "target")

    assert "1 created, 1 updated, 0 unchanged" in out
    assert bank.questions.get(key="q-two").current_revision.number == 2


def test_the_format_can_be_forced(tmp_path):
    text = "Which has key policies?\nA. KMS\nB. CloudHSM\nANSWER: A\n"
    path = write(tmp_path, "notes.csv", text)  # the extension says CSV
    with pytest.raises(CommandError):
        run("import_bank", str(path))
    run("import_bank", str(path), "--format", "aiken", "--bank", "Aiken bank")
    assert Question.objects.get().type == "single"


def test_an_unknown_owner_or_a_missing_file_is_an_error(tmp_path):
    path = write(tmp_path, "quiz.gift", GIFT)
    with pytest.raises(CommandError, match="no user called 'ghost'"):
        run("import_bank", str(path), "--owner", "ghost")
    with pytest.raises(CommandError, match="cannot read"):
        run("import_bank", str(tmp_path / "missing.gift"))


def test_export_to_stdout_and_to_a_file(tmp_path, bank, question):
    make_question(bank, "order", key="steps")
    out, err = run("export_bank", "kms-basics", "--format", "gift")
    assert "::pkcs11::" in out or "pkcs11" in out
    assert "warning: GIFT cannot express ordering questions; skipped 'steps'" in err

    target = tmp_path / "bank.yaml"
    out, err = run("export_bank", str(bank.pk), "--output", str(target))
    assert out == ""
    assert "key: steps" in target.read_text(encoding="utf-8")
    assert f"Wrote 2 question(s) to {target}." in err


def test_export_of_an_unknown_bank_fails(db):
    with pytest.raises(CommandError, match="no bank with slug or id 'nope'"):
        run("export_bank", "nope")
