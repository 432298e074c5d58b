from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from .lessons import LESSONS_DIR, read_lessons
from .markdown import render_markdown
from .models import Lesson, LessonProgress
from .pages import lessons_changed

WORD = re.compile(r"[A-Za-z0-9][\w'’#-]*")


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@transaction.atomic
def lessons_sync(*, directory: Path = LESSONS_DIR, prune: bool = True) -> SyncReport:
    """Load lesson files into the database, rendering each once. Idempotent."""
    report = SyncReport()
    sources = read_lessons(directory)
    existing = {lesson.slug: lesson for lesson in Lesson.objects.all()}
    for source in sources:
        lesson = existing.get(source.slug)
        if lesson and lesson.content_hash == source.content_hash:
            report.unchanged.append(source.slug)
            continue
        rendered = render_markdown(source.body, with_toc=True)
        values = {
            "title": source.title,
            "order": source.order,
            "summary": source.summary,
            "topics": source.topics,
            "exam_domains": source.exam_domains,
            "sources": source.sources,
            "body_markdown": source.body,
            "body_html": rendered.html,
            "toc_html": rendered.toc_html,
            "headings": rendered.headings,
            "word_count": len(WORD.findall(source.body)),
            "source_path": source.path.name,
            "content_hash": source.content_hash,
        }
        Lesson.objects.update_or_create(slug=source.slug, defaults=values)
        (report.updated if lesson else report.created).append(source.slug)
    if prune:
        stale = set(existing) - {source.slug for source in sources}
        Lesson.objects.filter(slug__in=stale).delete()
        report.removed = sorted(stale)
    if report.created or report.updated or report.removed:
        lessons_changed()
        transaction.on_commit(lessons_changed)  # again, so no reader caches pre-commit rows
    return report


def lesson_mark_understood(*, user, lesson: Lesson, understood: bool = True) -> None:
    if understood:
        LessonProgress.objects.get_or_create(
            user=user, lesson=lesson, defaults={"understood_at": timezone.now()}
        )
    else:
        LessonProgress.objects.filter(user=user, lesson=lesson).delete()
