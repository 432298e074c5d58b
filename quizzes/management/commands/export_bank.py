"""``manage.py export_bank BANK --format gift``: write a bank in any import format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from quizzes.formats import FORMATS
from quizzes.models import Bank
from quizzes.selectors_author import bank_export


class Command(BaseCommand):
    help = (
        "Export a bank (by slug or id). What the format cannot carry is reported as warnings "
        "on stderr; archived questions are left out."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("bank", help="The bank's slug (or numeric id).")
        parser.add_argument("--format", choices=sorted(FORMATS), default="yaml")
        parser.add_argument("--output", type=Path, help="File to write; default: stdout.")

    def handle(
        self, *args: Any, bank: str, format: str, output: Path | None, **options: Any
    ) -> None:
        found = Bank.objects.filter(slug=bank).first()
        if found is None and bank.isdigit():
            found = Bank.objects.filter(pk=int(bank)).first()
        if found is None:
            raise CommandError(f"no bank with slug or id {bank!r}")
        result = bank_export(bank=found, format_name=format)
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning.message}")
        if output is None:
            self.stdout.write(result.text, ending="")
        else:
            try:
                output.write_text(result.text, encoding="utf-8")
            except OSError as error:
                raise CommandError(f"cannot write {output}: {error.strerror}") from None
            self.stderr.write(
                f"Wrote {result.exported} question(s) to {output}"
                + (f"; {result.skipped} skipped (see warnings)." if result.skipped else ".")
            )
