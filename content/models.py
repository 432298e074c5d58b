from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse


class Lesson(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    order = models.PositiveIntegerField(default=0)
    summary = models.TextField(blank=True)
    topics = models.JSONField(default=list)
    exam_domains = models.JSONField(default=list)
    sources = models.JSONField(default=list)
    body_markdown = models.TextField()
    body_html = models.TextField()
    toc_html = models.TextField(blank=True)
    headings = models.JSONField(default=list)
    word_count = models.PositiveIntegerField(default=0)
    source_path = models.CharField(max_length=300, blank=True)
    content_hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "slug"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("lesson_detail", args=[self.slug])

    @property
    def reading_minutes(self) -> int:
        return max(1, round(self.word_count / 200))


class LessonProgress(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress"
    )
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="progress")
    understood_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "lesson"], name="one_progress_per_lesson")
        ]

    def __str__(self) -> str:
        return f"{self.user} understood {self.lesson}"
