"""Moodle GIFT format.

Supported on import: multiple choice (``{=right ~wrong}``), multiple response with
weights (``{~%50%a ~%50%b ~%-100%c}``), true/false (``{T}``, ``{TRUE}``, ``{F}``,
``{FALSE}``, with ``#wrong feedback#right feedback``), matching
(``{=PKCS \\#11 -> AWS CloudHSM ...}``), per-answer feedback (``#...``), general
feedback (``####...``), titles (``::title::``), ``$CATEGORY: a/b``, ``//`` comment
lines, the escapes ``\\~ \\= \\# \\{ \\} \\: \\\\ \\n``, the format markers
``[markdown] [html] [moodle] [plain]`` (stripped; the text is kept) and multi-line
questions. Questions are separated by blank lines.

Short answer, numerical, essay, description and missing-word questions are
reported as "unsupported question type". Our own fields GIFT cannot carry (key,
topics, difficulty, keyword, lesson, source, exam_vs_today, status) travel in a
``// meta: {...}`` JSON comment before the question, read back on import; the bank
header travels in a ``// bank: {...}`` comment. Ordering questions cannot be
expressed and are skipped on export with a warning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from ._common import ResultBuilder, normalize_newlines
from .questions import DEFAULT_DIFFICULTY, BankData, QuestionData, QuestionFormatError
from .results import DumpResult, ImportIssue, ParseResult

NAME: Final = "gift"
LABEL: Final = "Moodle GIFT"
EXTENSIONS: Final = (".gift", ".txt")
CONTENT_TYPE: Final = "text/plain"

#: Fields carried by the ``// meta:`` comment (everything GIFT has no syntax for).
META_FIELDS: Final = (
    "key",
    "topics",
    "difficulty",
    "keyword",
    "lesson",
    "source",
    "exam_vs_today",
    "status",
)

_ESC: Final = "\ue000"  # placeholder prefix; escapes keep their length (2 chars)
_ESCAPABLE: Final = "\\~=#{}:n"
_ESCAPE_RE: Final = re.compile(r"\\([\\~=#{}:n])")
_UNESCAPE_RE: Final = re.compile(_ESC + "(.)", re.DOTALL)
_FORMAT_RE: Final = re.compile(r"^\s*\[(markdown|html|moodle|plain)\]", re.IGNORECASE)
_WEIGHT_RE: Final = re.compile(r"^\s*%(-?[0-9]+(?:\.[0-9]*)?)%")
_BAD_WEIGHT_RE: Final = re.compile(r"^\s*%[^%\n]*%")
_META_RE: Final = re.compile(r"^//\s*(meta|bank)\s*:\s*(.*?)\s*$")
_TF: Final = {"T": True, "TRUE": True, "F": False, "FALSE": False}
# Moodle context prefix of exported categories: "$course$/top/Sub" -> "Sub".
_CONTEXT_RE: Final = re.compile(r"^\$[a-z]+\$(?:/top)?(?:/|$)")


def _encode(text: str) -> str:
    """Replace ``\\x`` escapes by 2-char placeholders (offsets stay valid)."""
    return _ESCAPE_RE.sub(lambda m: _ESC + chr(0xE100 + _ESCAPABLE.index(m.group(1))), text)


def _decode(text: str) -> str:
    def char(m: re.Match[str]) -> str:
        c = _ESCAPABLE[ord(m.group(1)) - 0xE100]
        return "\n" if c == "n" else c

    return _UNESCAPE_RE.sub(char, text)


def _clean(raw: str) -> str:
    """Encoded GIFT text -> plain text: strip a format marker, unescape, trim."""
    raw = _FORMAT_RE.sub("", raw, count=1)
    return _decode(raw).strip()


@dataclass
class _Chunk:
    start_line: int  # line number of the chunk's first line
    lines: list[str] = field(default_factory=list)  # comment lines blanked
    comments: list[tuple[int, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class _State:
    builder: ResultBuilder
    category: str = ""
    meta: dict[str, Any] | None = None
    meta_line: int | None = None
    bank: BankData | None = None


def parse(text: str) -> ParseResult:
    """Parse GIFT text; see the module docstring for what is supported."""
    text = normalize_newlines(text)
    state = _State(ResultBuilder())
    for chunk in _chunks(text):
        _read_comments(chunk, state)
        encoded = _encode(chunk.text)
        if encoded.strip():
            _parse_chunk(chunk, encoded, _first_content(encoded, 0), state)
    return state.builder.result(state.bank)


def _chunks(text: str) -> list[_Chunk]:
    chunks: list[_Chunk] = []
    current: _Chunk | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            if current is not None:
                chunks.append(current)
                current = None
            continue
        if current is None:
            current = _Chunk(start_line=number)
        if line.lstrip().startswith("//"):
            current.comments.append((number, line.strip()))
            current.lines.append("")
        else:
            current.lines.append(line)
    if current is not None:
        chunks.append(current)
    return chunks


def _read_comments(chunk: _Chunk, state: _State) -> None:
    for number, comment in chunk.comments:
        m = _META_RE.match(comment)
        if not m:
            continue
        kind, payload = m.groups()
        try:
            value = json.loads(payload)
        except (ValueError, RecursionError):
            value = None
        if not isinstance(value, dict):
            state.builder.warn(number, f"ignored malformed '// {kind}:' comment (expected JSON)")
            continue
        if kind == "bank":
            try:
                state.bank = BankData.from_header(value)
            except QuestionFormatError as exc:
                state.builder.warn(number, f"ignored '// bank:' comment: {exc.message}")
        else:
            if state.meta is not None:
                state.builder.warn(state.meta_line, "'// meta:' comment not followed by a question")
            state.meta = value
            state.meta_line = number


def _first_content(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _parse_chunk(chunk: _Chunk, text: str, pos: int, state: _State) -> None:
    builder = state.builder

    def line_at(offset: int) -> int:
        return chunk.start_line + text.count("\n", 0, offset)

    if text.startswith("$CATEGORY:", pos):
        end = text.find("\n", pos)
        end = len(text) if end == -1 else end
        category = _decode(text[pos + len("$CATEGORY:") : end]).strip()
        state.category = _CONTEXT_RE.sub("", category)
        rest = _first_content(text, end)
        if rest < len(text):
            _parse_chunk(chunk, text, rest, state)
        return

    index = builder.next_index()
    qline = line_at(pos)
    meta, meta_line = state.meta, state.meta_line
    state.meta = state.meta_line = None

    title = ""
    if text.startswith("::", pos):
        end = text.find("::", pos + 2)
        if end == -1:
            builder.error(
                qline, "question title is not closed: '::' without a matching '::'", index
            )
            return
        title = _decode(text[pos + 2 : end]).strip()
        pos = end + 2

    open_ = text.find("{", pos)
    close = text.find("}", pos)
    head_end = open_ if open_ != -1 else len(text)
    second = re.search(r"\n[ \t]*::", text[pos:head_end])
    if second:
        builder.error(
            line_at(pos + second.start() + 1),
            "two questions without a blank line between them (a second '::title::' "
            "starts here); separate questions with a blank line",
            index,
        )
        return
    if open_ == -1 and close == -1:
        builder.error(
            qline,
            "unsupported question type: no answer block {...} (description questions "
            "are not supported)",
            index,
        )
        return
    if close != -1 and (open_ == -1 or close < open_):
        builder.error(
            line_at(close), "'}' without a matching '{' (escape a literal brace as \\})", index
        )
        return
    if close == -1:
        builder.error(
            line_at(open_),
            f"unclosed brace: '{{' on line {line_at(open_)} has no matching '}}'",
            index,
        )
        return
    nested = text.find("{", open_ + 1, close)
    if nested != -1:
        builder.error(
            line_at(open_),
            f"unclosed brace: '{{' on line {line_at(open_)} is not closed before the next "
            f"'{{' on line {line_at(nested)} (escape a literal brace as \\{{)",
            index,
        )
        return

    after = close + 1
    tail = _first_content(text, after)
    if tail < len(text):
        trailing = text[tail:]
        if "{" in trailing or trailing.startswith("::"):
            builder.error(
                line_at(tail),
                "two questions without a blank line between them (a second question "
                "starts here); separate questions with a blank line",
                index,
            )
        elif line_at(tail) == line_at(close):
            builder.error(
                qline,
                "unsupported question type: missing word (text after the answer block)",
                index,
            )
        else:
            builder.error(
                line_at(tail),
                "unexpected text after the answer block; separate questions with a blank line",
                index,
            )
        return

    prompt = _clean(text[pos:open_])
    block_start = open_ + 1
    block = text[block_start:close]
    explanation = ""
    general = block.rfind("####")
    if general != -1:
        explanation = _clean(block[general + 4 :])
        block = block[:general]

    data: dict[str, Any] = {
        "key": title,
        "prompt": prompt,
        "explanation": explanation,
        "category": state.category,
    }
    reader = _BlockReader(block, block_start, line_at, builder, index, qline)
    stripped = block.strip()
    ok: bool
    if not stripped:
        builder.error(qline, "unsupported question type: essay (empty answer block {})", index)
        return
    if stripped.startswith("#"):
        builder.error(qline, "unsupported question type: numerical ({#...})", index)
        return
    if "~" in stripped:
        ok = reader.choice(data)
    elif "=" in stripped and "->" in stripped:
        ok = reader.matching(data)
    elif stripped.split("#", 1)[0].strip().upper() in _TF:
        ok = reader.truefalse(data)
    else:
        builder.error(
            qline,
            "unsupported question type: short answer ({=answer} without wrong options)",
            index,
        )
        return
    if not ok:
        return

    explicit = False
    if meta is not None:
        for name, value in meta.items():
            if name in META_FIELDS:
                data[name] = value
            else:
                builder.warn(meta_line, f"unknown meta field {name!r} ignored", index)
        explicit = isinstance(meta.get("key"), str) and bool(meta["key"])
    if not explicit:
        data["key"] = title or prompt
    field_lines = dict.fromkeys(META_FIELDS, meta_line or qline)
    builder.build(data, qline, index, explicit_key=explicit, field_lines=field_lines)


class _BlockReader:
    """Reads the inside of ``{...}`` into ``data`` (returns False after an error)."""

    def __init__(
        self,
        block: str,
        offset: int,
        line_at: Callable[[int], int],
        builder: ResultBuilder,
        index: int,
        qline: int,
    ) -> None:
        self.block = block
        self.offset = offset
        self.line_at = line_at
        self.builder = builder
        self.index = index
        self.qline = qline

    def _line(self, pos: int) -> int:
        return self.line_at(self.offset + pos)

    def _items(self, markers: str) -> list[tuple[int, str, str]] | None:
        """Split at unescaped marker characters: (position, marker, raw text)."""
        positions = [i for i, c in enumerate(self.block) if c in markers]
        lead = self.block[: positions[0]] if positions else self.block
        if lead.strip():
            pos = len(lead) - len(lead.lstrip())
            self.builder.error(
                self._line(pos),
                f"unexpected text {_decode(lead.strip())!r} before the first answer "
                f"(answers start with {' or '.join(repr(m) for m in markers)})",
                self.index,
            )
            return None
        items = []
        for n, start in enumerate(positions):
            end = positions[n + 1] if n + 1 < len(positions) else len(self.block)
            items.append((start, self.block[start], self.block[start + 1 : end]))
        return items

    def choice(self, data: dict[str, Any]) -> bool:
        items = self._items("~=")
        if items is None:
            return False
        single = any(marker == "=" for _, marker, _ in items)
        options: list[dict[str, Any]] = []
        weights: list[float] = []
        for pos, marker, raw in items:
            weight: float = 100.0 if marker == "=" else 0.0
            m = _WEIGHT_RE.match(raw)
            if m:
                weight = float(m.group(1))
                raw = raw[m.end() :]
                if not -100 <= weight <= 100:
                    self.builder.error(
                        self._line(pos),
                        f"answer weight {m.group(1)}% is outside -100..100",
                        self.index,
                    )
                    return False
            elif bad := _BAD_WEIGHT_RE.match(raw):
                self.builder.error(
                    self._line(pos),
                    f"invalid answer weight {_decode(bad.group(0).strip())!r} "
                    "(expected a percentage like %50% or %-100%)",
                    self.index,
                )
                return False
            text, _, feedback = raw.partition("#")
            option_text = _clean(text)
            if marker == "=":
                correct = True
            elif single:
                correct = False
                if weight > 0:
                    self.builder.warn(
                        self._line(pos),
                        f"partial credit ({weight:g}%) for {option_text!r} is not supported; "
                        "treated as a wrong option",
                        self.index,
                    )
            else:
                correct = weight > 0
            weights.append(weight)
            options.append({"text": option_text, "correct": correct, "feedback": _clean(feedback)})

        if single:
            data["type"] = "single"
        else:
            positive = [w for w in weights if w > 0]
            total = sum(positive)
            if not positive:
                self.builder.error(
                    self.qline,
                    "no correct answer: mark the right option with '=' (or give the "
                    "correct options of a multiple response question weights like ~%50%)",
                    self.index,
                )
                return False
            if abs(total - 100) > 1:
                self.builder.error(
                    self.qline,
                    f"the weights of the correct answers add up to {total:g}%, not 100%",
                    self.index,
                )
                return False
            data["type"] = "multiple" if len(positive) > 1 else "single"
            if len(positive) == 1:
                self.builder.warn(
                    self.qline,
                    "only one option has a positive weight: imported as single choice",
                    self.index,
                )
        data["options"] = options
        return True

    def matching(self, data: dict[str, Any]) -> bool:
        items = self._items("=")
        if items is None:
            return False
        pairs: list[dict[str, str]] = []
        for pos, _, raw in items:
            arrow = raw.find("->")
            if arrow == -1:
                self.builder.error(
                    self._line(pos),
                    f"matching pair {_clean(raw)!r} has no '->' (write =keyword -> answer)",
                    self.index,
                )
                return False
            left, right = _clean(raw[:arrow]), _clean(raw[arrow + 2 :])
            if not left:
                self.builder.warn(
                    self._line(pos),
                    f"extra answer {right!r} without a keyword (a distractor) is not "
                    "supported; dropped",
                    self.index,
                )
                continue
            pairs.append({"left": left, "right": right})
        data["type"] = "match"
        data["pairs"] = pairs
        return True

    def truefalse(self, data: dict[str, Any]) -> bool:
        parts = self.block.strip().split("#")
        value = _TF[parts[0].strip().upper()]
        feedback = [_clean(p) for p in parts[1:3]]
        extra = next((f for f in feedback if f), "")
        if extra:
            if data["explanation"]:
                self.builder.warn(
                    self.qline,
                    "true/false answer feedback is not supported; dropped (the general "
                    "feedback is kept)",
                    self.index,
                )
            else:
                data["explanation"] = extra
                self.builder.warn(
                    self.qline,
                    "true/false answer feedback was used as the explanation",
                    self.index,
                )
        data["type"] = "truefalse"
        data["answer"] = value
        return True


# --- export -----------------------------------------------------------------------

_RESERVED: Final = {
    "\\": "\\\\",
    "~": "\\~",
    "=": "\\=",
    "#": "\\#",
    "{": "\\{",
    "}": "\\}",
    ":": "\\:",
    "\n": "\\n",
}


def escape(text: str) -> str:
    """Escape GIFT's reserved characters (``\\ ~ = # { } :``, newline -> ``\\n``)."""
    return "".join(_RESERVED.get(c, c) for c in text)


