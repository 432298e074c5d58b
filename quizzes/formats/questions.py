"""The native question model shared by every import/export format.

Pure Python (no Django): :class:`QuestionData` mirrors one entry of the YAML bank
schema (``content/banks/*.yaml``), :class:`BankData` a whole bank, and
:func:`validate_question` implements the authoring rules.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

QuestionType = Literal["single", "multiple", "truefalse", "match", "order"]
QUESTION_TYPES: Final[tuple[QuestionType, ...]] = (
    "single",
    "multiple",
    "truefalse",
    "match",
    "order",
)
CHOICE_TYPES: Final[frozenset[str]] = frozenset({"single", "multiple"})
STATUSES: Final[tuple[str, ...]] = ("draft", "published")
DEFAULT_DIFFICULTY: Final = 2
DEFAULT_STATUS: Final = "published"

#: Every field a question mapping may carry, in the order ``to_dict`` writes them.
QUESTION_FIELDS: Final[tuple[str, ...]] = (
    "key",
    "type",
    "prompt",
    "options",
    "answer",
    "pairs",
    "steps",
    "explanation",
    "keyword",
    "topics",
    "difficulty",
    "lesson",
    "source",
    "exam_vs_today",
    "category",
    "status",
)
REQUIRED_FIELDS: Final[tuple[str, ...]] = ("key", "type", "prompt")
BANK_FIELDS: Final[tuple[str, ...]] = ("slug", "title", "description")

KEY_RE: Final = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
LESSON_RE: Final = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*(?:#[A-Za-z0-9_.:-]+)?$")
MAX_KEY_LENGTH: Final = 80


class QuestionFormatError(ValueError):
    """A question (or bank) mapping is malformed: wrong type, missing field...

    ``field`` names the offending top-level field when known, so parsers can point at
    its line.
    """

    def __init__(self, message: str, field: str | None = None, item: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        #: 1-based position inside a list field (options, pairs, steps), when known.
        self.item = item


@dataclass(frozen=True)
class Option:
    """One answer of a single/multiple choice question."""

    text: str
    correct: bool = False
    feedback: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text, "correct": self.correct}
        if self.feedback:
            out["feedback"] = self.feedback
        return out


@dataclass(frozen=True)
class Pair:
    """One keyword -> answer pair of a matching question."""

    left: str
    right: str

    def to_dict(self) -> dict[str, Any]:
        return {"left": self.left, "right": self.right}


@dataclass(frozen=True)
class Source:
    """Where a fact comes from (``source: {title, url, verified}``)."""

    title: str = ""
    url: str = ""
    verified: dt.date | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.title:
            out["title"] = self.title
        if self.url:
            out["url"] = self.url
        if self.verified is not None:
            out["verified"] = self.verified
        return out

    def is_empty(self) -> bool:
        return not (self.title or self.url or self.verified)


@dataclass(frozen=True)
class QuestionData:
    """One question in the native (YAML bank) shape.

    Sequences are tuples so instances are immutable; use :func:`dataclasses.replace`
    to derive a modified copy. Text fields are stored stripped of surrounding
    whitespace when built through :meth:`from_dict`.
    """

    key: str
    type: QuestionType
    prompt: str
    options: tuple[Option, ...] = ()
    answer: bool | None = None
    pairs: tuple[Pair, ...] = ()
    steps: tuple[str, ...] = ()
    explanation: str = ""
    keyword: str = ""
    topics: tuple[str, ...] = ()
    difficulty: int = DEFAULT_DIFFICULTY
    lesson: str = ""
    source: Source | None = None
    exam_vs_today: str = ""
    category: str = ""
    status: str = DEFAULT_STATUS

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping in schema order; empty optional fields are left out."""
        out: dict[str, Any] = {"key": self.key, "type": self.type, "prompt": self.prompt}
        if self.options:
            out["options"] = [o.to_dict() for o in self.options]
        if self.answer is not None:
            out["answer"] = self.answer
        if self.pairs:
            out["pairs"] = [p.to_dict() for p in self.pairs]
        if self.steps:
            out["steps"] = list(self.steps)
        if self.explanation:
            out["explanation"] = self.explanation
        if self.keyword:
            out["keyword"] = self.keyword
        if self.topics:
            out["topics"] = list(self.topics)
        out["difficulty"] = self.difficulty
        if self.lesson:
            out["lesson"] = self.lesson
        if self.source is not None and not self.source.is_empty():
            out["source"] = self.source.to_dict()
        if self.exam_vs_today:
            out["exam_vs_today"] = self.exam_vs_today
        if self.category:
            out["category"] = self.category
        if self.status != DEFAULT_STATUS:
            out["status"] = self.status
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuestionData:
        """Build from a schema mapping; raises :class:`QuestionFormatError`.

        Structure and value *types* are checked here (missing ``key``/``type``/
        ``prompt``, unknown type, a list where text is expected...); the authoring
        rules are :func:`validate_question`'s job. Unknown fields are ignored (see
        :data:`QUESTION_FIELDS` to detect them).
        """
        if not isinstance(data, Mapping):
            raise QuestionFormatError(f"a question must be a mapping of fields, not {_kind(data)}")
        for name in REQUIRED_FIELDS:
            if data.get(name) is None:
                raise QuestionFormatError(f"missing required field '{name}'", name)
        qtype = data["type"]
        if not isinstance(qtype, str) or qtype not in QUESTION_TYPES:
            raise QuestionFormatError(
                f"unknown question type {qtype!r} (expected one of {', '.join(QUESTION_TYPES)})",
                "type",
            )
        options = tuple(_option(item, i) for i, item in enumerate(_list(data, "options"), start=1))
        pairs = tuple(_pair(item, i) for i, item in enumerate(_list(data, "pairs"), start=1))
        steps = tuple(
            _text(item, "steps", f"step {i}", i)
            for i, item in enumerate(_list(data, "steps"), start=1)
        )
        topics = tuple(_text(item, "topics", "a topic") for item in _list(data, "topics"))
        answer = data.get("answer")
        if answer is not None and not isinstance(answer, bool):
            raise QuestionFormatError("field 'answer' must be true or false", "answer")
        difficulty = data.get("difficulty", DEFAULT_DIFFICULTY)
        if difficulty is None:
            difficulty = DEFAULT_DIFFICULTY
        if isinstance(difficulty, bool) or not isinstance(difficulty, int):
            raise QuestionFormatError(
                "field 'difficulty' must be a whole number 1..3", "difficulty"
            )
        status = data.get("status")
        return cls(
            key=_text(data["key"], "key"),
            type=qtype,
            prompt=_text(data["prompt"], "prompt"),
            options=options,
            answer=answer,
            pairs=pairs,
            steps=steps,
            explanation=_opt_text(data, "explanation"),
            keyword=_opt_text(data, "keyword"),
            topics=topics,
            difficulty=difficulty,
            lesson=_opt_text(data, "lesson"),
            source=_source(data.get("source")),
            exam_vs_today=_opt_text(data, "exam_vs_today"),
            category=_opt_text(data, "category"),
            status=DEFAULT_STATUS if status is None else _text(status, "status"),
        )


