"""Writes for authoring: banks, co-editors, question edits, reverts and imports.

Question content always goes through ``services_bank`` (rendering with the lessons'
sanitizer, revision numbering); this module adds the authoring workflow around it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F

from .formats import ImportIssue, ParseResult, QuestionData, slugify
from .models import Bank, BankEditor, Question, QuestionRevision
from .selectors_author import normalized, question_to_json, same_content
from .services_bank import question_create, question_revision_create

DEFAULT_IMPORT_TITLE = "Imported questions"


class ImportRejected(Exception):
    """The upload has errors and the author did not ask to import only the valid part."""

    def __init__(self, errors: list[ImportIssue]) -> None:
        super().__init__("; ".join(str(e) for e in errors[:3]))
        self.errors = errors


def _unique_bank_slug(text: str) -> str:
    base = slugify(text, max_length=70, fallback="bank")
    slug, n = base, 2
    while Bank.objects.filter(slug=slug).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


def bank_create(*, owner: User | None, title: str, description: str = "", slug: str = "") -> Bank:
    """A new, unpublished bank. ``slug`` is a wish: taken slugs get a ``-2`` suffix."""
    return Bank.objects.create(
        slug=_unique_bank_slug(slug or title),
        title=title.strip(),
        description=description.strip(),
        owner=owner,
    )


def bank_update(*, bank: Bank, title: str, description: str) -> Bank:
    bank.title = title.strip()
    bank.description = description.strip()
    bank.save(update_fields=["title", "description", "updated_at"])
    return bank


def bank_set_published(*, bank: Bank, published: bool) -> Bank:
    """Published banks appear in the learners' bank chooser; unpublishing hides them again
    (learners' cards and history are kept)."""
    if bank.is_published != published:
        bank.is_published = published
        bank.save(update_fields=["is_published", "updated_at"])
    return bank


def bank_editor_add(*, bank: Bank, user: User) -> BankEditor:
    editor, _ = BankEditor.objects.get_or_create(bank=bank, user=user)
    return editor


def bank_editor_remove(*, bank: Bank, user: User) -> None:
    BankEditor.objects.filter(bank=bank, user=user).delete()


@transaction.atomic
def question_save(
    *,
    bank: Bank,
    data: QuestionData,
    author: User | None,
    question: Question | None = None,
    note: str = "",
) -> tuple[Question, bool]:
    """Create a question or edit one; returns ``(question, content_changed)``.

    An edit whose content differs from the current revision adds a revision (cards and
    review logs stay attached to the question); an edit of the status alone does not.
    """
    payload = question_to_json(data)
    if question is None:
        question = question_create(bank=bank, data=payload, author=author, status=data.status)
        return question, True
    payload["key"] = question.key
    changed = not same_content(question, replace(data, key=question.key))
    if changed:
        question_revision_create(
            question=question, data=payload, author=author, note=note or "Edited"
        )
    question_set_status(question=question, status=data.status)
    return question, changed


def question_set_status(*, question: Question, status: str) -> Question:
    if status not in Question.Status.values:
        raise ValueError(f"unknown status {status!r}")
    if question.status != status:
        question.status = status
        question.save(update_fields=["status", "updated_at"])
    return question


def question_set_archived(*, question: Question, archived: bool) -> Question:
    """Archived questions leave review and exports; their history and statistics stay."""
    if question.is_archived != archived:
        question.is_archived = archived
        question.save(update_fields=["is_archived", "updated_at"])
    return question


@transaction.atomic
def question_revert(
    *, question: Question, revision: QuestionRevision, author: User
) -> QuestionRevision | None:
    """Make ``revision``'s content current again, as a new revision (history is never
    rewritten). Returns ``None`` when the content is already current."""
    if revision.question_id != question.pk:
        raise ValueError("the revision belongs to another question")
    content = normalized(revision.data)
    current = question.current_revision
    if current is not None and normalized(current.data) == content:
        return None
    return question_revision_create(
        question=question,
        data=content,
        author=author,
        note=f"Reverted to revision {revision.number}",
    )


@dataclass(frozen=True)
class ImportSummary:
    bank: Bank
    created: int
    updated: int
    unchanged: int
    skipped: int


@transaction.atomic
def bank_import(
    *,
    result: ParseResult,
    owner: User | None,
    bank: Bank | None = None,
    title: str = "",
    valid_only: bool = False,
) -> ImportSummary:
    """Write a parsed upload into ``bank`` (or a new bank owned by ``owner``).

    All or nothing: with errors and without ``valid_only`` nothing is written, and any
    failure part-way rolls back every question and the new bank with it.
    Questions whose key exists in the bank get a new revision when their content changed.
    """
    if result.errors and not valid_only:
        raise ImportRejected(result.errors)
    if not result.questions:
        raise ImportRejected(
            result.errors or [ImportIssue(None, "the file holds no questions to import")]
        )
    header = result.bank
    if bank is None:
        bank = bank_create(
            owner=owner,
            title=title or (header.title if header else "") or DEFAULT_IMPORT_TITLE,
            description=header.description if header else "",
            slug=header.slug if header else "",
        )
    else:
        # Lock the bank row so two imports into one bank cannot interleave key checks.
        Bank.objects.select_for_update().filter(pk=bank.pk).update(updated_at=F("updated_at"))
    existing = {q.key: q for q in bank.questions.select_related("current_revision")}
    created = updated = unchanged = 0
    for data in result.questions:
        question = existing.get(data.key)
        if question is None:
            existing[data.key] = question_create(
                bank=bank, data=question_to_json(data), author=owner, status=data.status
            )
            created += 1
            continue
        status_changed = question.status != data.status
        _, changed = question_save(
            bank=bank, data=data, author=owner, question=question, note="Imported"
        )
        if changed or status_changed:
            updated += 1
        else:
            unchanged += 1
    skipped = result.total - len(result.questions)
    return ImportSummary(
        bank=bank, created=created, updated=updated, unchanged=unchanged, skipped=skipped
    )
