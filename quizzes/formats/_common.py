"""Helpers shared by the format parsers (not part of the public API)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .questions import BankData, QuestionData, QuestionFormatError, slugify, validate_question
from .results import ImportIssue, ParseResult


def normalize_newlines(text: str) -> str:
    """``\\r\\n`` / ``\\r`` -> ``\\n`` and drop a leading BOM."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass
class _Pending:
    question: QuestionData
    line: int | None
    index: int
    explicit_key: bool


class ResultBuilder:
    """Collects questions and issues; validates and assigns keys in :meth:`result`.

    Explicit keys (YAML ``key:``, GIFT ``// meta``) are checked for duplicates; keys
    the parser generated (from a title or the prompt) are made unique with ``-2``,
    ``-3``... after every explicit key is known, so a generated key never steals an
    explicit one.
    """

    def __init__(self) -> None:
        self.errors: list[ImportIssue] = []
        self.warnings: list[ImportIssue] = []
        self._pending: list[_Pending] = []
        self._count = 0

    def next_index(self) -> int:
        """Reserve the file position of the next question (valid or not)."""
        index = self._count
        self._count += 1
        return index

    def error(self, line: int | None, message: str, index: int | None = None) -> None:
        self.errors.append(ImportIssue(line, message, index))

    def warn(self, line: int | None, message: str, index: int | None = None) -> None:
        self.warnings.append(ImportIssue(line, message, index))

    def build(
        self,
        data: Mapping[str, Any],
        line: int | None,
        index: int,
        *,
        explicit_key: bool,
        field_lines: Mapping[str, int] | None = None,
        item_lines: Mapping[str, Sequence[int]] | None = None,
    ) -> None:
        """``QuestionData.from_dict`` + :meth:`add`; a format error becomes an error."""
        try:
            question = QuestionData.from_dict(data)
        except QuestionFormatError as exc:
            where = line
            if exc.field is not None and field_lines and exc.field in field_lines:
                where = field_lines[exc.field]
            if exc.field is not None and exc.item is not None and item_lines:
                lines = item_lines.get(exc.field, ())
                if 0 < exc.item <= len(lines):
                    where = lines[exc.item - 1]
            self.error(where, exc.message, index)
            return
        self.add(question, line, index, explicit_key=explicit_key)

    def add(
        self, question: QuestionData, line: int | None, index: int, *, explicit_key: bool
    ) -> None:
        self._pending.append(_Pending(question, line, index, explicit_key))

    def result(self, bank: BankData | None = None) -> ParseResult:
        used: dict[str, int | None] = {}
        keyed: list[_Pending | None] = []
        for item in self._pending:
            if not item.explicit_key:
                keyed.append(item)
                continue
            key = item.question.key
            if key in used:
                first = used[key]
                where = f" (first used on line {first})" if first is not None else ""
                self.error(item.line, f"duplicate key {key!r}{where}", item.index)
                keyed.append(None)
                continue
            used[key] = item.line
            keyed.append(item)
        result = ParseResult(bank=bank, total=self._count)
        for entry in keyed:
            if entry is None:
                continue
            item = entry
            question = item.question
            if not item.explicit_key:
                base = slugify(question.key or question.prompt)
                key = base
                n = 2
                while key in used:
                    suffix = f"-{n}"
                    key = base[: 60 - len(suffix)].rstrip("-") + suffix
                    n += 1
                used[key] = item.line
                question = replace(question, key=key)
            problems = validate_question(question)
            if problems:
                for problem in problems:
                    self.error(item.line, problem, item.index)
                continue
            result.questions.append(question)
            result.lines.append(item.line)
            result.indexes.append(item.index)
        order = {id(issue): n for n, issue in enumerate(self.errors)}
        result.errors = sorted(
            self.errors, key=lambda i: (i.line if i.line is not None else 0, order[id(i)])
        )
        order = {id(issue): n for n, issue in enumerate(self.warnings)}
        result.warnings = sorted(
            self.warnings, key=lambda i: (i.line if i.line is not None else 0, order[id(i)])
        )
        if bank is not None:
            bank.questions = list(result.questions)
        return result