@dataclass
class BankData:
    """A question bank: ``bank: {slug, title, description}`` plus its questions."""

    slug: str
    title: str
    description: str = ""
    questions: list[QuestionData] = field(default_factory=list)

    def header_dict(self) -> dict[str, Any]:
        """The ``bank:`` mapping (without questions); empty description left out."""
        out: dict[str, Any] = {"slug": self.slug, "title": self.title}
        if self.description:
            out["description"] = self.description
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "bank": self.header_dict(),
            "questions": [q.to_dict() for q in self.questions],
        }

    @classmethod
    def from_header(cls, data: Mapping[str, Any]) -> BankData:
        """Build from the ``bank:`` mapping (no questions); raises QuestionFormatError."""
        if not isinstance(data, Mapping):
            raise QuestionFormatError(f"'bank' must be a mapping, not {_kind(data)}", "bank")
        for name in ("slug", "title"):
            if data.get(name) is None:
                raise QuestionFormatError(f"bank: missing required field '{name}'", name)
        slug = _text(data["slug"], "slug")
        if not KEY_RE.match(slug):
            raise QuestionFormatError(
                f"bank: slug {slug!r} must be lowercase letters, digits and hyphens", "slug"
            )
        return cls(
            slug=slug,
            title=_text(data["title"], "title"),
            description=_opt_text(data, "description"),
        )


