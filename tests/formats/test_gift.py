from __future__ import annotations

import dataclasses

import pytest

from quizzes.formats import BankData, Option, Pair, QuestionData, gift
from tests.formats.helpers import assert_error, sample_bank, text, without_order

REALISTIC = text(
    r"""
    // CloudHSM vs KMS: exam drill exported from Moodle 4.x
    // question: 0  name: Switch category to $course$/top/AWS/Key management
    $CATEGORY: $course$/top/AWS/Key management

    // question: 101  name: hsm-pkcs
    ::hsm-pkcs::[markdown]Which AWS service gives your application a **PKCS \#11** library?{
    <TAB>=AWS CloudHSM#Right\: the CloudHSM client SDK ships it.
    <TAB>~AWS KMS#KMS has its own API, not PKCS \#11.
    <TAB>~AWS Secrets Manager
    <TAB>####CloudHSM \= dedicated, single-tenant HSMs.
    }

    // multiple response with weights
    ::kms-facts:: Which statements about AWS KMS are true? {
      ~%50%It integrates with Amazon S3 # yes
      ~%50%Its HSMs are FIPS 140-3 validated
      ~%-100%It offers a PKCS \#11 library
    }

    AWS KMS is a multi-tenant service.{TRUE}

    ::Interfaces::
    Match each interface
    to its service. {
      =PKCS \#11 -> AWS CloudHSM
      =JCE provider -> AWS CloudHSM
      =GenerateDataKey -> AWS KMS
      ####Only CloudHSM speaks the standard crypto APIs.
    }

    $CATEGORY: AWS/Exam traps

    ::Trap 1::[html]<b>CloudHSM</b> backs up your cluster automatically. {T#Backups are
    automatic, but you manage users.}

    Which key store keeps key material in your own cluster?{
    =AWS CloudHSM key store ~External key store ~Default KMS key store}
    """
).replace("<TAB>", "\t")


def test_parses_realistic_gift() -> None:
    result = gift.parse(REALISTIC)
    assert result.errors == []
    assert [w.message for w in result.warnings] == [
        "true/false answer feedback was used as the explanation"
    ]
    hsm, facts, tf, match, trap, store = result.questions

    assert hsm.key == "hsm-pkcs"
    assert hsm.type == "single"
    assert hsm.prompt == "Which AWS service gives your application a **PKCS #11** library?"
    assert hsm.options == (
        Option("AWS CloudHSM", True, "Right: the CloudHSM client SDK ships it."),
        Option("AWS KMS", False, "KMS has its own API, not PKCS #11."),
        Option("AWS Secrets Manager", False),
    )
    assert hsm.explanation == "CloudHSM = dedicated, single-tenant HSMs."
    assert hsm.category == "AWS/Key management"

    assert facts.type == "multiple"
    assert [o.correct for o in facts.options] == [True, True, False]
    assert facts.options[0] == Option("It integrates with Amazon S3", True, "yes")
    assert facts.options[2].text == "It offers a PKCS #11 library"

    assert (tf.type, tf.answer, tf.key) == ("truefalse", True, "aws-kms-is-a-multi-tenant-service")
    assert tf.prompt == "AWS KMS is a multi-tenant service."

    assert match.key == "interfaces"
    assert match.prompt == "Match each interface\nto its service."
    assert match.pairs == (
        Pair("PKCS #11", "AWS CloudHSM"),
        Pair("JCE provider", "AWS CloudHSM"),
        Pair("GenerateDataKey", "AWS KMS"),
    )
    assert match.explanation == "Only CloudHSM speaks the standard crypto APIs."

    assert trap.key == "trap-1"
    assert trap.prompt == "<b>CloudHSM</b> backs up your cluster automatically."
    assert trap.answer is True
    assert trap.explanation == "Backups are\nautomatic, but you manage users."
    assert trap.category == "AWS/Exam traps"

    assert store.options[0] == Option("AWS CloudHSM key store", True)
    assert result.lines == [6, 14, 20, 22, 33, 36]
    assert result.indexes == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ("{T}", True),
        ("{TRUE}", True),
        ("{F}", False),
        ("{FALSE}", False),
        ("{ false }", False),
        ("{F####General feedback}", False),
    ],
)
def test_true_false_spellings(answers: str, expected: bool) -> None:
    result = gift.parse(f"KMS keys are global.{answers}\n")
    assert result.errors == []
    assert result.questions[0].answer is expected


