"""Readable differences between two revisions of a question (pure Python).

A revision's data (the native YAML shape) is first rendered as labelled text, one fact per
line, so a diff reads like "Option 2 is now correct" rather than as JSON punctuation; then
``difflib`` compares the two texts.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["DiffLine", "question_lines", "revision_diff"]

DiffKind = Literal["hunk", "context", "added", "removed"]


@dataclass(frozen=True)
class DiffLine:
    kind: DiffKind
    text: str

    @property
    def sign(self) -> str:
        return {"added": "+", "removed": "−", "context": " ", "hunk": ""}[self.kind]


def _block(label: str, text: Any) -> list[str]:
    text = str(text or "").strip()
    if not text:
        return []
    return [f"{label}:", *(f"    {line}" for line in text.splitlines())]


def question_lines(data: Mapping[str, Any]) -> list[str]:
    """The question as labelled text lines, in the order an author reads it."""
    lines = [f"Type: {data.get('type', '')}"]
    lines += _block("Prompt", data.get("prompt"))
    for number, option in enumerate(data.get("options") or [], start=1):
        mark = "[correct]" if option.get("correct") else "[wrong]"
        lines += _block(f"Option {number} {mark}", option.get("text"))
        lines += _block(f"Option {number} feedback", option.get("feedback"))
    if data.get("answer") is not None:
        lines.append(f"Answer: {'true' if data['answer'] else 'false'}")
    for number, pair in enumerate(data.get("pairs") or [], start=1):
        lines.append(f"Pair {number}: {pair.get('left', '')} → {pair.get('right', '')}")
    for number, step in enumerate(data.get("steps") or [], start=1):
        lines += _block(f"Step {number}", step)
    lines += _block("Explanation", data.get("explanation"))
    if data.get("keyword"):
        lines.append(f"Keyword: {data['keyword']}")
    if data.get("topics"):
        lines.append(f"Topics: {', '.join(data['topics'])}")
    lines.append(f"Difficulty: {data.get('difficulty', '')}")
    if data.get("lesson"):
        lines.append(f"Lesson: {data['lesson']}")
    source = data.get("source") or {}
    if source.get("title"):
        lines.append(f"Source: {source['title']}")
    if source.get("url"):
        lines.append(f"Source URL: {source['url']}")
    if source.get("verified"):
        lines.append(f"Last verified: {source['verified']}")
    lines += _block("Exam vs today", data.get("exam_vs_today"))
    if data.get("category"):
        lines.append(f"Category: {data['category']}")
    return lines


def revision_diff(
    old: Mapping[str, Any], new: Mapping[str, Any], *, context: int = 3
) -> list[DiffLine]:
    """A unified diff of two revisions' text renderings; empty when they read the same."""
    diff = difflib.unified_diff(question_lines(old), question_lines(new), lineterm="", n=context)
    out: list[DiffLine] = []
    started = False  # the "---"/"+++" file headers come before the first hunk
    for line in diff:
        if line.startswith("@@"):
            started = True
            out.append(DiffLine("hunk", "…"))
        elif not started:
            continue
        elif line.startswith("+"):
            out.append(DiffLine("added", line[1:]))
        elif line.startswith("-"):
            out.append(DiffLine("removed", line[1:]))
        else:
            out.append(DiffLine("context", line[1:]))
    return out
