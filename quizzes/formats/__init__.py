"""Question import/export formats (pure Python: no Django, no database).

Public API::

    from quizzes.formats import (
        FORMATS, detect_format, parse_upload, dump,
        QuestionData, BankData, Option, Pair, Source, validate_question,
        ParseResult, DumpResult, ImportIssue,
    )

    result = parse_upload(request.FILES["file"].read(), "bank.gift", None)
    if result.errors: ...            # show them; result.questions are the valid ones
    text = dump(bank, "gift").text   # or FORMATS["gift"].dump(bank)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Final

from . import aiken, csv_terms, gift, yaml_format
from .questions import (
    QUESTION_FIELDS,
    QUESTION_TYPES,
    BankData,
    Option,
    Pair,
    QuestionData,
    QuestionFormatError,
    QuestionType,
    Source,
    slugify,
    validate_question,
)
from .results import DumpResult, ImportIssue, ParseResult

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_QUESTIONS",
    "FORMATS",
    "QUESTION_FIELDS",
    "QUESTION_TYPES",
    "BankData",
    "DumpResult",
    "FormatSpec",
    "ImportIssue",
    "Option",
    "Pair",
    "ParseResult",
    "QuestionData",
    "QuestionFormatError",
    "QuestionType",
    "Source",
    "decode_upload",
    "detect_format",
    "dump",
    "parse_upload",
    "slugify",
    "validate_question",
]

DEFAULT_MAX_BYTES: Final = 1_000_000
DEFAULT_MAX_QUESTIONS: Final = 1000


@dataclass(frozen=True)
class FormatSpec:
    """One import/export format: ``parse(text)`` and ``dump(bank)`` plus file details."""

    name: str
    label: str
    extensions: tuple[str, ...]
    content_type: str
    parse: Callable[[str], ParseResult]
    dump: Callable[[BankData], DumpResult]

    @property
    def extension(self) -> str:
        """The extension to give exported files (``.yaml``, ``.gift``...)."""
        return self.extensions[0]


FORMATS: Final[dict[str, FormatSpec]] = {
    module.NAME: FormatSpec(
        name=module.NAME,
        label=module.LABEL,
        extensions=module.EXTENSIONS,
        content_type=module.CONTENT_TYPE,
        parse=module.parse,
        dump=module.dump,
    )
    for module in (yaml_format, gift, aiken, csv_terms)
}

_GIFT_BLOCK_RE: Final = re.compile(r"\{[^{}]*\}")
_GIFT_HINT_RE: Final = re.compile(r"(?m)^\s*(::|\$CATEGORY:|//)")
_AIKEN_RE: Final = re.compile(r"(?im)^ANSWER\s*:\s*[A-Z]\s*$")
_YAML_RE: Final = re.compile(r"(?m)^(bank|questions)\s*:|^-\s+key\s*:")


def detect_format(filename: str, text: str) -> str | None:
    """Guess the format from the extension, then the content; ``None`` if unsure.

    ``.yaml/.yml`` -> yaml, ``.gift`` -> gift, ``.csv/.tsv`` -> csv, ``.aiken`` ->
    aiken; ``.txt`` and other names are sniffed: ``ANSWER: X`` lines -> aiken,
    ``{...}`` answer blocks or ``::title::`` -> gift, ``bank:``/``questions:`` ->
    yaml, tab/semicolon/comma separated rows -> csv.
    """
    suffix = PurePath(filename or "").suffix.lower()
    by_suffix = {".yaml": "yaml", ".yml": "yaml", ".gift": "gift", ".csv": "csv", ".tsv": "csv"}
    if suffix in by_suffix:
        return by_suffix[suffix]
    if suffix == ".aiken":
        return "aiken"
    sample = text[:200_000]
    if _YAML_RE.search(sample):
        return "yaml"
    if _AIKEN_RE.search(sample) and not _GIFT_BLOCK_RE.search(sample):
        return "aiken"
    if _GIFT_BLOCK_RE.search(sample) or _GIFT_HINT_RE.search(sample):
        return "gift"
    lines = [line for line in sample.split("\n") if line.strip()][:50]
    for delimiter in ("\t", ";", ","):
        if lines and all(delimiter in line for line in lines):
            return "csv"
    if _AIKEN_RE.search(sample):
        return "aiken"
    return None


def decode_upload(data: bytes) -> tuple[str | None, ImportIssue | None]:
    """Bytes -> text: UTF-8 with or without BOM (UTF-16 with a BOM also accepted).

    Returns ``(text, None)`` or ``(None, error)``; the error names the byte offset,
    line and column of the first bad byte.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _check_text(data.decode("utf-16"))
        except UnicodeDecodeError:
            return None, ImportIssue(None, "the file starts like UTF-16 but is not valid UTF-16")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start
        line_start = data.rfind(b"\n", 0, start) + 1
        line = data.count(b"\n", 0, start) + 1
        column = len(data[line_start:start].decode("utf-8", errors="replace")) + 1
        bad = data[start : start + 1].hex().upper()
        return None, ImportIssue(
            line,
            f"the file is not valid UTF-8: byte 0x{bad} at offset {start} (line {line}, "
            f"column {column}); save it as UTF-8 and upload again",
        )
    return _check_text(text)


def _check_text(text: str) -> tuple[str | None, ImportIssue | None]:
    nul = text.find("\x00")
    if nul != -1:
        line = text.count("\n", 0, nul) + 1
        return None, ImportIssue(line, "the file contains NUL bytes: it is not a text file")
    return text, None


def parse_upload(
    data: bytes,
    filename: str,
    format: str | None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_questions: int = DEFAULT_MAX_QUESTIONS,
) -> ParseResult:
    """Decode, check limits, detect (when ``format`` is None) and parse an upload.

    Never raises for bad input: every problem is an ``ImportIssue`` in
    ``result.errors``. When the file is too large, undecodable, of an unknown
    format, or holds more than ``max_questions`` questions, ``result.questions`` is
    empty.
    """
    result = ParseResult()
    if len(data) > max_bytes:
        result.errors.append(
            ImportIssue(
                None,
                f"the file is too large: {_size(len(data))} ({len(data):,} bytes); the limit "
                f"is {_size(max_bytes)} ({max_bytes:,} bytes)",
            )
        )
        return result
    if not data.strip():
        result.errors.append(ImportIssue(None, "the file is empty"))
        return result
    text, problem = decode_upload(data)
    if problem is not None or text is None:
        result.errors.append(problem or ImportIssue(None, "the file could not be decoded"))
        return result
    name = format or detect_format(filename, text)
    if name is None:
        result.errors.append(
            ImportIssue(
                None,
                f"could not tell the format of {filename!r}; choose one of {', '.join(FORMATS)}",
            )
        )
        return result
    if name not in FORMATS:
        result.errors.append(
            ImportIssue(None, f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")
        )
        return result
    if name == csv_terms.NAME:
        result = csv_terms.parse(text, deck=PurePath(filename or "").stem or None)
    else:
        result = FORMATS[name].parse(text)
    if result.total > max_questions:
        result.errors.insert(
            0,
            ImportIssue(
                None,
                f"the file has {result.total:,} questions; the limit is {max_questions:,} "
                "per upload: split it into smaller files",
            ),
        )
        result.questions.clear()
        result.lines.clear()
        result.indexes.clear()
        if result.bank is not None:
            result.bank.questions = []
    return result


def dump(bank: BankData, format: str) -> DumpResult:
    """Export ``bank`` in the named format (``KeyError`` for an unknown name)."""
    return FORMATS[format].dump(bank)


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1000:
        return f"{n / 1000:.1f} kB"
    return f"{n} bytes"