def _answer_text(text: str) -> str:
    """Escaped answer text, protected against being read as a weight/format marker."""
    out = escape(text)
    if _WEIGHT_RE.match(out) or _BAD_WEIGHT_RE.match(out) or _FORMAT_RE.match(out):
        out = "[markdown]" + out
    return out


def _weight(correct_count: int) -> str:
    value = 100 / correct_count
    return f"{value:g}" if value == int(value) else f"{value:.5f}"


def dump(bank: BankData) -> DumpResult:
    """Export as GIFT; ordering questions are skipped with a warning."""
    warnings: list[ImportIssue] = []
    header = " ".join(bank.title.split())
    parts: list[str] = [
        f"// Exported question bank: {header}\n"
        "// bank: " + json.dumps(bank.header_dict(), ensure_ascii=False)
    ]
    category = ""
    exported = skipped = 0
    for n, q in enumerate(bank.questions):
        if q.type == "order":
            warnings.append(
                ImportIssue(
                    None,
                    f"GIFT cannot express ordering questions; skipped {q.key!r}",
                    n,
                )
            )
            skipped += 1
            continue
        if q.category != category:
            parts.append(f"$CATEGORY: {q.category}".rstrip())
            category = q.category
        parts.append(_question(q, n, warnings))
        exported += 1
    text = "\n\n".join(parts) + "\n"
    return DumpResult(text=text, warnings=warnings, exported=exported, skipped=skipped)