def validate_question(q: QuestionData) -> list[str]:
    """Authoring rules; returns human-readable problems (empty list = valid)."""
    problems: list[str] = []
    if not q.key:
        problems.append("key is empty")
    elif not KEY_RE.match(q.key):
        problems.append(f"key {q.key!r} must be a slug: lowercase letters, digits and hyphens")
    elif len(q.key) > MAX_KEY_LENGTH:
        problems.append(f"key is longer than {MAX_KEY_LENGTH} characters")
    if q.type not in QUESTION_TYPES:
        problems.append(f"unknown question type {q.type!r}")
    if not q.prompt.strip():
        problems.append("prompt is empty")

    unused = []
    if q.type not in CHOICE_TYPES and q.options:
        unused.append("options")
    if q.type != "truefalse" and q.answer is not None:
        unused.append("answer")
    if q.type != "match" and q.pairs:
        unused.append("pairs")
    if q.type != "order" and q.steps:
        unused.append("steps")
    for name in unused:
        problems.append(f"field '{name}' is not used by {q.type} questions")

    if q.type in CHOICE_TYPES:
        problems.extend(_choice_problems(q))
    elif q.type == "truefalse":
        if q.answer is None:
            problems.append("true/false question needs 'answer: true' or 'answer: false'")
    elif q.type == "match":
        problems.extend(_match_problems(q))
    elif q.type == "order":
        problems.extend(_order_problems(q))

    if isinstance(q.difficulty, bool) or not 1 <= q.difficulty <= 3:
        problems.append(f"difficulty must be 1, 2 or 3 (got {q.difficulty!r})")
    if q.keyword and _squash(q.keyword) not in _squash(q.prompt):
        problems.append(f"keyword {q.keyword!r} does not appear in the prompt")
    if q.status not in STATUSES:
        problems.append(f"status must be 'draft' or 'published' (got {q.status!r})")
    if any(not t.strip() for t in q.topics):
        problems.append("topics contain an empty entry")
    if q.lesson and not LESSON_RE.match(q.lesson):
        problems.append(f"lesson {q.lesson!r} must be a lesson slug, optionally with #anchor")
    if (
        q.source is not None
        and q.source.url
        and not q.source.url.startswith(("https://", "http://"))
    ):
        problems.append(f"source url {q.source.url!r} must start with https:// or http://")
    return problems


def _squash(text: str) -> str:
    """Collapse whitespace runs (a Markdown line break renders as a space)."""
    return " ".join(text.split())


def _choice_problems(q: QuestionData) -> list[str]:
    problems: list[str] = []
    label = "single choice" if q.type == "single" else "multiple response"
    if len(q.options) < 2:
        problems.append(f"{label} question needs at least two options (found {len(q.options)})")
    for i, opt in enumerate(q.options, start=1):
        if not opt.text.strip():
            problems.append(f"option {i} has empty text")
    texts = [o.text for o in q.options if o.text.strip()]
    dupes = sorted({t for t in texts if texts.count(t) > 1})
    for text in dupes:
        problems.append(f"option {text!r} appears more than once")
    correct = sum(1 for o in q.options if o.correct)
    if q.type == "single" and correct != 1:
        problems.append(f"single choice must have exactly one correct option (found {correct})")
    if q.type == "multiple" and correct < 2:
        problems.append(
            f"multiple response must have at least two correct options (found {correct})"
        )
    return problems


def _match_problems(q: QuestionData) -> list[str]:
    problems: list[str] = []
    if len(q.pairs) < 3:
        problems.append(f"matching question needs at least three pairs (found {len(q.pairs)})")
    seen: set[str] = set()
    for i, pair in enumerate(q.pairs, start=1):
        if not pair.left.strip():
            problems.append(f"pair {i} has an empty keyword (left side)")
        elif pair.left in seen:
            problems.append(f"keyword {pair.left!r} is used by more than one pair")
        seen.add(pair.left)
        if not pair.right.strip():
            problems.append(f"pair {i} has an empty answer (right side)")
    return problems


def _order_problems(q: QuestionData) -> list[str]:
    problems: list[str] = []
    if len(q.steps) < 3:
        problems.append(f"ordering question needs at least three steps (found {len(q.steps)})")
    for i, step in enumerate(q.steps, start=1):
        if not step.strip():
            problems.append(f"step {i} is empty")
    nonempty = [s for s in q.steps if s.strip()]
    if len(set(nonempty)) != len(nonempty):
        problems.append("steps must be distinct")
    return problems