def test_true_false_feedback_with_general_feedback_is_dropped() -> None:
    result = gift.parse(
        "KMS is regional.{T#No, it is regional.#Correct.####Keys live in one Region.}"
    )
    assert result.questions[0].explanation == "Keys live in one Region."
    assert "dropped" in result.warnings[0].message


def test_escapes_and_newline_escape() -> None:
    result = gift.parse(
        r"Escapes\: \~ \= \# \{ \} and a backslash \\ and\na new line.{=right ~wrong}"
    )
    assert result.errors == []
    assert result.questions[0].prompt == "Escapes: ~ = # { } and a backslash \\ and\na new line."


def test_format_markers_are_stripped() -> None:
    result = gift.parse("[moodle]Pick **one**.{=[markdown]*a* ~[plain]b}")
    q = result.questions[0]
    assert q.prompt == "Pick **one**."
    assert [o.text for o in q.options] == ["*a*", "b"]


def test_meta_comment_restores_our_fields() -> None:
    meta = (
        '{"key": "kms-region", "topics": ["kms"], "difficulty": 3, "keyword": "Region", '
        '"status": "draft", "source": {"title": "Docs", "url": "https://docs.aws.amazon.com", '
        '"verified": "2026-11-28"}}'
    )
    result = gift.parse(f"// meta: {meta}\n::Some title::KMS keys stay in one Region.{{T}}\n")
    assert result.errors == []
    q = result.questions[0]
    assert (q.key, q.topics, q.difficulty, q.keyword, q.status) == (
        "kms-region",
        ("kms",),
        3,
        "Region",
        "draft",
    )
    assert q.source is not None and q.source.verified is not None


def test_malformed_meta_is_a_warning() -> None:
    result = gift.parse("// meta: {not json}\nKMS is regional.{T}\n")
    assert result.ok
    assert result.warnings[0].line == 1
    assert "malformed" in result.warnings[0].message
    assert result.questions[0].key == "kms-is-regional"


def test_bad_meta_value_is_an_error_on_meta_line() -> None:
    result = gift.parse('// meta: {"key": "k", "difficulty": "hard"}\nKMS is regional.{T}\n')
    assert_error(result, 1, "difficulty")


def test_generated_keys_are_unique_and_never_steal_explicit_keys() -> None:
    result = gift.parse(
        text(
            """
            KMS is regional.{T}

            KMS is regional.{T}

            // meta: {"key": "kms-is-regional"}
            Explicit key, later in the file.{F}
            """
        )
    )
    assert result.errors == []
    assert [q.key for q in result.questions] == [
        "kms-is-regional-2",
        "kms-is-regional-3",
        "kms-is-regional",
    ]


def test_duplicate_meta_keys_are_errors() -> None:
    result = gift.parse(
        text(
            """
            // meta: {"key": "dup"}
            A.{T}

            // meta: {"key": "dup"}
            B.{F}
            """
        )
    )
    assert_error(result, 5, "duplicate key 'dup' (first used on line 2)")


def test_multiple_response_weights_with_decimals() -> None:
    result = gift.parse(
        "Pick three.{~%33.33333%a ~%33.33333%b ~%33.33333%c ~%-100%d}\n\n"
        "Pick three again.{~%33%a ~%33%b ~%33%c ~d}\n"
    )
    assert result.errors == []
    assert [q.type for q in result.questions] == ["multiple", "multiple"]


