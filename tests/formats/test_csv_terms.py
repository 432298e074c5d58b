from __future__ import annotations

import pytest

from quizzes.formats import BankData, Pair, QuestionData, csv_terms
from tests.formats.helpers import assert_error, sample_bank

ANKI_TSV = (
    "#separator:tab\n"
    "#html:false\n"
    "#tags column:3\n"
    "PKCS #11\tStandard C API offered by the AWS CloudHSM client SDK\tcloudhsm\n"
    "Envelope encryption\tEncrypt data with a data key, then encrypt that key with a KMS key\tkms\n"
    "Grant\tDelegates use of a KMS key without editing the key policy\tkms\n"
    'Key store\t"Where key material lives; for example\tan AWS CloudHSM cluster"\tkms\n'
    "Multi-Region key\tKMS keys with the same key ID in several Regions\tkms\n"
)

QUIZLET_CSV = (
    "Term,Definition\n"
    'KMS,"Managed, multi-tenant key service"\n'
    'CloudHSM,"Single-tenant HSMs in your VPC; you manage users"\n'
    "FIPS 140-3 Level 3,Validation level of CloudHSM hsm2m.medium HSMs\n"
    '"XKS","External key store:\n'
    'keys outside AWS"\n'
    "Custom key store,KMS front end for CloudHSM or external keys\n"
    "SSE-KMS,S3 server-side encryption with a KMS key\n"
    "Key policy,Primary access control of a KMS key\n"
    "Grant,Temporary delegated permission\n"
    "Alias,Friendly name for a KMS key\n"
)


def test_anki_tsv() -> None:
    result = csv_terms.parse(ANKI_TSV, deck="AWS KMS deck")
    assert result.errors == [] and result.warnings == []
    (q,) = result.questions
    assert q.key == "aws-kms-deck-1"
    assert q.type == "match"
    assert q.prompt == "Match each term to its definition"
    assert q.pairs[0] == Pair("PKCS #11", "Standard C API offered by the AWS CloudHSM client SDK")
    assert q.pairs[3] == Pair(
        "Key store", "Where key material lives; for example\tan AWS CloudHSM cluster"
    )
    assert len(q.pairs) == 5
    assert result.lines == [4]


def test_quizlet_csv_with_header_and_quoted_newline() -> None:
    result = csv_terms.parse(QUIZLET_CSV)
    assert result.errors == [] and result.warnings == []
    assert [q.prompt for q in result.questions] == [
        "Match each term to its definition (1/3)",
        "Match each term to its definition (2/3)",
        "Match each term to its definition (3/3)",
    ]
    assert [len(q.pairs) for q in result.questions] == [3, 3, 3]
    assert [q.key for q in result.questions] == ["terms-1", "terms-2", "terms-3"]
    assert result.questions[0].pairs[0] == Pair("KMS", "Managed, multi-tenant key service")
    assert result.questions[1].pairs[0] == Pair("XKS", "External key store:\nkeys outside AWS")
    assert result.lines == [2, 5, 9]


def test_quizlet_tab_export_with_commas_in_definitions() -> None:
    rows = [f"Term {n}\tDefinition {n}, with a comma; and a semicolon" for n in range(8)]
    result = csv_terms.parse("\n".join(rows) + "\n")
    assert result.errors == []
    assert [len(q.pairs) for q in result.questions] == [4, 4]
    assert result.questions[0].pairs[0] == Pair(
        "Term 0", "Definition 0, with a comma; and a semicolon"
    )


def test_semicolon_delimited() -> None:
    rows = [f"Term {n};Definition {n}, with a comma" for n in range(4)]
    result = csv_terms.parse("\n".join(rows))
    assert result.errors == []
    assert result.questions[0].pairs[3] == Pair("Term 3", "Definition 3, with a comma")


def test_comma_delimited_with_semicolons_in_definitions() -> None:
    rows = [f"Term {n},Definition {n}; with a semicolon" for n in range(4)]
    result = csv_terms.parse("\n".join(rows))
    assert result.errors == []
    assert result.questions[0].pairs[3] == Pair("Term 3", "Definition 3; with a semicolon")


def test_anki_named_separator() -> None:
    result = csv_terms.parse("#separator:Semicolon\na;1\nb;2\nc;3\n")
    assert result.errors == []
    assert result.questions[0].pairs[2] == Pair("c", "3")


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(3, [3]), (4, [4]), (5, [5]), (6, [3, 3]), (7, [4, 3]), (9, [3, 3, 3]), (12, [4, 4, 4])],
)
def test_grouping(count: int, sizes: list[int]) -> None:
    result = csv_terms.parse("".join(f"t{n}\td{n}\n" for n in range(count)))
    assert [len(q.pairs) for q in result.questions] == sizes


