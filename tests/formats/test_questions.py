from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from quizzes.formats import (
    BankData,
    Option,
    Pair,
    QuestionData,
    QuestionFormatError,
    Source,
    slugify,
    validate_question,
)
from tests.formats.helpers import sample_bank


def single(**changes: object) -> QuestionData:
    q = QuestionData(
        key="q1",
        type="single",
        prompt="Which service speaks PKCS #11?",
        options=(Option("AWS CloudHSM", True), Option("AWS KMS")),
    )
    return dataclasses.replace(q, **changes)  # type: ignore[arg-type]


def test_sample_bank_is_valid() -> None:
    for q in sample_bank().questions:
        assert validate_question(q) == [], q.key


def test_question_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        single().prompt = "x"  # type: ignore[misc]


def test_to_dict_omits_empty_optional_fields() -> None:
    assert single().to_dict() == {
        "key": "q1",
        "type": "single",
        "prompt": "Which service speaks PKCS #11?",
        "options": [
            {"text": "AWS CloudHSM", "correct": True},
            {"text": "AWS KMS", "correct": False},
        ],
        "difficulty": 2,
    }


def test_to_dict_field_order_follows_schema() -> None:
    q = sample_bank().questions[0]
    assert list(q.to_dict()) == [
        "key",
        "type",
        "prompt",
        "options",
        "explanation",
        "keyword",
        "topics",
        "difficulty",
        "lesson",
        "source",
        "exam_vs_today",
        "category",
    ]
    assert sample_bank().questions[2].to_dict()["status"] == "draft"


def test_from_dict_round_trips_every_sample_question() -> None:
    for q in sample_bank().questions:
        assert QuestionData.from_dict(q.to_dict()) == q


def test_from_dict_strips_text_and_coerces_numbers() -> None:
    q = QuestionData.from_dict(
        {
            "key": "rsa",
            "type": "single",
            "prompt": "  Which RSA key size?\n",
            "options": [{"text": 2048, "correct": True}, {"text": 1024}],
            "source": {"title": "Docs", "verified": "2026-11-28"},
        }
    )
    assert q.prompt == "Which RSA key size?"
    assert q.options == (Option("2048", True), Option("1024", False))
    assert q.source == Source("Docs", "", dt.date(2026, 11, 28))
    assert q.difficulty == 2
    assert q.status == "published"


@pytest.mark.parametrize(
    ("data", "fragment", "field"),
    [
        ({"type": "single", "prompt": "p"}, "missing required field 'key'", "key"),
        ({"key": "k", "prompt": "p"}, "missing required field 'type'", "type"),
        ({"key": "k", "type": "essay", "prompt": "p"}, "unknown question type 'essay'", "type"),
        ({"key": "k", "type": "single"}, "missing required field 'prompt'", "prompt"),
        ({"key": "k", "type": "single", "prompt": ["a"]}, "must be text", "prompt"),
        (
            {"key": "k", "type": "single", "prompt": "p", "options": "a"},
            "must be a list",
            "options",
        ),
        (
            {"key": "k", "type": "single", "prompt": "p", "options": [{"text": True}]},
            "option 1 text must be text, not true/false",
            "options",
        ),
        (
            {"key": "k", "type": "single", "prompt": "p", "options": [{"txt": "a"}]},
            "option 1 has no 'text'",
            "options",
        ),
        (
            {
                "key": "k",
                "type": "single",
                "prompt": "p",
                "options": [{"text": "a", "correct": "y"}],
            },
            "'correct' must be true or false",
            "options",
        ),
        (
            {"key": "k", "type": "truefalse", "prompt": "p", "answer": "yes"},
            "true or false",
            "answer",
        ),
        (
            {"key": "k", "type": "match", "prompt": "p", "pairs": [{"left": "a"}]},
            "no 'right'",
            "pairs",
        ),
        (
            {"key": "k", "type": "single", "prompt": "p", "difficulty": "hard"},
            "whole number",
            "difficulty",
        ),
        (
            {"key": "k", "type": "single", "prompt": "p", "source": "AWS"},
            "'source' must be a mapping",
            "source",
        ),
        (
            {"key": "k", "type": "single", "prompt": "p", "source": {"verified": "yesterday"}},
            "not a date",
            "source",
        ),
    ],
)
def test_from_dict_rejects_malformed_mappings(
    data: dict[str, object], fragment: str, field: str
) -> None:
    with pytest.raises(QuestionFormatError) as info:
        QuestionData.from_dict(data)
    assert fragment in info.value.message
    assert info.value.field == field


