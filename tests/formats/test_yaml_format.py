from __future__ import annotations

import datetime as dt

from quizzes.formats import BankData, Option, yaml_format
from tests.formats.helpers import assert_error, has_error, sample_bank, text

VALID = text(
    """
    bank:
      slug: cloudhsm-vs-kms-mini
      title: "CloudHSM vs KMS: mini bank"
      description: >-
        Two questions.

    questions:
      # A comment between questions is fine.
      - key: decision-pkcs11
        type: single
        prompt: |
          An application needs a **PKCS #11** interface.

          Which service fits?
        options:
          - text: "AWS CloudHSM"
            correct: true
            feedback: "The CloudHSM client SDK ships a PKCS #11 library."
          - text: "AWS KMS"
            correct: false
        explanation: Only CloudHSM offers PKCS #11.
        keyword: "PKCS #11"
        topics: [decision, cloudhsm]
        difficulty: 1
        lesson: cloudhsm-vs-kms#interfaces
        source:
          title: "CloudHSM User Guide"
          url: "https://docs.aws.amazon.com/cloudhsm/latest/userguide/pkcs11-library.html"
          verified: 2026-11-28

      - key: order-envelope
        type: order
        prompt: Put the steps in order.
        steps: ["GenerateDataKey", "Encrypt locally", "Store the wrapped key"]
        status: draft
    """
)


def test_parses_valid_bank() -> None:
    result = yaml_format.parse(VALID)
    assert result.errors == [] and result.warnings == []
    assert result.bank is not None
    assert (result.bank.slug, result.bank.title, result.bank.description) == (
        "cloudhsm-vs-kms-mini",
        "CloudHSM vs KMS: mini bank",
        "Two questions.",
    )
    first, second = result.questions
    assert first.prompt == "An application needs a **PKCS #11** interface.\n\nWhich service fits?"
    assert first.options[0] == Option(
        "AWS CloudHSM", True, "The CloudHSM client SDK ships a PKCS #11 library."
    )
    assert first.source is not None and first.source.verified == dt.date(2026, 11, 28)
    assert first.lesson == "cloudhsm-vs-kms#interfaces"
    assert second.steps == ("GenerateDataKey", "Encrypt locally", "Store the wrapped key")
    assert second.status == "draft"
    assert result.lines == [9, 31]
    assert result.indexes == [0, 1]
    assert result.bank.questions == result.questions
    assert result.total == 2


def test_accepts_bare_list_of_questions() -> None:
    result = yaml_format.parse(
        text(
            """
            - key: t1
              type: truefalse
              prompt: KMS keys are regional.
              answer: true
            """
        )
    )
    assert result.ok and result.bank is None
    assert result.questions[0].answer is True


def test_round_trip_is_exact() -> None:
    bank = sample_bank()
    dumped = yaml_format.dump(bank)
    assert dumped.warnings == []
    again = yaml_format.parse(dumped.text)
    assert again.errors == [] and again.warnings == []
    assert again.bank == bank
    # and dumping again gives byte-identical text
    assert again.bank is not None
    assert yaml_format.dump(again.bank).text == dumped.text


def test_dump_uses_block_scalars_for_multiline_text() -> None:
    dumped = yaml_format.dump(sample_bank()).text
    assert "  - key: hsm-pkcs11\n" in dumped
    assert "    prompt: |-\n      Which AWS service offers a **PKCS #11** library?\n\n" in dumped
    assert "verified: 2026-11-28" in dumped


def test_round_trip_of_tricky_scalars() -> None:
    bank = BankData(
        "b",
        "yes",
        questions=[
            sample_bank()
            .questions[0]
            .__class__(
                key="tricky",
                type="single",
                prompt="no",
                options=(
                    Option("on", True, "null"),
                    Option("2048"),
                    Option("- dash: colon #hash"),
                    Option("trailing spaces   \nnext line"),
                ),
            )
        ],
    )
    again = yaml_format.parse(yaml_format.dump(bank).text)
    assert again.errors == []
    assert again.bank == BankData(
        "b",
        "yes",
        questions=[
            bank.questions[0].__class__(
                key="tricky",
                type="single",
                prompt="no",
                options=(
                    Option("on", True, "null"),
                    Option("2048"),
                    Option("- dash: colon #hash"),
                    Option("trailing spaces   \nnext line"),
                ),
            )
        ],
    )


def test_syntax_error_reports_yaml_line() -> None:
    bad = text(
        """
        questions:
          - key: a
            type: single
            prompt: "unclosed
          - key: b
        """
    )
    result = yaml_format.parse(bad)
    issue = result.errors[0]
    assert issue.message.startswith("YAML syntax error")
    assert issue.line == 6