def test_fewer_than_three_rows_is_an_error() -> None:
    result = csv_terms.parse("KMS\tManaged keys\nCloudHSM\tYour HSMs\n")
    assert_error(result, None, "needs at least 3 term/definition rows (found 2)")
    assert result.questions == []


def test_row_without_definition() -> None:
    result = csv_terms.parse("a\t1\nb\t2\nc\nd\t4\n")
    assert_error(result, 3, "row has no definition (expected term<TAB>definition)")
    assert [p.left for p in result.questions[0].pairs] == ["a", "b", "d"]


def test_row_without_term() -> None:
    result = csv_terms.parse("a,1\nb,2\n,3\nd,4\n")
    assert_error(result, 3, "row has no term")


def test_duplicate_term() -> None:
    result = csv_terms.parse("a\t1\nb\t2\na\t3\nd\t4\n")
    assert_error(result, 3, "duplicate term 'a' (first on line 1)")


def test_line_numbers_count_header_lines_and_blank_lines() -> None:
    result = csv_terms.parse("#separator:tab\n#html:false\n\na\t1\n\nb\nc\t3\nd\t4\n")
    assert_error(result, 6, "row has no definition")


def test_extra_columns_warning() -> None:
    result = csv_terms.parse("a\t1\tx\nb\t2\nc\t3\n")
    assert result.ok
    assert (result.warnings[0].line, result.warnings[0].message) == (
        1,
        "columns after the second (term, definition) are ignored",
    )


def test_empty_file() -> None:
    assert_error(csv_terms.parse("#separator:tab\n\n"), None, "no rows")


def test_unknown_anki_separator_is_a_warning() -> None:
    result = csv_terms.parse("#separator:Weird\na\t1\nb\t2\nc\t3\n")
    assert result.ok
    assert result.warnings[0].line == 1


def test_dump_and_round_trip() -> None:
    bank = BankData("b", "B", questions=csv_terms.parse(QUIZLET_CSV).questions)
    dumped = csv_terms.dump(bank)
    assert dumped.text.startswith('KMS,"Managed, multi-tenant key service"\n')
    again = csv_terms.parse(dumped.text)
    assert again.errors == []
    assert again.questions == bank.questions


def test_dump_as_tsv_round_trip() -> None:
    bank = BankData("b", "B", questions=csv_terms.parse(ANKI_TSV).questions)
    dumped = csv_terms.dump(bank, delimiter="\t")
    again = csv_terms.parse(dumped.text)
    assert again.errors == []
    assert [q.pairs for q in again.questions] == [q.pairs for q in bank.questions]


def test_dump_skips_non_matching_with_warnings() -> None:
    dumped = csv_terms.dump(sample_bank())
    messages = [w.message for w in dumped.warnings]
    assert "CSV term lists keep only matching questions; skipped 'hsm-pkcs11'" in messages
    assert "CSV term lists keep only matching questions; skipped 'envelope-order'" in messages
    assert any("prompts, keys, explanations and metadata are lost" in m for m in messages)
    assert dumped.text == (
        "PKCS #11,AWS CloudHSM\nJCE provider,AWS CloudHSM\nGenerateDataKey,AWS KMS\n"
    )
    again = csv_terms.parse(dumped.text)
    assert again.questions[0].pairs == sample_bank().questions[3].pairs


def test_dump_warns_about_terms_repeated_across_questions() -> None:
    pairs = (Pair("a", "1"), Pair("b", "2"), Pair("c", "3"))
    bank = BankData(
        "b",
        "B",
        questions=[
            QuestionData(key="m1", type="match", prompt="M1", pairs=pairs),
            QuestionData(key="m2", type="match", prompt="M2", pairs=pairs),
        ],
    )
    dumped = csv_terms.dump(bank)
    assert sum("already appeared" in w.message for w in dumped.warnings) == 3


def test_unclosed_quote_is_an_error_with_its_line() -> None:
    result = csv_terms.parse('a,1\nb,2\nc,"never closed\nd,4\n')
    assert_error(result, 3, "a quoted field starting on line 3 is never closed")


def test_unquoted_tsv_with_quotes_is_read_literally() -> None:
    result = csv_terms.parse('a\t"Quoted" word first\nb\t2\nc\t"open quote\n')
    assert result.errors == []
    assert result.questions[0].pairs[0] == Pair("a", '"Quoted" word first')
    assert result.questions[0].pairs[2] == Pair("c", '"open quote')
    assert result.warnings[0].line == 1
    assert "irregular quotes" in result.warnings[0].message


def test_irregular_quotes_in_csv_are_a_warning() -> None:
    result = csv_terms.parse('a,1\nb,"x"y\nc,3\n')
    assert result.ok
    assert (result.warnings[0].line, result.questions[0].pairs[1]) == (2, Pair("b", "xy"))
