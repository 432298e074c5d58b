"""Aiken: single-choice questions in plain text (as Moodle imports them).

::

    Which AWS service exposes a PKCS #11 interface?
    A. AWS KMS
    B) AWS CloudHSM
    ANSWER: B

The question text comes first (continuation lines are joined), then options
``A.`` / ``A)`` one per line, then ``ANSWER: <letter>``. Blank lines between
questions are optional. Export keeps only single-choice questions; explanations,
per-option feedback and our metadata are lost (each loss is a warning).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from ._common import ResultBuilder, normalize_newlines
from .questions import BankData, QuestionData
from .results import DumpResult, ImportIssue, ParseResult

NAME: Final = "aiken"
LABEL: Final = "Aiken (single choice, plain text)"
EXTENSIONS: Final = (".txt", ".aiken")
CONTENT_TYPE: Final = "text/plain"

_OPTION_RE: Final = re.compile(r"^([A-Z])[.)](?:[ \t]+(.*))?$")
_ANSWER_RE: Final = re.compile(r"^ANSWER\s*:(.*)$", re.IGNORECASE)
_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass
class _Draft:
    line: int
    index: int
    prompt: list[str] = field(default_factory=list)
    options: list[tuple[str, str, int]] = field(default_factory=list)  # letter, text, line


def parse(text: str) -> ParseResult:
    """Parse Aiken text; every problem is reported with its line."""
    text = normalize_newlines(text)
    builder = ResultBuilder()
    draft: _Draft | None = None

    def missing_answer(d: _Draft) -> None:
        if d.options:
            last = d.options[-1][2]
            builder.error(
                last + 1,
                f"missing ANSWER line after the options of the question on line {d.line} "
                "(expected e.g. 'ANSWER: B')",
                d.index,
            )
        else:
            builder.error(
                d.line,
                "question has no options: expected lines like 'A. ...' or 'A) ...' "
                "followed by 'ANSWER: A'",
                d.index,
            )

    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            if draft is not None and draft.options:
                # A blank line after options: the ANSWER line is missing.
                missing_answer(draft)
                draft = None
            continue
        answer = _ANSWER_RE.match(line)
        option = _OPTION_RE.match(line)
        if answer:
            if draft is None:
                builder.error(number, "ANSWER line without a question before it")
                continue
            _finish(draft, answer.group(1).strip(), number, builder)
            draft = None
            continue
        if option and draft is not None and (draft.options or draft.prompt):
            letter, option_text = option.group(1), (option.group(2) or "").strip()
            draft.options.append((letter, option_text, number))
            continue
        if draft is not None and draft.options:
            # Text after the options without an ANSWER line: a new question began.
            missing_answer(draft)
            draft = None
        if draft is None:
            draft = _Draft(line=number, index=builder.next_index())
        draft.prompt.append(line)
    if draft is not None:
        missing_answer(draft)
    return builder.result()


def _finish(draft: _Draft, answer: str, line: int, builder: ResultBuilder) -> None:
    if not draft.options:
        builder.error(
            draft.line,
            "question has no options: expected lines like 'A. ...' before the ANSWER line",
            draft.index,
        )
        return
    letters = [letter for letter, _, _ in draft.options]
    for n, (letter, _, option_line) in enumerate(draft.options):
        if letters.index(letter) != n:
            builder.error(option_line, f"option letter {letter} is used twice", draft.index)
            return
    if len(answer) != 1 or answer.upper() not in _LETTERS:
        builder.error(
            line,
            f"invalid ANSWER line: expected a single letter like 'ANSWER: B', got {answer!r}",
            draft.index,
        )
        return
    answer = answer.upper()
    if answer not in letters:
        builder.error(
            line,
            f"ANSWER {answer} is not one of the options ({', '.join(letters)})",
            draft.index,
        )
        return
    data: dict[str, Any] = {
        "key": "",
        "type": "single",
        "prompt": "\n".join(draft.prompt),
        "options": [
            {"text": text, "correct": letter == answer} for letter, text, _ in draft.options
        ],
    }
    builder.build(data, draft.line, draft.index, explicit_key=False)


def dump(bank: BankData) -> DumpResult:
    """Export single-choice questions; everything else is skipped with a warning."""
    warnings: list[ImportIssue] = []
    blocks: list[str] = []
    skipped = 0
    for n, q in enumerate(bank.questions):
        block = _question(q, n, warnings)
        if block is None:
            skipped += 1
        else:
            blocks.append(block)
    if blocks:
        warnings.append(
            ImportIssue(
                None,
                "Aiken does not carry keys, topics, difficulty, categories or sources: "
                "keys are regenerated from the prompt and the rest is defaulted on import",
            )
        )
    text = "\n\n".join(blocks) + ("\n" if blocks else "")
    return DumpResult(text=text, warnings=warnings, exported=len(blocks), skipped=skipped)


def _question(q: QuestionData, n: int, warnings: list[ImportIssue]) -> str | None:
    def warn(message: str) -> None:
        warnings.append(ImportIssue(None, message, n))

    if q.type != "single":
        warn(f"Aiken skips non-single-choice question {q.key!r} ({q.type})")
        return None
    if len(q.options) > len(_LETTERS):
        warn(f"Aiken skips question {q.key!r}: more than {len(_LETTERS)} options")
        return None
    correct = [i for i, o in enumerate(q.options) if o.correct]
    if len(correct) != 1:
        warn(f"Aiken skips question {q.key!r}: it does not have exactly one correct option")
        return None
    prompt = _one_line(q.prompt)
    if prompt != q.prompt:
        warn(f"Aiken: the prompt of {q.key!r} was joined into one line")
    if q.explanation:
        warn(f"Aiken cannot carry explanations; lost for {q.key!r}")
    if any(o.feedback for o in q.options):
        warn(f"Aiken cannot carry option feedback; lost for {q.key!r}")
    lines = [prompt]
    for letter, opt in zip(_LETTERS, q.options, strict=False):
        text = _one_line(opt.text)
        if text != opt.text:
            warn(f"Aiken: an option of {q.key!r} was joined into one line")
        lines.append(f"{letter}. {text}")
    lines.append(f"ANSWER: {_LETTERS[correct[0]]}")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.split("\n") if part.strip())
