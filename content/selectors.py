from __future__ import annotations

from .models import Lesson, LessonProgress


def understood_lesson_ids(*, user) -> set[int]:
    if not user.is_authenticated:
        return set()
    return set(LessonProgress.objects.filter(user=user).values_list("lesson_id", flat=True))


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