def test_single_positive_weight_is_single_choice() -> None:
    result = gift.parse("Pick.{~%100%a ~b ~c}")
    assert result.errors == []
    assert result.questions[0].type == "single"
    assert "single choice" in result.warnings[0].message


def test_partial_credit_in_single_choice_is_a_warning() -> None:
    result = gift.parse("Pick.{=a ~%50%b ~c}")
    assert result.questions[0].options[1] == Option("b", False)
    assert result.warnings[0].line == 1
    assert "partial credit (50%)" in result.warnings[0].message


def test_matching_distractor_is_dropped_with_warning() -> None:
    result = gift.parse("Match.{=a -> 1 =b -> 2 =c -> 3 = -> 4}")
    assert len(result.questions[0].pairs) == 3
    assert "distractor" in result.warnings[0].message


# --- errors ---------------------------------------------------------------------


def test_unclosed_brace() -> None:
    result = gift.parse(
        text(
            """
            ::ok:: Fine.{T}

            ::broken:: Which service?{
              =AWS KMS
              ~AWS CloudHSM
            """
        )
    )
    assert_error(result, 3, "unclosed brace: '{' on line 3 has no matching '}'")
    assert [q.key for q in result.questions] == ["ok"]
    assert result.errors[0].question_index == 1


def test_unclosed_brace_before_next_question_in_same_chunk() -> None:
    result = gift.parse("Which service?{\n=KMS ~CloudHSM\nNext question {T}\n")
    assert_error(result, 1, "is not closed before the next '{' on line 3")


def test_closing_brace_without_opening() -> None:
    assert_error(gift.parse("Stray\nbrace } here {T}"), 2, "'}' without a matching '{'")


def test_blank_line_inside_answers_reports_unclosed_brace() -> None:
    result = gift.parse("Which?{\n=a\n\n~b\n}\n")
    assert result.errors[0].line == 1
    assert "unclosed brace" in result.errors[0].message


def test_matching_pair_without_arrow() -> None:
    result = gift.parse(
        text(
            """
            // comment line
            ::m:: Match the interfaces. {
              =PKCS \\#11 -> AWS CloudHSM
              =JCE provider AWS CloudHSM
              =GenerateDataKey -> AWS KMS
            }
            """
        )
    )
    assert_error(result, 4, "matching pair 'JCE provider AWS CloudHSM' has no '->'")


def test_fewer_than_two_options() -> None:
    result = gift.parse("\n\n::one:: Only one option? {\n  =AWS KMS ~\n}\n")
    assert result.errors[0].line == 3
    messages = [e.message for e in result.errors]
    assert "option 2 has empty text" in messages


def test_single_wrong_option_only() -> None:
    result = gift.parse("::one:: Only a wrong option? {~AWS KMS}\n")
    assert result.errors[0].line == 1
    assert "no correct answer" in result.errors[0].message


def test_one_correct_option_only() -> None:
    result = gift.parse("Which?{=AWS KMS ~}")
    messages = [e.message for e in result.errors]
    assert "option 2 has empty text" in messages


def test_too_few_options_after_tilde() -> None:
    result = gift.parse("Which?{\n=AWS KMS\n~[markdown]\n}")
    assert any("option 2 has empty text" in e.message for e in result.errors)


def test_weights_that_do_not_add_up() -> None:
    result = gift.parse(
        text(
            """
            ::ok:: Fine.{T}

            ::weights:: Which are true? {
              ~%50%a
              ~%40%b
              ~%-100%c
            }
            """
        )
    )
    assert_error(result, 3, "the weights of the correct answers add up to 90%, not 100%")


def test_invalid_weight() -> None:
    assert_error(gift.parse("Pick.{\n~%half%a\n~%50%b}"), 2, "invalid answer weight '%half%'")
    assert_error(gift.parse("Pick.{~%150%a ~b}"), 1, "outside -100..100")


