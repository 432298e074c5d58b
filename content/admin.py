from django.contrib import admin

from .models import Lesson, LessonProgress


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "order", "word_count", "updated_at")
    readonly_fields = ("body_html", "toc_html", "headings", "content_hash")


@admin.register(LessonProgress)
class LessonProgressAdmin(admin.ModelAdmin):
    list_display = ("user", "lesson", "understood_at")
