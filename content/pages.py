"""Lesson pages assembled once and kept in the cache (Redis in production).

Lesson HTML only changes when ``sync_lessons`` runs, so the per-request work is one cache read
plus the learner's own progress. ``sync_lessons`` bumps the version key, which retires every
cached page at once on all app servers that share the cache.
"""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.template.loader import render_to_string
from django.urls import reverse

from .models import Lesson
from .selectors import lesson_neighbours

VERSION_KEY = "lessons:version"
VERSION_TTL = 60  # seconds: bounds staleness when each server has its own local-memory cache
PAGE_TTL = 24 * 3600


def lessons_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex
        cache.set(VERSION_KEY, version, VERSION_TTL)
    return version


def lessons_changed() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, VERSION_TTL)


def lesson_page(slug: str) -> dict[str, str] | None:
    """The cached, rendered parts of a lesson page, or None when there is no such lesson."""
    key = f"lessons:{lessons_version()}:page:{slug}"
    page = cache.get(key)
    if page is None:
        lesson = Lesson.objects.filter(slug=slug).first()
        if lesson is None:
            return None
        previous, following = lesson_neighbours(lesson)
        context = {"lesson": lesson, "previous": previous, "next": following}
        page = {
            "slug": lesson.slug,
            "title": lesson.title,
            "pk": str(lesson.pk),
            "understood_url": reverse("lesson_understood", args=[lesson.slug]),
            "toc_html": lesson.toc_html,
            "article_html": render_to_string("content/_lesson_article.html", context),
            "pager_html": render_to_string("content/_lesson_pager.html", context),
        }
        cache.set(key, page, PAGE_TTL)
    return page


def lesson_summaries() -> list[dict[str, object]]:
    """Every lesson's list entry (title, URL, summary, reading time), cached like the pages."""
    key = f"lessons:{lessons_version()}:list"
    summaries = cache.get(key)
    if summaries is None:
        summaries = [
            {
                "pk": lesson.pk,
                "title": lesson.title,
                "url": lesson.get_absolute_url(),
                "summary": lesson.summary,
                "minutes": lesson.reading_minutes,
            }
            for lesson in Lesson.objects.only("slug", "title", "order", "summary", "word_count")
        ]
        cache.set(key, summaries, PAGE_TTL)
    return summaries
