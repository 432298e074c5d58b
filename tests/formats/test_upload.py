from __future__ import annotations

from pathlib import Path

import pytest

from quizzes.formats import (
    FORMATS,
    BankData,
    FormatSpec,
    decode_upload,
    detect_format,
    dump,
    parse_upload,
)
from tests.formats.helpers import assert_error, sample_bank, without_order

GIFT = "::q:: KMS is regional.{T}\n"
AIKEN = "Which?\nA. KMS\nB. CloudHSM\nANSWER: B\n"
TSV = "a\t1\nb\t2\nc\t3\n"
YAML = (
    "bank: {slug: b, title: B}\n"
    "questions:\n"
    "  - {key: k, type: truefalse, prompt: P, answer: true}\n"
)


def test_formats_registry() -> None:
    assert list(FORMATS) == ["yaml", "gift", "aiken", "csv"]
    for name, spec in FORMATS.items():
        assert isinstance(spec, FormatSpec)
        assert spec.name == name
        assert spec.extension.startswith(".")
        assert spec.label and spec.content_type
    assert FORMATS["yaml"].extension == ".yaml"
    assert FORMATS["gift"].extension == ".gift"


@pytest.mark.parametrize(
    ("filename", "text", "expected"),
    [
        ("bank.yaml", "", "yaml"),
        ("bank.YML", "", "yaml"),
        ("bank.gift", "", "gift"),
        ("terms.csv", "", "csv"),
        ("terms.tsv", "", "csv"),
        ("quiz.aiken", "", "aiken"),
        ("quiz.txt", GIFT, "gift"),
        ("quiz.txt", AIKEN, "aiken"),
        ("quiz.txt", TSV, "csv"),
        ("quiz.txt", YAML, "yaml"),
        ("quiz.txt", "// comment\n$CATEGORY: a\n", "gift"),
        ("noext", "Which?\nA. KMS\nB. CloudHSM\nANSWER: B\n\nx{T}", "gift"),
        ("notes.txt", "just some prose\nwith lines", None),
    ],
)
def test_detect_format(filename: str, text: str, expected: str | None) -> None:
    assert detect_format(filename, text) == expected


@pytest.mark.parametrize(
    ("data", "filename", "keys"),
    [
        (GIFT.encode(), "a.gift", ["q"]),
        (AIKEN.encode(), "a.txt", ["which"]),
        (TSV.encode(), "My Deck.tsv", ["my-deck-1"]),
        (YAML.encode(), "b.yaml", ["k"]),
    ],
)
def test_parse_upload_dispatches(data: bytes, filename: str, keys: list[str]) -> None:
    result = parse_upload(data, filename, None)
    assert result.errors == []
    assert [q.key for q in result.questions] == keys


def test_explicit_format_wins_over_extension() -> None:
    result = parse_upload(AIKEN.encode(), "quiz.gift", "aiken")
    assert result.ok and result.questions[0].type == "single"


def test_unknown_and_undetectable_format() -> None:
    assert_error(parse_upload(b"x", "a.txt", "docx"), None, "unknown format 'docx'")
    issue = assert_error(parse_upload(b"prose only", "a.txt", None), None, "could not tell")
    assert "yaml, gift, aiken, csv" in issue.message


def test_utf8_bom_is_accepted() -> None:
    result = parse_upload(b"\xef\xbb\xbf" + "::q:: Schlüssel?{T}".encode(), "a.gift", None)
    assert result.ok
    assert result.questions[0].prompt == "Schlüssel?"


def test_utf8_bom_csv_header_detection() -> None:
    data = b"\xef\xbb\xbfTerm,Definition\nKMS,managed\nHSM,hardware\nXKS,external\n"
    result = parse_upload(data, "terms.csv", None)
    assert result.ok
    assert result.questions[0].pairs[0].left == "KMS"


def test_utf16_with_bom_is_accepted() -> None:
    result = parse_upload(AIKEN.encode("utf-16"), "quiz.txt", None)
    assert result.ok and len(result.questions) == 1