def test_two_titles_without_blank_line() -> None:
    result = gift.parse("::q1:: First question\n::q2:: Second question {T}\n")
    assert_error(result, 2, "two questions without a blank line between them")


def test_two_answer_blocks_without_blank_line() -> None:
    result = gift.parse("::q1:: First? {T}\n::q2:: Second? {F}\n")
    assert_error(result, 2, "two questions without a blank line between them")
    result = gift.parse("First? {T}\nSecond? {F}\n")
    assert_error(result, 2, "two questions without a blank line between them")


def test_comment_lines_do_not_separate_questions() -> None:
    result = gift.parse("// q1\nFirst? {T}\n// q2\nSecond? {F}\n")
    assert_error(result, 4, "two questions without a blank line between them")


@pytest.mark.parametrize(
    ("source", "line", "fragment"),
    [
        ("Who is buried in Grant's tomb?{=Grant =Ulysses Grant}", 1, "short answer"),
        ("When was Grant born?{#1822:5}", 1, "numerical"),
        ("Write an essay about KMS.{}", 1, "essay"),
        ("Write an essay.{####Graded by hand}", 1, "essay"),
        ("Grant is {~buried =entombed ~living} in Grant's tomb.", 1, "missing word"),
        ("\nJust a description, no answers.", 2, "no answer block"),
    ],
)
def test_unsupported_question_types(source: str, line: int, fragment: str) -> None:
    issue = assert_error(gift.parse(source), line, "unsupported question type")
    assert fragment in issue.message


def test_text_after_answer_block_on_next_line() -> None:
    assert_error(gift.parse("Q?{T}\nmore text\n"), 2, "unexpected text after the answer block")


def test_unclosed_title() -> None:
    assert_error(gift.parse("::title Q?{T}"), 1, "question title is not closed")


def test_text_before_first_answer() -> None:
    assert_error(
        gift.parse("Q?{\n  oops\n  =a\n  ~b\n}"),
        2,
        "unexpected text 'oops' before the first answer",
    )


def test_errors_keep_the_valid_questions() -> None:
    result = gift.parse("Good one.{T}\n\nBad one.{#1}\n\nAnother good one.{F}\n")
    assert [q.prompt for q in result.questions] == ["Good one.", "Another good one."]
    assert result.indexes == [0, 2]
    assert result.errors[0].question_index == 1
    assert result.total == 3


def test_crlf_line_endings() -> None:
    result = gift.parse("::a:: Q?{\r\n=x\r\n~y\r\n}\r\n\r\n::b:: R?{T}\r\n")
    assert result.errors == []
    assert [q.key for q in result.questions] == ["a", "b"]


def test_empty_category_resets() -> None:
    result = gift.parse("$CATEGORY: a/b\n\nQ1?{T}\n\n$CATEGORY:\n\nQ2?{T}\n")
    assert [q.category for q in result.questions] == ["a/b", ""]


def test_category_line_followed_directly_by_question() -> None:
    result = gift.parse("$CATEGORY: a/b\nQ1?{T}\n")
    assert result.errors == []
    assert result.questions[0].category == "a/b"


# --- export ---------------------------------------------------------------------


def test_dump_round_trip_modulo_ordering() -> None:
    bank = sample_bank()
    dumped = gift.dump(bank)
    assert [w.message for w in dumped.warnings] == [
        "GIFT cannot express ordering questions; skipped 'envelope-order'"
    ]
    assert dumped.warnings[0].question_index == 4
    assert (dumped.exported, dumped.skipped) == (4, 1)
    again = gift.parse(dumped.text)
    assert again.errors == [] and again.warnings == []
    assert again.questions == without_order(bank)
    assert again.bank is not None
    assert again.bank.header_dict() == bank.header_dict()


