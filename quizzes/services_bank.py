"""Writing banks and questions: every content change makes an immutable revision.

Review, exams and authoring all create questions through these functions, so rendering
(Markdown → sanitized HTML, once, at save time) and revision numbering live in one place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from content.markdown import render_inline

from .models import Bank, KeywordDrill, Question, QuestionRevision
from .services_review import bank_questions_added

BANKS_DIR = Path(__file__).resolve().parent.parent / "content" / "banks"
STARTER_BANK = BANKS_DIR / "starter.yaml"
KEYWORDS_FILE = BANKS_DIR / "keywords.yaml"


def render_question(data: dict[str, Any]) -> dict[str, Any]:
    """Sanitized HTML for every Markdown field of a question in the native shape."""
    rendered: dict[str, Any] = {
        "prompt": render_inline(data.get("prompt", "")),
        "explanation": render_inline(data.get("explanation", "")),
    }
    if data.get("exam_vs_today"):
        rendered["exam_vs_today"] = render_inline(data["exam_vs_today"])
    if data.get("options"):
        rendered["options"] = [
            {
                "text": render_inline(option.get("text", "")),
                "feedback": render_inline(option["feedback"]) if option.get("feedback") else "",
            }
            for option in data["options"]
        ]
    if data.get("steps"):
        rendered["steps"] = [render_inline(step) for step in data["steps"]]
    return rendered


def json_ready(data: dict[str, Any]) -> dict[str, Any]:
    """The native shape as JSON stores it (dates become ISO strings)."""
    ready: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return ready


def _same_content(revision: QuestionRevision | None, data: dict[str, Any]) -> bool:
    return revision is not None and revision.data == json_ready(data)


@transaction.atomic
def question_revision_create(
    *, question: Question, data: dict[str, Any], author: User | None = None, note: str = ""
) -> QuestionRevision:
    """Store ``data`` as the question's next revision and make it current."""
    current = question.current_revision
    if current is not None and _same_content(current, data):
        return current
    data = json_ready(data)
    number = (question.revisions.aggregate(top=Max("number"))["top"] or 0) + 1
    revision = QuestionRevision.objects.create(
        question=question,
        number=number,
        data=data,
        rendered=render_question(data),
        author=author,
        note=note,
    )
    question.current_revision = revision
    question.type = data["type"]
    question.topics = list(data.get("topics") or [])
    question.difficulty = int(data.get("difficulty") or 2)
    if data.get("status"):
        question.status = data["status"]
    question.save(
        update_fields=["current_revision", "type", "topics", "difficulty", "status", "updated_at"]
    )
    return revision


@transaction.atomic
def question_create(
    *, bank: Bank, data: dict[str, Any], author: User | None = None, status: str | None = None
) -> Question:
    position = (bank.questions.aggregate(top=Max("position"))["top"] or 0) + 1
    question = Question.objects.create(
        bank=bank,
        key=data["key"],
        type=data["type"],
        status=status or data.get("status") or Question.Status.PUBLISHED,
        position=position,
    )
    question_revision_create(question=question, data=data, author=author, note="Created")
    bank_questions_added(bank_id=bank.pk)  # learners get a card for it on their next review
    return question


@transaction.atomic
def bank_upsert_questions(
    *,
    bank: Bank,
    questions: list[dict[str, Any]],
    author: User | None = None,
    note: str = "Imported",
) -> tuple[int, int]:
    """Create new questions by key; add a revision to existing ones whose content changed."""
    created = updated = 0
    existing = {question.key: question for question in bank.questions.all()}
    for data in questions:
        question = existing.get(data["key"])
        if question is None:
            question_create(bank=bank, data=data, author=author)
            created += 1
        elif not _same_content(question.current_revision, data):
            question_revision_create(question=question, data=data, author=author, note=note)
            updated += 1
    return created, updated


def _read_yaml(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


@transaction.atomic
def starter_bank_load(path: Path = STARTER_BANK) -> tuple[Bank, int, int]:
    """Load (or refresh) the built-in starter bank from YAML. Idempotent."""
    from .formats import yaml_format

    result = yaml_format.parse(path.read_text(encoding="utf-8"))
    if result.errors:
        problems = "; ".join(f"line {e.line}: {e.message}" for e in result.errors[:5])
        raise ValueError(f"{path.name} is invalid: {problems}")
    meta = result.bank
    if meta is None:
        raise ValueError(f"{path.name} has no bank header")
    bank, _ = Bank.objects.update_or_create(
        slug=meta.slug,
        defaults={
            "title": meta.title,
            "description": meta.description,
            "is_published": True,
            "is_default": True,
        },
    )
    created, updated = bank_upsert_questions(
        bank=bank, questions=[q.to_dict() for q in result.questions], note="Starter bank sync"
    )
    return bank, created, updated


@transaction.atomic
def keyword_drills_load(path: Path = KEYWORDS_FILE) -> int:
    items = _read_yaml(path).get("keywords") or []
    for item in items:
        KeywordDrill.objects.update_or_create(
            keyword=item["keyword"],
            defaults={
                "answer": item["answer"],
                "why": item["why"],
                "topics": item.get("topics") or [],
            },
        )
    return len(items)
