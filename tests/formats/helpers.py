"""Shared test helpers for the format tests (plain functions, no fixtures)."""

from __future__ import annotations

import datetime as dt
import textwrap

from quizzes.formats import BankData, Option, Pair, QuestionData, Source
from quizzes.formats.results import ImportIssue, ParseResult


def text(s: str) -> str:
    """Dedent a triple-quoted test input and drop the leading newline."""
    return textwrap.dedent(s).lstrip("\n")


def only_error(result: ParseResult) -> ImportIssue:
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


def assert_error(result: ParseResult, line: int | None, fragment: str) -> ImportIssue:
    """Exactly one error, on ``line``, whose message contains ``fragment``."""
    issue = only_error(result)
    assert issue.line == line, issue
    assert fragment in issue.message, issue
    return issue


def has_error(result: ParseResult, line: int | None, fragment: str) -> bool:
    return any(e.line == line and fragment in e.message for e in result.errors)


def sample_bank() -> BankData:
    """One question of each type, with every optional field used somewhere."""
    return BankData(
        slug="sample-bank",
        title="Sample: CloudHSM vs KMS",
        description="A bank with one question of each type.",
        questions=[
            QuestionData(
                key="hsm-pkcs11",
                type="single",
                prompt="Which AWS service offers a **PKCS #11** library?\n\nPick one.",
                options=(
                    Option("AWS CloudHSM", True, "Right: the CloudHSM client SDK has it."),
                    Option("AWS KMS", False, "KMS has no PKCS #11 interface."),
                    Option("AWS Secrets Manager"),
                ),
                explanation="CloudHSM = single-tenant HSMs {you manage}.",
                keyword="PKCS #11",
                topics=("decision", "cloudhsm"),
                difficulty=1,
                lesson="cloudhsm-vs-kms#pkcs11",
                source=Source(
                    "CloudHSM User Guide",
                    "https://docs.aws.amazon.com/cloudhsm/latest/userguide/pkcs11-library.html",
                    dt.date(2026, 11, 28),
                ),
                exam_vs_today="Older banks said *only* CloudHSM; still true.",
                category="AWS/Key management",
            ),
            QuestionData(
                key="kms-facts",
                type="multiple",
                prompt="Which statements about AWS KMS are true?",
                options=(
                    Option("It integrates with Amazon S3", True),
                    Option("It is FIPS 140-3 validated", True),
                    Option("Key material can be exported in plaintext", False, "Never."),
                    Option("It speaks PKCS #11", False),
                ),
                topics=("kms",),
                difficulty=3,
                category="AWS/Key management",
            ),
            QuestionData(
                key="kms-multi-tenant",
                type="truefalse",
                prompt="True or false: AWS KMS is a multi-tenant service.",
                answer=True,
                explanation="KMS HSMs are shared; CloudHSM clusters are yours alone.",
                status="draft",
            ),
            QuestionData(
                key="match-interfaces",
                type="match",
                prompt="Match each interface to the service that offers it.",
                pairs=(
                    Pair("PKCS #11", "AWS CloudHSM"),
                    Pair("JCE provider", "AWS CloudHSM"),
                    Pair("GenerateDataKey", "AWS KMS"),
                ),
                explanation="CloudHSM offers standard crypto APIs: KMS offers its own API.",
                category="Interfaces",
            ),
            QuestionData(
                key="envelope-order",
                type="order",
                prompt="Put the envelope encryption steps in order.",
                steps=(
                    "Call GenerateDataKey",
                    "Encrypt the data with the plaintext data key",
                    "Store the encrypted data key with the ciphertext",
                ),
            ),
        ],
    )


def without_order(bank: BankData) -> list[QuestionData]:
    return [q for q in bank.questions if q.type != "order"]
