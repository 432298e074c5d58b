"""Factories and sample question data for the authoring tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory

from quizzes.formats import QuestionData
from quizzes.models import Bank, Card, Exam, ExamItem, Question, ReviewLog
from quizzes.selectors_author import question_to_json
from quizzes.services_bank import question_create

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}
ROW_KINDS = {"single": "options", "multiple": "options", "match": "pairs", "order": "steps"}


class BankFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bank

    slug = factory.Sequence(lambda n: f"bank-{n}")
    title = factory.Sequence(lambda n: f"Bank {n}")
    description = "Questions on choosing between KMS and CloudHSM."


SAMPLES: dict[str, dict[str, Any]] = {
    "single": {
        "type": "single",
        "prompt": "Which service offers a **PKCS #11** interface?",
        "options": [
            {"text": "AWS KMS", "feedback": "KMS has its own API."},
            {"text": "AWS CloudHSM", "correct": True, "feedback": "Yes: the client SDK."},
            {"text": "AWS Certificate Manager"},
            {"text": "Amazon S3"},
        ],
        "explanation": "CloudHSM supports PKCS #11, JCE and OpenSSL.",
        "topics": ["cloudhsm", "interfaces"],
        "difficulty": 1,
    },
    "multiple": {
        "type": "multiple",
        "prompt": "Which are true of AWS KMS?",
        "options": [
            {"text": "It integrates with S3", "correct": True},
            {"text": "It logs key use to CloudTrail", "correct": True},
            {"text": "You manage HSM users yourself"},
        ],
        "difficulty": 2,
    },
    "truefalse": {
        "type": "truefalse",
        "prompt": "EBS can use a CloudHSM key handle directly.",
        "answer": False,
        "difficulty": 2,
    },
    "match": {
        "type": "match",
        "prompt": "Match each keyword to the service.",
        "pairs": [
            {"left": "PKCS #11", "right": "AWS CloudHSM"},
            {"left": "Key policy", "right": "AWS KMS"},
            {"left": "Crypto user", "right": "AWS CloudHSM"},
        ],
        "difficulty": 2,
    },
    "order": {
        "type": "order",
        "prompt": "Put the CloudHSM setup steps in order.",
        "steps": ["Create the cluster", "Initialize it", "Activate it"],
        "difficulty": 3,
    },
}


def sample(qtype: str, key: str | None = None, **overrides: Any) -> dict[str, Any]:
    data = {"key": key or f"{qtype}-question", **SAMPLES[qtype], **overrides}
    return data


def stored(data: dict[str, Any]) -> dict[str, Any]:
    """The shape the app stores in a revision."""
    return question_to_json(QuestionData.from_dict(data))


def make_question(bank: Bank, qtype: str = "single", key: str | None = None, **overrides):
    return question_create(
        bank=bank, data=stored(sample(qtype, key, **overrides)), status=Question.Status.PUBLISHED
    )


def make_card(user, question: Question) -> Card:
    return Card.objects.create(user=user, question=question, due=NOW, state=Card.State.REVIEW)


def make_log(user, question: Question, *, correct: bool, chosen: Any, n: int = 0) -> ReviewLog:
    card = Card.objects.filter(user=user, question=question).first() or make_card(user, question)
    return ReviewLog.objects.create(
        card=card,
        user=user,
        question=question,
        revision=question.current_revision,
        rating=3 if correct else 1,
        correct=correct,
        chosen=chosen,
        reviewed_at=NOW,
        state_before={},
        submission_id=f"log-{question.pk}-{user.pk}-{n}-{ReviewLog.objects.count()}",
    )


def make_exam(user, answers: list[tuple[Question, Any, bool | None]], *, finished=True) -> Exam:
    """A mock exam with one item per (question, answer, correct)."""
    exam = Exam.objects.create(
        user=user,
        kind=Exam.Kind.CUSTOM,
        status=Exam.Status.SUBMITTED if finished else Exam.Status.IN_PROGRESS,
        duration_minutes=30,
        started_at=NOW,
        deadline=NOW + dt.timedelta(minutes=30),
    )
    for position, (question, answer, correct) in enumerate(answers, start=1):
        ExamItem.objects.create(
            exam=exam,
            position=position,
            question=question,
            revision=question.current_revision,
            answer=answer,
            correct=correct,
        )
    return exam


def editor_rows(qtype: str) -> list[dict[str, Any]]:
    data = SAMPLES[qtype]
    if qtype in ("single", "multiple"):
        return [dict(option) for option in data["options"]]
    if qtype == "match":
        return [dict(pair) for pair in data["pairs"]]
    if qtype == "order":
        return [{"text": step} for step in data["steps"]]
    return []


def editor_data(
    qtype: str = "single", *, rows: list[dict[str, Any]] | None = None, **fields: Any
) -> dict[str, Any]:
    """A POST body for the question editor, valid unless overridden."""
    sample_data = SAMPLES[qtype]
    data: dict[str, Any] = {
        "type": qtype,
        "prompt": sample_data["prompt"],
        "explanation": sample_data.get("explanation", ""),
        "difficulty": str(sample_data.get("difficulty", 2)),
        "status": "published",
        "topics": ", ".join(sample_data.get("topics", [])),
    }
    if qtype == "truefalse":
        data["answer"] = "true" if sample_data["answer"] else "false"
    kind = ROW_KINDS.get(qtype)
    if kind:
        rows = editor_rows(qtype) if rows is None else rows
        data[f"{kind}-TOTAL_FORMS"] = str(len(rows))
        data[f"{kind}-INITIAL_FORMS"] = str(len(rows))
        data[f"{kind}-MIN_NUM_FORMS"] = "0"
        data[f"{kind}-MAX_NUM_FORMS"] = "20"
        for i, row in enumerate(rows):
            for name, value in row.items():
                if name == "correct":
                    if value:
                        data[f"{kind}-{i}-correct"] = "on"
                else:
                    data[f"{kind}-{i}-{name}"] = value
    data.update(fields)
    return data
