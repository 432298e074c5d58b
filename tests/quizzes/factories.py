"""Small builders for quiz tests: banks and questions of every type, in the native shape."""

from __future__ import annotations

import itertools
from typing import Any

from quizzes.models import Bank, KeywordDrill, Question
from quizzes.services_bank import question_create

_counter = itertools.count(1)


def single_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "type": "single",
        "prompt": "Which service integrates natively with Amazon RDS for encryption at rest?",
        "options": [
            {"text": "AWS KMS", "correct": True, "feedback": "RDS calls KMS for you."},
            {"text": "AWS CloudHSM", "feedback": "RDS cannot call a cluster directly."},
            {"text": "AWS Certificate Manager", "feedback": "ACM issues certificates."},
            {"text": "Amazon Macie", "feedback": "Macie finds sensitive data."},
        ],
        "explanation": "**KMS** integrates with RDS.",
        "keyword": "Amazon RDS",
        "topics": ["decision", "kms"],
        "difficulty": 1,
        "lesson": "cloudhsm-vs-kms#quick-decision-guide",
    }
    return data | overrides


def multiple_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "type": "multiple",
        "prompt": "Which two point to CloudHSM? (Select TWO.)",
        "options": [
            {"text": "PKCS #11", "correct": True},
            {"text": "Key policies", "feedback": "That is KMS."},
            {"text": "Single-tenant HSMs", "correct": True},
            {"text": "S3 default encryption"},
        ],
        "explanation": "Standard APIs and single tenancy point to CloudHSM.",
        "topics": ["cloudhsm"],
    }
    return data | overrides


def truefalse_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "type": "truefalse",
        "prompt": "True or false: EBS can use a CloudHSM key handle directly.",
        "answer": False,
        "explanation": "EBS encrypts through KMS.",
        "topics": ["custom-key-stores"],
    }
    return data | overrides


def match_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "type": "match",
        "prompt": "Match each requirement to a service.",
        "pairs": [
            {"left": "Native S3 integration", "right": "AWS KMS"},
            {"left": "PKCS #11 application", "right": "AWS CloudHSM"},
            {"left": "Oracle TDE in an HSM", "right": "AWS CloudHSM"},
        ],
        "explanation": "Integration means KMS; standard APIs mean CloudHSM.",
        "topics": ["decision"],
    }
    return data | overrides


def order_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "type": "order",
        "prompt": "Put the steps to create a CloudHSM key store in order.",
        "steps": [
            "Create a cluster with two HSMs in different AZs",
            "Create the `kmsuser` crypto user",
            "Create the custom key store in KMS",
            "Connect the key store",
        ],
        "explanation": "Cluster, user, key store, connect.",
        "topics": ["custom-key-stores"],
    }
    return data | overrides


BUILDERS = {
    "single": single_data,
    "multiple": multiple_data,
    "truefalse": truefalse_data,
    "match": match_data,
    "order": order_data,
}


def make_bank(*, default: bool = True, published: bool = True, slug: str | None = None) -> Bank:
    number = next(_counter)
    return Bank.objects.create(
        slug=slug or f"bank-{number}",
        title=f"Bank {number}",
        is_published=published,
        is_default=default,
    )


def make_question(bank: Bank, qtype: str = "single", **overrides: Any) -> Question:
    data = BUILDERS[qtype](**overrides)
    data.setdefault("key", f"{qtype}-{next(_counter)}")
    return question_create(bank=bank, data=data)


def make_questions(bank: Bank, count: int, qtype: str = "single", **overrides: Any) -> list:
    return [make_question(bank, qtype, **overrides) for _ in range(count)]


def make_drill(keyword: str, answer: str, topics: list[str] | None = None) -> KeywordDrill:
    return KeywordDrill.objects.create(
        keyword=keyword, answer=answer, why=f"Why {keyword}.", topics=topics or []
    )