def _meta(q: QuestionData) -> str:
    full = q.to_dict()
    meta = {name: full[name] for name in META_FIELDS if name in full}
    if meta.get("difficulty") == DEFAULT_DIFFICULTY:
        del meta["difficulty"]
    if "source" in meta and "verified" in meta["source"]:
        meta["source"] = dict(meta["source"], verified=meta["source"]["verified"].isoformat())
    return "// meta: " + json.dumps(meta, ensure_ascii=False)


def _question(q: QuestionData, n: int, warnings: list[ImportIssue]) -> str:
    lines = [_meta(q), f"::{escape(q.key)}::[markdown]{escape(q.prompt)}{{"]
    if q.type == "truefalse":
        lines.append("\tTRUE" if q.answer else "\tFALSE")
    elif q.type == "single":
        for opt in q.options:
            mark = "=" if opt.correct else "~"
            lines.append(f"\t{mark}{_answer_text(opt.text)}" + _feedback(opt.feedback))
    elif q.type == "multiple":
        weight = _weight(sum(1 for o in q.options if o.correct) or 1)
        for opt in q.options:
            mark = f"~%{weight}%" if opt.correct else "~%-100%"
            lines.append(f"\t{mark}{_answer_text(opt.text)}" + _feedback(opt.feedback))
    elif q.type == "match":
        for pair in q.pairs:
            if "->" in pair.left:
                warnings.append(
                    ImportIssue(
                        None,
                        f"GIFT matching keyword {pair.left!r} in {q.key!r} contains '->' "
                        "and will not import back correctly",
                        n,
                    )
                )
            lines.append(f"\t={_answer_text(pair.left)} -> {escape(pair.right)}")
    if q.explanation:
        lines.append(f"\t####{escape(q.explanation)}")
    lines.append("}")
    return "\n".join(lines)


def _feedback(text: str) -> str:
    return f" #{escape(text)}" if text else ""
