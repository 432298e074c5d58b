"""Content checks for the starter question bank and the keyword drills.

Plain pytest, no Django: these tests read ``content/banks/starter.yaml`` and
``content/banks/keywords.yaml`` and check the schema the importer and the quiz pages rely on,
plus the coverage the bank promises (every row of the seed lesson's decision guide, the
keyword drills, a dated note wherever an exam answer differs from AWS today).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

BANKS_DIR = Path(__file__).resolve().parents[1] / "content" / "banks"
STARTER_PATH = BANKS_DIR / "starter.yaml"
KEYWORDS_PATH = BANKS_DIR / "keywords.yaml"

TOPICS = {
    "decision",
    "kms",
    "key-policies",
    "envelope-encryption",
    "rotation",
    "multi-region",
    "cloudhsm",
    "cloudhsm-architecture",
    "cloudhsm-users",
    "cloudhsm-keys",
    "backups-ha",
    "fips",
    "access-methods",
    "custom-key-stores",
    "use-cases",
    "exam-traps",
}
LESSONS = {
    "cloudhsm-vs-kms",
    "kms-in-depth",
    "cloudhsm-in-depth",
    "fips-140-levels",
    "access-methods",
    "custom-key-stores",
    "use-cases",
}
KEYWORD_ANSWERS = {"kms", "cloudhsm", "both", "neither"}

MINIMUM_QUESTIONS = 130
# The brief asks for roughly 70 / 20 / 15 / 12 / 10; these floors keep the mix honest.
MINIMUM_PER_TYPE = {"single": 65, "multiple": 20, "truefalse": 15, "match": 12, "order": 10}
MINIMUM_KEYWORDS = 60
MINIMUM_QUESTIONS_PER_DECISION_ROW = 3

REQUIRED_FIELDS = {
    "key",
    "type",
    "prompt",
    "explanation",
    "topics",
    "difficulty",
    "lesson",
    "source",
}
OPTIONAL_FIELDS = {"keyword", "exam_vs_today"}
FIELDS_BY_TYPE = {
    "single": {"options"},
    "multiple": {"options"},
    "truefalse": {"answer"},
    "match": {"pairs"},
    "order": {"steps"},
}
SELECT_COUNTS = {"TWO": 2, "THREE": 3}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# Each row of the seed's "Quick Decision Guide" and the key prefix of the questions that teach it.
DECISION_ROWS = {
    "Needs AWS integration (e.g., encrypting RDS, S3) -> KMS": "decision-aws-integration",
    "Needs industry-standard APIs (PKCS #11, JCE, CryptoNG) -> CloudHSM": "decision-standard-apis",
    "Requires FIPS 140-2 Level 3 compliance -> CloudHSM": "decision-fips-level3",
    "Client-side encryption required -> CloudHSM": "decision-client-side",
    "Web server SSL/TLS acceleration needed -> CloudHSM": "decision-tls-offload",
    "Secure Oracle TDE encryption -> CloudHSM": "decision-oracle-tde",
    "Need AWS to manage keys -> KMS": "decision-aws-manages-keys",
}

# Keyword drills the brief names explicitly, with the answer each must carry.
REQUIRED_KEYWORD_ANSWERS = {
    "PKCS #11": "cloudhsm",
    "JCE provider": "cloudhsm",
    "CNG": "cloudhsm",
    "KSP": "cloudhsm",
    "OpenSSL Dynamic Engine": "cloudhsm",
    "Key policy": "kms",
    "IAM": "kms",
    "Grants": "kms",
    "Native S3, EBS and RDS encryption": "kms",
    "FIPS 140-3 Level 3 validated HSMs today": "both",
    "Symmetric AES-256 keys": "both",
    "CloudTrail logging of API calls": "both",
    "AWS can export your plaintext keys": "neither",
    "Zeroize after 2 failed admin logins": "neither",
}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


STARTER = _load(STARTER_PATH)
QUESTIONS: list[dict[str, Any]] = STARTER["questions"]
KEYWORDS: list[dict[str, Any]] = _load(KEYWORDS_PATH)["keywords"]


def _questions_of(*types: str) -> list[Any]:
    return [pytest.param(q, id=q["key"]) for q in QUESTIONS if q["type"] in types]


def _all_questions() -> list[Any]:
    return [pytest.param(q, id=q["key"]) for q in QUESTIONS]


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _question_text(question: dict[str, Any]) -> str:
    """Everything a learner reads before answering: prompt, options, pairs and steps."""
    parts = [question["prompt"]]
    parts += [option["text"] for option in question.get("options", [])]
    for pair in question.get("pairs", []):
        parts += [pair["left"], pair["right"]]
    parts += question.get("steps", [])
    return "\n".join(parts)


# --- The bank as a whole -----------------------------------------------------------------------


def test_bank_header_names_the_starter_bank():
    bank = STARTER["bank"]
    assert bank["slug"] == "cloudhsm-vs-kms-starter"
    assert bank["title"] == "CloudHSM vs KMS: starter bank"
    assert _is_text(bank["description"])


def test_bank_has_enough_questions_of_each_type():
    counts = Counter(q["type"] for q in QUESTIONS)
    assert len(QUESTIONS) >= MINIMUM_QUESTIONS
    assert set(counts) <= set(FIELDS_BY_TYPE)
    for question_type, minimum in MINIMUM_PER_TYPE.items():
        assert counts[question_type] >= minimum, f"{question_type}: {counts[question_type]}"


def test_question_keys_are_unique_slugs():
    keys = [q["key"] for q in QUESTIONS]
    duplicates = [key for key, count in Counter(keys).items() if count > 1]
    assert not duplicates
    assert all(SLUG.match(key) for key in keys), [key for key in keys if not SLUG.match(key)]


def test_every_topic_and_lesson_is_used():
    used_topics = {topic for q in QUESTIONS for topic in q["topics"]}
    used_lessons = {q["lesson"] for q in QUESTIONS}
    assert used_topics == TOPICS
    assert used_lessons == LESSONS


@pytest.mark.parametrize(("row", "prefix"), DECISION_ROWS.items(), ids=DECISION_ROWS.values())
def test_every_decision_guide_row_has_several_decision_questions(row, prefix):
    covering = [
        q["key"]
        for q in QUESTIONS
        if (q["key"] == prefix or q["key"].startswith(prefix + "-")) and "decision" in q["topics"]
    ]
    assert len(covering) >= MINIMUM_QUESTIONS_PER_DECISION_ROW, f"{row}: {covering}"


# --- Every question ----------------------------------------------------------------------------


@pytest.mark.parametrize("question", _all_questions())
def test_question_has_exactly_the_fields_of_its_type(question):
    assert question["type"] in FIELDS_BY_TYPE
    allowed = REQUIRED_FIELDS | OPTIONAL_FIELDS | FIELDS_BY_TYPE[question["type"]]
    required = REQUIRED_FIELDS | FIELDS_BY_TYPE[question["type"]]
    assert set(question) <= allowed, set(question) - allowed
    assert required <= set(question), required - set(question)


@pytest.mark.parametrize("question", _all_questions())
def test_question_texts_are_present(question):
    assert _is_text(question["prompt"])
    assert _is_text(question["explanation"])
    if "exam_vs_today" in question:
        assert _is_text(question["exam_vs_today"])


@pytest.mark.parametrize("question", _all_questions())
def test_keyword_appears_verbatim_in_prompt(question):
    if "keyword" in question:
        assert _is_text(question["keyword"])
        assert question["keyword"] in question["prompt"]


@pytest.mark.parametrize("question", _all_questions())
def test_topics_difficulty_and_lesson_are_valid(question):
    topics = question["topics"]
    assert isinstance(topics, list)
    assert 1 <= len(topics) <= 3
    assert len(set(topics)) == len(topics)
    assert set(topics) <= TOPICS, set(topics) - TOPICS
    assert question["difficulty"] in {1, 2, 3}
    assert question["lesson"] in LESSONS


@pytest.mark.parametrize("question", _all_questions())
def test_source_has_title_https_url_and_verified_date(question):
    source = question["source"]
    assert set(source) == {"title", "url", "verified"}
    assert _is_text(source["title"])
    assert source["url"].startswith("https://")
    verified = source["verified"]
    if isinstance(verified, str):
        verified = dt.date.fromisoformat(verified)
    assert isinstance(verified, dt.date)
    assert verified >= dt.date(2025, 1, 1)


@pytest.mark.parametrize("question", _all_questions())
def test_fips_140_2_claims_carry_a_dated_exam_vs_today_note(question):
    # FIPS 140-2 wording is where older exam banks and AWS today disagree (KMS is Level 3
    # since May 2023), so any question that shows it must say what changed.
    if "FIPS 140-2" in _question_text(question):
        assert "exam_vs_today" in question


# --- Type-specific rules -----------------------------------------------------------------------


def _check_options(options: list[dict[str, Any]]) -> None:
    assert isinstance(options, list)
    for option in options:
        assert set(option) <= {"text", "correct", "feedback"}
        assert _is_text(option["text"])
        assert isinstance(option["correct"], bool)
        if "feedback" in option:
            assert _is_text(option["feedback"])
    texts = [option["text"] for option in options]
    assert len(set(texts)) == len(texts)


@pytest.mark.parametrize("question", _questions_of("single"))
def test_single_choice_has_one_correct_option_among_three_to_five(question):
    options = question["options"]
    _check_options(options)
    assert 3 <= len(options) <= 5
    assert sum(option["correct"] for option in options) == 1
    assert "Select TWO" not in question["prompt"]
    assert "Select THREE" not in question["prompt"]


@pytest.mark.parametrize("question", _questions_of("multiple"))
def test_multiple_choice_says_how_many_to_select_and_marks_that_many(question):
    options = question["options"]
    _check_options(options)
    assert 4 <= len(options) <= 6
    asked = re.findall(r"Select (TWO|THREE)", question["prompt"])
    assert len(asked) == 1, "the prompt must say Select TWO or Select THREE once"
    correct = sum(option["correct"] for option in options)
    assert correct == SELECT_COUNTS[asked[0]]
    assert correct < len(options)


@pytest.mark.parametrize("question", _questions_of("truefalse"))
def test_true_false_has_a_boolean_answer(question):
    assert isinstance(question["answer"], bool)


def test_true_false_answers_are_not_all_the_same():
    answers = {q["answer"] for q in QUESTIONS if q["type"] == "truefalse"}
    assert answers == {True, False}


@pytest.mark.parametrize("question", _questions_of("match"))
def test_match_has_three_or_more_pairs_with_unique_left_values(question):
    pairs = question["pairs"]
    assert isinstance(pairs, list)
    assert len(pairs) >= 3
    for pair in pairs:
        assert set(pair) == {"left", "right"}
        assert _is_text(pair["left"])
        assert _is_text(pair["right"])
    lefts = [pair["left"] for pair in pairs]
    assert len(set(lefts)) == len(lefts)
    assert len({pair["right"] for pair in pairs}) >= 2, "all pairs lead to the same answer"


@pytest.mark.parametrize("question", _questions_of("order"))
def test_order_has_three_or_more_distinct_steps(question):
    steps = question["steps"]
    assert isinstance(steps, list)
    assert len(steps) >= 3
    assert all(_is_text(step) for step in steps)
    assert len(set(steps)) == len(steps)


# --- Keyword drills ----------------------------------------------------------------------------


def test_keyword_drills_are_numerous_and_cover_every_answer():
    assert len(KEYWORDS) >= MINIMUM_KEYWORDS
    assert {item["answer"] for item in KEYWORDS} == KEYWORD_ANSWERS


def test_keyword_drill_keywords_are_unique_ignoring_case():
    keywords = [item["keyword"].casefold() for item in KEYWORDS]
    assert [k for k, count in Counter(keywords).items() if count > 1] == []


@pytest.mark.parametrize("item", KEYWORDS, ids=[item["keyword"] for item in KEYWORDS])
def test_keyword_drill_item_is_well_formed(item):
    assert set(item) == {"keyword", "answer", "why", "topics"}
    assert _is_text(item["keyword"])
    assert item["answer"] in KEYWORD_ANSWERS
    assert _is_text(item["why"])
    assert isinstance(item["topics"], list)
    assert 1 <= len(item["topics"]) <= 3
    assert set(item["topics"]) <= TOPICS, set(item["topics"]) - TOPICS


@pytest.mark.parametrize(("keyword", "answer"), REQUIRED_KEYWORD_ANSWERS.items())
def test_required_keyword_drills_are_present_with_the_right_answer(keyword, answer):
    answers = {item["keyword"]: item["answer"] for item in KEYWORDS}
    assert answers.get(keyword) == answer