def slugify(text: str, *, max_length: int = 60, fallback: str = "question") -> str:
    """A key-shaped slug from free text: ``"PKCS #11 vs KMS?"`` -> ``"pkcs-11-vs-kms"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        cut = slug[:max_length]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
    return slug or fallback


# --- from_dict helpers -------------------------------------------------------------


def _kind(value: object) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "nothing"
    return f"a {type(value).__name__}"


def _text(value: object, name: str, label: str | None = None, item: int | None = None) -> str:
    """Text field: strings (stripped), numbers coerced; anything else is an error.

    ``name`` is the top-level field (for line lookup), ``label`` what to call the
    value in the message (defaults to ``field 'name'``).
    """
    what = label or f"field '{name}'"
    if isinstance(value, bool):
        raise QuestionFormatError(
            f"{what} must be text, not true/false "
            "(quote it: YAML reads yes/no/on/off/true/false as booleans)",
            name,
            item,
        )
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise QuestionFormatError(f"{what} must be text, not {_kind(value)}", name, item)
    return value.strip()


def _opt_text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    return "" if value is None else _text(value, name)


def _list(data: Mapping[str, Any], name: str) -> Sequence[Any]:
    value = data.get(name)
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise QuestionFormatError(f"field '{name}' must be a list, not {_kind(value)}", name)
    return value


def _option(item: object, index: int) -> Option:
    if isinstance(item, Option):
        return item
    if not isinstance(item, Mapping):
        raise QuestionFormatError(
            f"option {index} must be a mapping like {{text: ..., correct: true}}, "
            f"not {_kind(item)}",
            "options",
            index,
        )
    correct = item.get("correct", False)
    if correct is None:
        correct = False
    if not isinstance(correct, bool):
        raise QuestionFormatError(
            f"option {index}: 'correct' must be true or false", "options", index
        )
    if item.get("text") is None:
        raise QuestionFormatError(f"option {index} has no 'text'", "options", index)
    unknown = sorted(set(item) - {"text", "correct", "feedback"})
    if unknown:
        raise QuestionFormatError(
            f"option {index} has unknown field(s): {', '.join(map(str, unknown))}",
            "options",
            index,
        )
    feedback = item.get("feedback")
    return Option(
        text=_text(item["text"], "options", f"option {index} text", index),
        correct=correct,
        feedback=""
        if feedback is None
        else _text(feedback, "options", f"option {index} feedback", index),
    )


def _pair(item: object, index: int) -> Pair:
    if isinstance(item, Pair):
        return item
    if not isinstance(item, Mapping):
        raise QuestionFormatError(
            f"pair {index} must be a mapping like {{left: ..., right: ...}}, not {_kind(item)}",
            "pairs",
            index,
        )
    for side in ("left", "right"):
        if item.get(side) is None:
            raise QuestionFormatError(f"pair {index} has no '{side}'", "pairs", index)
    unknown = sorted(set(item) - {"left", "right"})
    if unknown:
        raise QuestionFormatError(
            f"pair {index} has unknown field(s): {', '.join(map(str, unknown))}",
            "pairs",
            index,
        )
    return Pair(
        left=_text(item["left"], "pairs", f"pair {index} left", index),
        right=_text(item["right"], "pairs", f"pair {index} right", index),
    )


def _source(value: object) -> Source | None:
    if value is None:
        return None
    if isinstance(value, Source):
        return value
    if not isinstance(value, Mapping):
        raise QuestionFormatError(
            f"field 'source' must be a mapping {{title, url, verified}}, not {_kind(value)}",
            "source",
        )
    unknown = sorted(set(value) - {"title", "url", "verified"})
    if unknown:
        raise QuestionFormatError(
            f"source has unknown field(s): {', '.join(map(str, unknown))}", "source"
        )
    verified = value.get("verified")
    date: dt.date | None
    if verified is None or verified == "":
        date = None
    elif isinstance(verified, dt.datetime):
        date = verified.date()
    elif isinstance(verified, dt.date):
        date = verified
    elif isinstance(verified, str):
        try:
            date = dt.date.fromisoformat(verified.strip())
        except ValueError:
            raise QuestionFormatError(
                f"source.verified {verified!r} is not a date like 2026-11-28", "source"
            ) from None
    else:
        raise QuestionFormatError("source.verified must be a date like 2026-11-28", "source")
    title = value.get("title")
    url = value.get("url")
    source = Source(
        title="" if title is None else _text(title, "source", "source.title"),
        url="" if url is None else _text(url, "source", "source.url"),
        verified=date,
    )
    return None if source.is_empty() else source
