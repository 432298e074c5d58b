"""Lesson sources: Markdown files with YAML front matter in ``content/lessons/``."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

LESSONS_DIR = Path(__file__).resolve().parent / "lessons"
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n(.*)\Z", re.DOTALL)
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class LessonSourceError(Exception):
    """A lesson file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class LessonSource:
    path: Path
    slug: str
    title: str
    order: int
    summary: str
    topics: list[str]
    exam_domains: list[str]
    sources: list[dict[str, str]]
    body: str
    content_hash: str


def _require(meta: dict[str, Any], field: str, kind: type, where: str) -> Any:
    if field not in meta or meta[field] in (None, ""):
        raise LessonSourceError(f"{where}: front matter field '{field}' is missing")
    value = meta[field]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise LessonSourceError(
            f"{where}: front matter field '{field}' must be {kind.__name__}, "
            f"got {type(value).__name__}"
        )
    return value


def _string_list(meta: dict[str, Any], field: str, where: str) -> list[str]:
    value = _require(meta, field, list, where)
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise LessonSourceError(f"{where}: front matter field '{field}' must list strings")
    return value


def _sources(meta: dict[str, Any], where: str) -> list[dict[str, str]]:
    result = []
    for index, item in enumerate(_require(meta, "sources", list, where)):
        label = f"sources[{index}]"
        if not isinstance(item, dict) or not item.get("title"):
            raise LessonSourceError(f"{where}: front matter field '{label}.title' is missing")
        verified = item.get("verified")
        if isinstance(verified, str):
            try:
                verified = dt.date.fromisoformat(verified)
            except ValueError:
                verified = None
        if not isinstance(verified, dt.date):
            raise LessonSourceError(
                f"{where}: front matter field '{label}.verified' must be a date (YYYY-MM-DD)"
            )
        result.append(
            {
                "title": str(item["title"]),
                "url": str(item.get("url", "")),
                "verified": str(verified),
            }
        )
    return result


def parse_lesson(path: Path) -> LessonSource:
    where = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise LessonSourceError(
            f"{where}: not UTF-8 ({error.reason} at byte {error.start})"
        ) from None
    match = FRONT_MATTER.match(text)
    if not match:
        raise LessonSourceError(f"{where}: no front matter (the file must start with '---')")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        raise LessonSourceError(f"{where}: front matter is not valid YAML: {error}") from None
    if not isinstance(meta, dict):
        raise LessonSourceError(f"{where}: front matter must be a mapping of fields")
    slug = _require(meta, "slug", str, where)
    if not SLUG.match(slug):
        raise LessonSourceError(f"{where}: front matter field 'slug' must be lowercase-with-dashes")
    body = match.group(2)
    if not body.strip():
        raise LessonSourceError(f"{where}: the lesson body is empty")
    return LessonSource(
        path=path,
        slug=slug,
        title=_require(meta, "title", str, where),
        order=_require(meta, "order", int, where),
        summary=_require(meta, "summary", str, where),
        topics=_string_list(meta, "topics", where),
        exam_domains=_string_list(meta, "exam_domains", where),
        sources=_sources(meta, where),
        body=body,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
    )


def read_lessons(directory: Path = LESSONS_DIR) -> list[LessonSource]:
    """Parse every ``*.md`` file; raise on the first bad file, or on duplicate slugs."""
    sources = [parse_lesson(path) for path in sorted(directory.glob("*.md"))]
    seen: dict[str, Path] = {}
    for source in sources:
        if source.slug in seen:
            raise LessonSourceError(
                f"{source.path.name}: front matter field 'slug' duplicates {seen[source.slug].name}"
            )
        seen[source.slug] = source.path
    return sources
