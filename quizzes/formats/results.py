"""Result types returned by every format's ``parse`` and ``dump``."""

from __future__ import annotations

from dataclasses import dataclass, field

from .questions import BankData, QuestionData


@dataclass(frozen=True)
class ImportIssue:
    """An error or warning found while importing (or a loss while exporting).

    ``line`` is 1-based in the uploaded text (``None`` when the issue concerns the
    whole file); ``question_index`` is the 0-based position of the question in the
    file, counting every question the parser recognised, valid or not (``None`` for
    file-level issues). ``ParseResult.indexes`` maps valid questions to it.
    """

    line: int | None
    message: str
    question_index: int | None = None

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


@dataclass
class ParseResult:
    """What a parser found.

    ``questions`` holds only the questions that passed :func:`validate_question`
    (in file order); ``lines[i]`` / ``indexes[i]`` give the start line and file
    position (``ImportIssue.question_index``) of ``questions[i]``. A result with
    ``errors`` may still carry valid questions: the caller decides whether to
    import them.
    """

    bank: BankData | None = None
    questions: list[QuestionData] = field(default_factory=list)
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)
    lines: list[int | None] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)
    #: Number of questions recognised in the file, valid or not.
    total: int = 0

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings are fine)."""
        return not self.errors

    def issues_for(self, question_index: int) -> list[ImportIssue]:
        """Errors and warnings attached to one question (by file position)."""
        return [i for i in (*self.errors, *self.warnings) if i.question_index == question_index]


@dataclass
class DumpResult:
    """Exported text plus what the format could not carry."""

    text: str
    warnings: list[ImportIssue] = field(default_factory=list)
    exported: int = 0
    skipped: int = 0