def test_dump_looks_like_gift() -> None:
    dumped = gift.dump(sample_bank()).text
    assert "$CATEGORY: AWS/Key management\n" in dumped
    assert (
        "::hsm-pkcs11::[markdown]Which AWS service offers a **PKCS \\#11** library?\\n\\nPick one.{"
        in dumped
    )
    assert "\t=AWS CloudHSM #Right\\: the CloudHSM client SDK has it.\n" in dumped
    assert "\t~%50%It integrates with Amazon S3\n" in dumped
    assert "\t~%-100%It speaks PKCS \\#11\n" in dumped
    assert "\t=PKCS \\#11 -> AWS CloudHSM\n" in dumped
    assert "\tTRUE\n" in dumped
    assert "\t####CloudHSM \\= single-tenant HSMs \\{you manage\\}.\n" in dumped
    assert '// meta: {"key": "kms-facts", "topics": ["kms"], "difficulty": 3}\n' in dumped
    # every question is separated by a blank line and contains none
    for chunk in dumped.split("\n\n"):
        assert chunk.strip()


def test_dump_protects_answers_that_look_like_weights_or_markers() -> None:
    q = QuestionData(
        key="odd",
        type="single",
        prompt="Odd answers",
        options=(
            Option("%50% of keys", True),
            Option("[html] literally"),
            Option("\\n is a newline"),
        ),
    )
    again = gift.parse(gift.dump(BankData("b", "B", questions=[q])).text)
    assert again.errors == []
    assert again.questions == [q]


@pytest.mark.parametrize("correct", [2, 3, 6, 7])
def test_dump_weights_for_many_correct_options(correct: int) -> None:
    options = (*(Option(f"right {i}", True) for i in range(correct)), Option("wrong"))
    q = QuestionData(key="many", type="multiple", prompt="Pick all.", options=options)
    again = gift.parse(gift.dump(BankData("b", "B", questions=[q])).text)
    assert again.errors == []
    assert again.questions == [q]


def test_dump_warns_about_arrow_in_matching_keyword() -> None:
    q = QuestionData(
        key="arrows",
        type="match",
        prompt="Match",
        pairs=(Pair("a -> b", "1"), Pair("c", "2"), Pair("d", "3")),
    )
    dumped = gift.dump(BankData("b", "B", questions=[q]))
    assert "contains '->'" in dumped.warnings[0].message


def test_round_trip_of_multiline_and_special_text() -> None:
    q = dataclasses.replace(
        sample_bank().questions[0],
        prompt="Line one: {braces} ~tilde =equals #hash\n\n// not a comment\n::not a title::",
        explanation="C:\\path\\n and `code`",
    )
    q = dataclasses.replace(q, keyword="")
    again = gift.parse(gift.dump(BankData("b", "B", questions=[q])).text)
    assert again.errors == []
    assert again.questions == [q]


def test_deeply_nested_meta_is_ignored_not_a_crash() -> None:
    result = gift.parse("// meta: " + "[" * 50_000 + "\nKMS is regional.{T}\n")
    assert result.ok and len(result.questions) == 1
    assert "malformed" in result.warnings[0].message


@pytest.mark.parametrize(
    ("line", "category"),
    [
        ("$CATEGORY: $course$/top/AWS/KMS", "AWS/KMS"),
        ("$CATEGORY: $course$/top", ""),
        ("$CATEGORY: $system$/Shared", "Shared"),
        ("$CATEGORY: top/AWS", "top/AWS"),
        ("$CATEGORY:   AWS\\: KMS  ", "AWS: KMS"),
    ],
)
def test_category_paths(line: str, category: str) -> None:
    result = gift.parse(f"{line}\n\nQ?{{T}}\n")
    assert result.questions[0].category == category


def test_single_option_question_reports_fewer_than_two_options() -> None:
    result = gift.parse("Intro.{T}\n\n::lonely::\nOnly one option?{\n  ~%100%AWS KMS\n}\n")
    assert_error(result, 3, "single choice question needs at least two options (found 1)")
