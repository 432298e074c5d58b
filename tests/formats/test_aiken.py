from __future__ import annotations

import dataclasses

from quizzes.formats import BankData, Option, QuestionData, aiken
from tests.formats.helpers import assert_error, sample_bank, text

VALID = text(
    """
    Which AWS service offers a PKCS #11 library?
    A. AWS KMS
    B. AWS CloudHSM
    C. AWS Secrets Manager
    ANSWER: B

    Which service is multi-tenant
    and fully managed?
    A) AWS KMS
    B) AWS CloudHSM
    ANSWER: A
    Who rotates AWS managed keys?
    A. You
    B. AWS
    answer: b
    """
)


def test_parses_valid_aiken() -> None:
    result = aiken.parse(VALID)
    assert result.errors == [] and result.warnings == []
    first, second, third = result.questions
    assert first.key == "which-aws-service-offers-a-pkcs-11-library"
    assert first.type == "single"
    assert first.prompt == "Which AWS service offers a PKCS #11 library?"
    assert first.options == (
        Option("AWS KMS"),
        Option("AWS CloudHSM", True),
        Option("AWS Secrets Manager"),
    )
    assert second.prompt == "Which service is multi-tenant\nand fully managed?"
    assert [o.correct for o in second.options] == [True, False]
    assert [o.correct for o in third.options] == [False, True]
    assert result.lines == [1, 7, 12]


def test_missing_answer_line_before_blank_line() -> None:
    result = aiken.parse("Q1?\nA. x\nB. y\n\nQ2?\nA. x\nB. y\nANSWER: A\n")
    assert_error(result, 4, "missing ANSWER line after the options of the question on line 1")
    assert [q.prompt for q in result.questions] == ["Q2?"]
    assert result.errors[0].question_index == 0


def test_missing_answer_line_at_end_of_file() -> None:
    assert_error(aiken.parse("Q1?\nA. x\nB. y"), 4, "missing ANSWER line")


def test_missing_answer_line_when_next_question_follows() -> None:
    result = aiken.parse("Q1?\nA. x\nB. y\nQ2?\nA. x\nB. y\nANSWER: B\n")
    assert_error(result, 4, "missing ANSWER line")
    assert [q.prompt for q in result.questions] == ["Q2?"]


def test_invalid_answer_line() -> None:
    assert_error(aiken.parse("Q?\nA. x\nB. y\nANSWER: 2\n"), 4, "invalid ANSWER line")
    assert_error(aiken.parse("Q?\nA. x\nB. y\nANSWER:\n"), 4, "invalid ANSWER line")
    assert_error(aiken.parse("Q?\nA. x\nB. y\nANSWER: AB\n"), 4, "invalid ANSWER line")


def test_answer_letter_not_among_options() -> None:
    assert_error(
        aiken.parse("\nQ?\nA. x\nB. y\nANSWER: D\n"), 5, "ANSWER D is not one of the options (A, B)"
    )


def test_fewer_than_two_options() -> None:
    result = aiken.parse("Q?\nA. only\nANSWER: A\n")
    assert_error(result, 1, "at least two options (found 1)")


def test_question_without_options() -> None:
    assert_error(aiken.parse("Q?\nANSWER: A\n"), 1, "question has no options")
    assert_error(aiken.parse("Just a line of text\n"), 1, "question has no options")


def test_answer_without_question() -> None:
    assert_error(aiken.parse("ANSWER: A\n"), 1, "ANSWER line without a question")


def test_duplicate_letter() -> None:
    assert_error(aiken.parse("Q?\nA. x\nA. y\nANSWER: A\n"), 3, "option letter A is used twice")


def test_empty_option_text() -> None:
    result = aiken.parse("Q?\nA. x\nB.\nANSWER: A\n")
    assert_error(result, 1, "option 2 has empty text")


def test_dump_skips_other_types_with_warnings() -> None:
    dumped = aiken.dump(sample_bank())
    messages = [w.message for w in dumped.warnings]
    assert "Aiken skips non-single-choice question 'kms-facts' (multiple)" in messages
    assert "Aiken skips non-single-choice question 'kms-multi-tenant' (truefalse)" in messages
    assert "Aiken skips non-single-choice question 'match-interfaces' (match)" in messages
    assert "Aiken skips non-single-choice question 'envelope-order' (order)" in messages
    assert "Aiken cannot carry explanations; lost for 'hsm-pkcs11'" in messages
    assert "Aiken cannot carry option feedback; lost for 'hsm-pkcs11'" in messages
    assert "Aiken: the prompt of 'hsm-pkcs11' was joined into one line" in messages
    assert (dumped.exported, dumped.skipped) == (1, 4)
    assert dumped.text == (
        "Which AWS service offers a **PKCS #11** library? Pick one.\n"
        "A. AWS CloudHSM\n"
        "B. AWS KMS\n"
        "C. AWS Secrets Manager\n"
        "ANSWER: A\n"
    )


def test_round_trip_of_single_choice_questions() -> None:
    questions = [
        QuestionData(
            key="which-aws-service-offers-pkcs-11",
            type="single",
            prompt="Which AWS service offers PKCS #11?",
            options=(Option("AWS KMS"), Option("AWS CloudHSM", True)),
        ),
        QuestionData(
            key="which-is-regional",
            type="single",
            prompt="Which is regional?",
            options=tuple(Option(f"Option {n}", n == 5) for n in range(8)),
        ),
    ]
    dumped = aiken.dump(BankData("b", "B", questions=questions))
    again = aiken.parse(dumped.text)
    assert again.errors == []
    assert again.questions == questions


def test_round_trip_loses_only_what_the_warnings_say() -> None:
    original = sample_bank().questions[0]
    dumped = aiken.dump(BankData("b", "B", questions=[original]))
    (again,) = aiken.parse(dumped.text).questions
    lost = dataclasses.replace(
        original,
        key=again.key,
        prompt=again.prompt,
        explanation="",
        keyword="",
        topics=(),
        difficulty=2,
        lesson="",
        source=None,
        exam_vs_today="",
        category="",
        options=tuple(dataclasses.replace(o, feedback="") for o in original.options),
    )
    assert again == lost
