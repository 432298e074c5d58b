"""The text rendering and diff of revisions (no database)."""

from __future__ import annotations

from quizzes.diffing import DiffLine, question_lines, revision_diff

from .factories import SAMPLES


def test_question_lines_label_every_fact():
    data = {
        **SAMPLES["single"],
        "keyword": "PKCS #11",
        "source": {"title": "Guide", "url": "https://example.com", "verified": "2026-11-28"},
    }
    lines = question_lines(data)
    assert lines[:3] == [
        "Type: single",
        "Prompt:",
        "    Which service offers a **PKCS #11** interface?",
    ]
    assert "Option 2 [correct]:" in lines
    assert "Option 1 feedback:" in lines
    assert "Topics: cloudhsm, interfaces" in lines
    assert "Last verified: 2026-11-28" in lines
    assert "Keyword: PKCS #11" in lines


def test_pairs_steps_and_answers_are_rendered():
    assert "Pair 1: PKCS #11 → AWS CloudHSM" in question_lines(SAMPLES["match"])
    assert "    Initialize it" in question_lines(SAMPLES["order"])
    assert "Answer: false" in question_lines(SAMPLES["truefalse"])


def test_identical_revisions_have_no_diff():
    assert revision_diff(SAMPLES["single"], dict(SAMPLES["single"])) == []


def test_a_moved_correct_mark_reads_as_two_changed_lines():
    old = SAMPLES["single"]
    options = [dict(o) for o in old["options"]]
    options[0]["correct"], options[1]["correct"] = True, False
    diff = revision_diff(old, {**old, "options": options})

    changed = [(d.kind, d.text) for d in diff if d.kind in ("added", "removed")]
    assert changed == [
        ("removed", "Option 1 [wrong]:"),
        ("added", "Option 1 [correct]:"),
        ("removed", "Option 2 [correct]:"),
        ("added", "Option 2 [wrong]:"),
    ]
    assert diff[0] == DiffLine("hunk", "…")


def test_content_that_looks_like_diff_headers_is_not_dropped():
    old = {**SAMPLES["order"], "steps": ["--- first", "++ second", "third"]}
    new = {**SAMPLES["order"], "steps": ["first", "++ second", "third"]}
    removed = [d.text for d in revision_diff(old, new) if d.kind == "removed"]
    assert removed == ["    --- first"]


def test_diff_lines_have_readable_signs():
    assert [DiffLine(kind, "x").sign for kind in ("added", "removed", "context", "hunk")] == [
        "+",
        "−",
        " ",
        "",
    ]
