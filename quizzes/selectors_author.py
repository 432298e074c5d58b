"""Reads for the authoring screens: who may edit what, banks as format data, statistics."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet

from accounts.models import is_instructor

from . import stats
from .formats import (
    BankData,
    DumpResult,
    ImportIssue,
    ParseResult,
    QuestionData,
    QuestionFormatError,
    dump,
)
from .models import Bank, BankEditor, Exam, ExamItem, Question, QuestionRevision, ReviewLog

FINISHED_EXAM_STATUSES = (Exam.Status.SUBMITTED, Exam.Status.TIMED_OUT)


# --- access ------------------------------------------------------------------------


def author_banks(*, user: User) -> QuerySet[Bank]:
    """Banks ``user`` may edit: owned or co-edited (superusers: every bank)."""
    banks = Bank.objects.all()
    if not user.is_superuser:
        editor_of = BankEditor.objects.filter(user=user).values("bank_id")
        banks = banks.filter(Q(owner=user) | Q(pk__in=editor_of))
    return banks.select_related("owner").annotate(
        question_count=Count("questions", filter=Q(questions__is_archived=False))
    )


def can_edit_bank(*, user: User, bank: Bank) -> bool:
    if not is_instructor(user):
        return False
    if user.is_superuser or bank.owner_id == user.pk:
        return True
    return BankEditor.objects.filter(bank=bank, user=user).exists()


def can_manage_editors(*, user: User, bank: Bank) -> bool:
    """Only the owner (or a superuser) invites and removes co-editors."""
    return is_instructor(user) and (user.is_superuser or bank.owner_id == user.pk)


def bank_editors(*, bank: Bank) -> list[Any]:
    return list(
        get_user_model()
        .objects.filter(bankeditor__bank=bank)
        .order_by("bankeditor__added_at", "username")
    )


def bank_questions(*, bank: Bank) -> QuerySet[Question]:
    return bank.questions.select_related("current_revision").order_by(
        "is_archived", "position", "id"
    )


def question_revisions(*, question: Question) -> QuerySet[QuestionRevision]:
    return question.revisions.select_related("author").order_by("-number")


# --- conversions between stored revisions and format data ---------------------------


def question_to_json(question: QuestionData) -> dict[str, Any]:
    """The native shape stored in ``QuestionRevision.data``: JSON-safe, without status.

    Status is a property of the question (publishing is not a content change), so it is
    kept on ``Question.status`` and left out of revisions.
    """
    data = question.to_dict()
    data.pop("status", None)
    source = data.get("source")
    if source and isinstance(source.get("verified"), dt.date):
        data["source"] = {**source, "verified": source["verified"].isoformat()}
    return data


def normalized(data: dict[str, Any]) -> dict[str, Any]:
    """A stored revision's data in today's canonical shape, so content comparisons do not
    depend on how (or by which version of the code) the revision was written."""
    try:
        return question_to_json(QuestionData.from_dict(data))
    except QuestionFormatError:
        return dict(data)


def same_content(question: Question, data: QuestionData) -> bool:
    current = question.current_revision
    return current is not None and normalized(current.data) == question_to_json(data)


def question_data(question: Question) -> QuestionData:
    """The current revision as format data, with the question's status."""
    data = dict(question.current_revision.data if question.current_revision else {})
    data["key"] = question.key
    data["status"] = question.status
    return QuestionData.from_dict(data)


def bank_data(*, bank: Bank) -> BankData:
    questions = [
        question_data(q)
        for q in bank_questions(bank=bank).filter(is_archived=False)
        if q.current_revision is not None
    ]
    return BankData(
        slug=bank.slug, title=bank.title, description=bank.description, questions=questions
    )


def bank_export(*, bank: Bank, format_name: str) -> DumpResult:
    """Archived questions are left out; every loss the format imposes is a warning."""
    return dump(bank_data(bank=bank), format_name)


# --- import preview ----------------------------------------------------------------


@dataclass
class ImportRow:
    """One question recognised in an upload, valid or not."""

    index: int
    line: int | None
    question: QuestionData | None
    action: str  # "new", "update", "unchanged" or "invalid"
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)


@dataclass
class ImportPlan:
    rows: list[ImportRow]
    file_errors: list[ImportIssue]
    file_warnings: list[ImportIssue]

    @property
    def valid(self) -> int:
        return sum(1 for row in self.rows if row.question is not None)

    @property
    def invalid(self) -> int:
        return sum(1 for row in self.rows if row.question is None)

    @property
    def has_errors(self) -> bool:
        return bool(self.file_errors) or self.invalid > 0

    def _count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def to_create(self) -> int:
        return self._count("new")

    @property
    def to_update(self) -> int:
        return self._count("update")

    @property
    def unchanged(self) -> int:
        return self._count("unchanged")