def test_bad_encoding_names_offset_and_line() -> None:
    data = b"::q1:: First {T}\n\n::q2:: Caf\xe9 {T}\n"
    result = parse_upload(data, "latin1.gift", None)
    issue = assert_error(result, 3, "not valid UTF-8")
    assert "byte 0xE9 at offset 28 (line 3, column 11)" in issue.message
    assert result.questions == []


def test_nul_bytes_are_rejected() -> None:
    assert_error(parse_upload(b"abc\n\x00\x01", "x.gift", None), 2, "NUL bytes")


def test_empty_upload() -> None:
    assert_error(parse_upload(b"", "x.gift", None), None, "the file is empty")
    assert_error(parse_upload(b"  \n\n", "x.gift", None), None, "the file is empty")


def test_size_limit() -> None:
    data = (GIFT + "\n").encode() * 100
    issue = assert_error(
        parse_upload(data, "big.gift", None, max_bytes=1000), None, "the file is too large"
    )
    assert "2.7 kB (2,700 bytes)" in issue.message
    assert "limit is 1.0 kB (1,000 bytes)" in issue.message
    assert parse_upload(data, "big.gift", None, max_bytes=len(data)).ok


def test_default_size_limit_is_one_megabyte() -> None:
    data = b"// " + b"x" * 1_000_000
    issue = assert_error(parse_upload(data, "big.gift", None), None, "the file is too large")
    assert "1.0 MB" in issue.message


def test_question_count_limit() -> None:
    data = "\n\n".join(f"Question {n}?{{T}}" for n in range(12)).encode()
    result = parse_upload(data, "many.gift", None, max_questions=10)
    assert_error(result, None, "the file has 12 questions; the limit is 10 per upload")
    assert result.questions == [] and result.lines == [] and result.indexes == []
    assert len(parse_upload(data, "many.gift", None, max_questions=12).questions) == 12


def test_question_count_limit_counts_invalid_questions_too() -> None:
    data = "\n\n".join(f"Question {n}?{{#1}}" for n in range(5)).encode()
    result = parse_upload(data, "many.gift", None, max_questions=3)
    assert "the file has 5 questions" in result.errors[0].message


def test_decode_upload() -> None:
    assert decode_upload("é".encode()) == ("é", None)
    text, issue = decode_upload(b"ok\n\xff")
    assert text is None and issue is not None and issue.line == 2


@pytest.mark.parametrize("name", ["yaml", "gift", "aiken", "csv"])
def test_every_format_round_trips_through_upload(name: str) -> None:
    bank = sample_bank()
    dumped = dump(bank, name)
    result = parse_upload(dumped.text.encode(), "export" + FORMATS[name].extension, None)
    assert result.errors == [], result.errors
    if name == "yaml":
        assert result.bank == bank
    elif name == "gift":
        assert result.questions == without_order(bank)
    elif name == "aiken":
        assert [(q.prompt, q.options) for q in result.questions] == [
            (
                "Which AWS service offers a **PKCS #11** library? Pick one.",
                tuple(o.__class__(o.text, o.correct) for o in bank.questions[0].options),
            )
        ]
    else:
        assert [q.pairs for q in result.questions] == [bank.questions[3].pairs]


STARTER = Path(__file__).resolve().parents[2] / "content" / "banks" / "starter.yaml"


def test_starter_bank_round_trips_through_yaml_and_gift() -> None:
    result = parse_upload(STARTER.read_bytes(), STARTER.name, None)
    assert result.bank is not None and result.questions
    # whatever the starter's authoring state, export/import must not change data
    bank = BankData(
        result.bank.slug, result.bank.title, result.bank.description, list(result.questions)
    )
    again = parse_upload(dump(bank, "yaml").text.encode(), "again.yaml", None)
    assert again.errors == [] and again.bank == bank
    gift_again = parse_upload(dump(bank, "gift").text.encode(), "again.gift", None)
    assert gift_again.errors == []
    assert gift_again.questions == without_order(bank)