def test_from_dict_error_knows_the_list_item() -> None:
    with pytest.raises(QuestionFormatError) as info:
        QuestionData.from_dict(
            {"key": "k", "type": "order", "prompt": "p", "steps": ["a", "b", ["c"]]}
        )
    assert (info.value.field, info.value.item) == ("steps", 3)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"prompt": "  "}, "prompt is empty"),
        ({"key": ""}, "key is empty"),
        ({"key": "Not A Slug"}, "must be a slug"),
        ({"options": (Option("a", True),)}, "at least two options (found 1)"),
        ({"options": (Option("a", True), Option(""))}, "option 2 has empty text"),
        ({"options": (Option("a", True), Option("a"))}, "appears more than once"),
        (
            {"options": (Option("a", True), Option("b", True))},
            "exactly one correct option (found 2)",
        ),
        ({"options": (Option("a"), Option("b"))}, "exactly one correct option (found 0)"),
        ({"difficulty": 0}, "difficulty must be 1, 2 or 3"),
        ({"difficulty": 4}, "difficulty must be 1, 2 or 3"),
        ({"keyword": "HSM cluster"}, "keyword 'HSM cluster' does not appear in the prompt"),
        ({"status": "live"}, "status must be 'draft' or 'published'"),
        ({"answer": True}, "field 'answer' is not used by single questions"),
        ({"lesson": "Some Lesson"}, "lesson slug"),
        ({"source": Source("t", "ftp://x")}, "must start with https://"),
        ({"topics": ("kms", " ")}, "topics contain an empty entry"),
    ],
)
def test_validate_single_choice_rules(changes: dict[str, object], problem: str) -> None:
    problems = validate_question(single(**changes))
    assert any(problem in p for p in problems), problems


def test_validate_keyword_ignores_line_breaks() -> None:
    q = single(prompt="It must not call KMS in\n`us-east-1`.", keyword="KMS in `us-east-1`")
    assert validate_question(q) == []


def test_validate_multiple_response_needs_two_correct() -> None:
    q = single(type="multiple", options=(Option("a", True), Option("b"), Option("c")))
    assert validate_question(q) == [
        "multiple response must have at least two correct options (found 1)"
    ]
    ok = dataclasses.replace(q, options=(Option("a", True), Option("b", True), Option("c")))
    assert validate_question(ok) == []


def test_validate_matching_rules() -> None:
    q = QuestionData(
        key="m",
        type="match",
        prompt="Match",
        pairs=(Pair("PKCS #11", "CloudHSM"), Pair("PKCS #11", "KMS"), Pair("", "x")),
    )
    problems = validate_question(q)
    assert "keyword 'PKCS #11' is used by more than one pair" in problems
    assert "pair 3 has an empty keyword (left side)" in problems
    short = dataclasses.replace(q, pairs=(Pair("a", "b"), Pair("c", "d")))
    assert validate_question(short) == ["matching question needs at least three pairs (found 2)"]
    empty_right = dataclasses.replace(q, pairs=(Pair("a", "b"), Pair("c", "d"), Pair("e", " ")))
    assert validate_question(empty_right) == ["pair 3 has an empty answer (right side)"]


def test_validate_ordering_rules() -> None:
    q = QuestionData(key="o", type="order", prompt="Order", steps=("a", "b"))
    assert validate_question(q) == ["ordering question needs at least three steps (found 2)"]
    q = dataclasses.replace(q, steps=("a", "", "c"))
    assert validate_question(q) == ["step 2 is empty"]
    q = dataclasses.replace(q, steps=("a", "b", "a"))
    assert validate_question(q) == ["steps must be distinct"]


def test_validate_truefalse_needs_answer() -> None:
    q = QuestionData(key="t", type="truefalse", prompt="KMS is regional.")
    assert validate_question(q) == ["true/false question needs 'answer: true' or 'answer: false'"]
    q = dataclasses.replace(q, answer=False, options=(Option("a"),))
    assert validate_question(q) == ["field 'options' is not used by truefalse questions"]


@pytest.mark.parametrize(
    ("source", "slug"),
    [
        ("PKCS #11 vs KMS?", "pkcs-11-vs-kms"),
        ("  Éléments   clés  ", "elements-cles"),
        ("???", "question"),
        ("a" * 70, "a" * 60),
        ("word " * 20, "-".join(["word"] * 12)),
    ],
)
def test_slugify(source: str, slug: str) -> None:
    assert slugify(source) == slug


def test_bank_header() -> None:
    bank = BankData.from_header({"slug": "b", "title": "T", "description": " d "})
    assert bank == BankData("b", "T", "d")
    assert bank.header_dict() == {"slug": "b", "title": "T", "description": "d"}
    with pytest.raises(QuestionFormatError, match="missing required field 'title'"):
        BankData.from_header({"slug": "b"})
    with pytest.raises(QuestionFormatError, match="slug"):
        BankData.from_header({"slug": "Bad Slug", "title": "T"})
