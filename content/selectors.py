from __future__ import annotations

from .models import Lesson, LessonProgress


def lessons_with_progress(*, user) -> list[Lesson]:
    lessons = list(Lesson.objects.only("slug", "title", "order", "summary", "topics", "word_count"))
    done = set()
    if user.is_authenticated:
        done = set(LessonProgress.objects.filter(user=user).values_list("lesson_id", flat=True))
    for lesson in lessons:
        lesson.understood = lesson.pk in done
    return lessons


def lesson_neighbours(lesson: Lesson) -> tuple[Lesson | None, Lesson | None]:
    ordered = list(Lesson.objects.only("slug", "title", "order"))
    index = next(i for i, item in enumerate(ordered) if item.pk == lesson.pk)
    previous = ordered[index - 1] if index > 0 else None
    following = ordered[index + 1] if index + 1 < len(ordered) else None
    return previous, following


def is_understood(*, user, lesson_id: int) -> bool:
    return (
        user.is_authenticated
        and LessonProgress.objects.filter(user=user, lesson_id=lesson_id).exists()
    )
