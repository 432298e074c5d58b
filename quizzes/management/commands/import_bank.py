"""``manage.py import_bank FILE``: the browser import, from the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from quizzes.formats import FORMATS, ImportIssue, parse_upload
from quizzes.forms_import import MAX_IMPORT_BYTES, MAX_IMPORT_QUESTIONS
from quizzes.models import Bank
from quizzes.services_author import ImportRejected, bank_import


class Command(BaseCommand):
    help = (
        "Import questions from a YAML, GIFT, Aiken or CSV/TSV file into a bank (new or "
        "existing). Nothing is written when the file has errors, unless --valid-only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--bank",
            help="Slug or title of the bank to import into; a new bank with this title is "
            "created when none matches. Default: the bank named in the file (YAML/GIFT "
            "header) or a new bank named after the file.",
        )
        parser.add_argument("--format", choices=sorted(FORMATS), help="Default: detected.")
        parser.add_argument("--owner", help="Username owning a new bank and authoring revisions.")
        parser.add_argument(
            "--valid-only",
            action="store_true",
            help="Import the valid questions even when others have errors.",
        )

    def handle(
        self,
        *args: Any,
        file: Path,
        bank: str | None,
        format: str | None,
        owner: str | None,
        valid_only: bool,
        **options: Any,
    ) -> None:
        try:
            data = file.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from None
        owner_user = None
        if owner:
            owner_user = get_user_model().objects.filter(username=owner).first()
            if owner_user is None:
                raise CommandError(f"no user called {owner!r}")
        result = parse_upload(
            data,
            file.name,
            format,
            max_bytes=MAX_IMPORT_BYTES,
            max_questions=MAX_IMPORT_QUESTIONS,
        )
        for issue in result.warnings:
            self.stderr.write(self._where(file, issue) + f"warning: {issue.message}")
        for issue in result.errors:
            self.stderr.write(self._where(file, issue) + f"error: {issue.message}")
        if result.errors and not valid_only:
            raise CommandError(
                f"{len(result.errors)} error(s) in {file.name}: nothing imported "
                "(fix them, or pass --valid-only to import the valid questions)"
            )
        target, title = self._target(bank, result.bank.slug if result.bank else "")
        try:
            summary = bank_import(
                result=result,
                owner=owner_user,
                bank=target,
                title=title or (result.bank.title if result.bank else "") or file.stem,
                valid_only=valid_only,
            )
        except ImportRejected as rejected:
            raise CommandError(f"nothing imported: {rejected}") from None
        self.stdout.write(
            f"Imported {file.name} into “{summary.bank.title}” ({summary.bank.slug}): "
            f"{summary.created} created, {summary.updated} updated, "
            f"{summary.unchanged} unchanged, {summary.skipped} skipped."
        )

    @staticmethod
    def _where(file: Path, issue: ImportIssue) -> str:
        return f"{file.name}:{issue.line}: " if issue.line is not None else f"{file.name}: "

    @staticmethod
    def _target(name: str | None, file_slug: str) -> tuple[Bank | None, str]:
        """The bank to import into (None: create one) and the title for a new bank."""
        if name:
            bank = Bank.objects.filter(slug=name).first() or Bank.objects.filter(title=name).first()
            return bank, "" if bank else name
        if file_slug:
            return Bank.objects.filter(slug=file_slug).first(), ""
        return None, ""