def import_plan(*, bank: Bank | None, result: ParseResult) -> ImportPlan:
    """What confirming ``result`` into ``bank`` (None: a new bank) would do, question by
    question, with each question's errors and warnings."""
    existing: dict[str, Question] = {}
    if bank is not None:
        existing = {q.key: q for q in bank.questions.select_related("current_revision")}
    rows: dict[int, ImportRow] = {}
    for position, question in enumerate(result.questions):
        index = result.indexes[position] if position < len(result.indexes) else position
        line = result.lines[position] if position < len(result.lines) else None
        current = existing.get(question.key)
        if current is None:
            action = "new"
        elif same_content(current, question) and current.status == question.status:
            action = "unchanged"
        else:
            action = "update"
        rows[index] = ImportRow(index=index, line=line, question=question, action=action)
    file_errors: list[ImportIssue] = []
    file_warnings: list[ImportIssue] = []
    for issue, kind in [(e, "error") for e in result.errors] + [
        (w, "warning") for w in result.warnings
    ]:
        if issue.question_index is None:
            (file_errors if kind == "error" else file_warnings).append(issue)
            continue
        row = rows.get(issue.question_index)
        if row is None:
            row = rows[issue.question_index] = ImportRow(
                index=issue.question_index, line=issue.line, question=None, action="invalid"
            )
        (row.errors if kind == "error" else row.warnings).append(issue)
    return ImportPlan(
        rows=[rows[i] for i in sorted(rows)], file_errors=file_errors, file_warnings=file_warnings
    )


# --- statistics --------------------------------------------------------------------


@dataclass
class RevisionStats:
    revision: QuestionRevision
    stats: stats.ItemStats


@dataclass
class QuestionStats:
    overall: stats.ItemStats
    revisions: list[RevisionStats]

    @property
    def flags(self) -> tuple[str, ...]:
        """Negative discrimination over all attempts, distractor flags for the current
        revision (older revisions' options may have been fixed since)."""
        current = self.revisions[0].stats.flags if self.revisions else ()
        overall = tuple(f for f in self.overall.flags if f not in current)
        return overall + tuple(f for f in current if f.startswith("Distractor"))


def _responses(question_ids: Iterable[int]) -> dict[int, list[stats.Response]]:
    ids = list(question_ids)
    out: dict[int, list[stats.Response]] = defaultdict(list)
    exam_items = ExamItem.objects.filter(
        question_id__in=ids, exam__status__in=FINISHED_EXAM_STATUSES
    ).values_list("question_id", "revision__number", "correct", "answer", "exam_id")
    for question_id, number, correct, answer, exam_id in exam_items:
        out[question_id].append(stats.Response(number, bool(correct), answer, exam_id))
    # Exam answers are counted from ExamItem rows; an exam's review logs would count twice.
    logs = (
        ReviewLog.objects.filter(question_id__in=ids, voided_at__isnull=True)
        .exclude(source=ReviewLog.Source.EXAM)
        .values_list("question_id", "revision__number", "correct", "chosen")
    )
    for question_id, number, correct, chosen in logs:
        out[question_id].append(stats.Response(number, bool(correct), chosen))
    return out


def _exam_totals(responses: Iterable[stats.Response]) -> dict[int, stats.ExamTotal]:
    exam_ids = {r.exam for r in responses if r.exam is not None}
    rows = (
        ExamItem.objects.filter(exam_id__in=exam_ids)
        .values("exam_id")
        .annotate(items=Count("id"), right=Count("id", filter=Q(correct=True)))
    )
    return {row["exam_id"]: stats.ExamTotal(row["right"], row["items"]) for row in rows}


def _question_stats(
    question: Question,
    responses: list[stats.Response],
    totals: dict[int, stats.ExamTotal],
    revisions: Iterable[QuestionRevision],
) -> QuestionStats:
    current = question.current_revision.data if question.current_revision else {}
    overall = stats.item_stats(
        data=current, responses=responses, exam_totals=totals, with_picks=False
    )
    per_revision = []
    for revision in revisions:
        mine = [r for r in responses if r.revision == revision.number]
        if not mine and revision.pk != question.current_revision_id:
            continue
        per_revision.append(
            RevisionStats(
                revision,
                stats.item_stats(data=revision.data, responses=mine, exam_totals=totals),
            )
        )
    return QuestionStats(overall=overall, revisions=per_revision)


def question_statistics(*, question: Question) -> QuestionStats:
    """Overall figures plus one block per revision that has attempts (newest first; the
    current revision always comes first)."""
    responses = _responses([question.pk]).get(question.pk, [])
    totals = _exam_totals(responses)
    revisions = sorted(
        question_revisions(question=question),
        key=lambda r: (r.pk != question.current_revision_id, -r.number),
    )
    return _question_stats(question, responses, totals, revisions)


def bank_statistics(*, questions: Iterable[Question]) -> dict[int, QuestionStats]:
    """Summary statistics for a list of questions, keyed by question id (current revision
    only in ``revisions``)."""
    questions = list(questions)
    responses = _responses(q.pk for q in questions)
    totals = _exam_totals(r for rows in responses.values() for r in rows)
    return {
        q.pk: _question_stats(
            q,
            responses.get(q.pk, []),
            totals,
            [q.current_revision] if q.current_revision else [],
        )
        for q in questions
    }