def test_syntax_error_bad_indentation() -> None:
    bad = "questions:\n  - key: a\n    type: single\n   prompt: x\n"
    result = yaml_format.parse(bad)
    assert len(result.errors) == 1
    assert result.errors[0].line == 4
    assert "YAML syntax error" in result.errors[0].message


def test_unknown_type_points_at_type_line() -> None:
    result = yaml_format.parse(
        text(
            """
            questions:
              - key: a
                type: essay
                prompt: Explain KMS.
            """
        )
    )
    issue = assert_error(result, 3, "unknown question type 'essay'")
    assert issue.question_index == 0
    assert result.questions == []


def test_missing_field_points_at_question() -> None:
    result = yaml_format.parse(
        text(
            """
            questions:
              - key: ok
                type: truefalse
                prompt: KMS is regional.
                answer: true
              - key: no-prompt
                type: truefalse
                answer: true
            """
        )
    )
    assert_error(result, 6, "missing required field 'prompt'")
    assert [q.key for q in result.questions] == ["ok"]
    assert result.errors[0].question_index == 1


def test_duplicate_keys() -> None:
    result = yaml_format.parse(
        text(
            """
            questions:
              - key: same
                type: truefalse
                prompt: A.
                answer: true
              - key: same
                type: truefalse
                prompt: B.
                answer: false
            """
        )
    )
    assert_error(result, 6, "duplicate key 'same' (first used on line 2)")
    assert [q.prompt for q in result.questions] == ["A."]


def test_field_given_twice() -> None:
    result = yaml_format.parse(
        text(
            """
            questions:
              - key: a
                type: truefalse
                prompt: A.
                answer: true
                answer: false
            """
        )
    )
    assert has_error(result, 6, "field 'answer' is given twice")


def test_bad_option_points_at_option_line() -> None:
    result = yaml_format.parse(
        text(
            """
            questions:
              - key: a
                type: single
                prompt: Pick.
                options:
                  - text: AWS KMS
                    correct: true
                  - text: yes
            """
        )
    )
    assert_error(result, 8, "option 2 text must be text, not true/false")


def test_validation_errors_point_at_question_start() -> None:
    result = yaml_format.parse(
        text(
            """
            questions:
              - key: a
                type: single
                prompt: Pick.
                options:
                  - {text: AWS KMS, correct: true}
                  - {text: AWS CloudHSM, correct: true}
                difficulty: 5
            """
        )
    )
    assert [(e.line, e.message) for e in result.errors] == [
        (2, "single choice must have exactly one correct option (found 2)"),
        (2, "difficulty must be 1, 2 or 3 (got 5)"),
    ]


def test_unknown_fields_are_warnings() -> None:
    result = yaml_format.parse(
        text(
            """
            bank: {slug: b, title: B, owner: me}
            questions:
              - key: a
                type: truefalse
                prompt: KMS is regional.
                answer: true
                explaination: typo
            version: 2
            """
        )
    )
    assert result.ok
    assert [(w.line, w.message) for w in result.warnings] == [
        (1, "unknown bank field 'owner' ignored"),
        (7, "unknown field 'explaination' ignored"),
        (8, "unknown top-level field 'version' ignored"),
    ]


def test_structural_errors() -> None:
    assert_error(yaml_format.parse(""), 1, "the file is empty")
    assert_error(yaml_format.parse("bank: {slug: b, title: B}\n"), 1, "missing 'questions:'")
    assert_error(yaml_format.parse("just a string\n"), 1, "expected a mapping")
    assert_error(yaml_format.parse("questions:\n  key: a\n"), 2, "must be a list")
    assert_error(yaml_format.parse("questions:\n  - just text\n"), 2, "must be a mapping")
    result = yaml_format.parse("bank: {title: B}\nquestions: []\n")
    assert_error(result, 1, "bank: missing required field 'slug'")


def test_non_printable_character_is_reported() -> None:
    result = yaml_format.parse("questions:\n  - key: a\x07\n")
    assert result.errors and result.errors[0].line == 2


def test_deeply_nested_document_is_an_error_not_a_crash() -> None:
    result = yaml_format.parse("[" * 50_000)
    assert result.errors and "nested too deeply" in result.errors[0].message


def test_merge_keys_and_anchors_are_supported() -> None:
    result = yaml_format.parse(
        text(
            """
            defaults: &tf
              type: truefalse
              topics: [kms]
              difficulty: 1
            questions:
              - <<: *tf
                key: a
                prompt: KMS is regional.
                answer: true
              - <<: *tf
                key: b
                prompt: CloudHSM is multi-tenant.
                answer: false
                difficulty: 3
            """
        )
    )
    assert result.errors == []
    assert [w.message for w in result.warnings] == ["unknown top-level field 'defaults' ignored"]
    assert [(q.type, q.topics, q.difficulty) for q in result.questions] == [
        ("truefalse", ("kms",), 1),
        ("truefalse", ("kms",), 3),
    ]
