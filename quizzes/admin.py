from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    Bank,
    BankEditor,
    Card,
    Exam,
    ExamItem,
    KeywordDrill,
    Question,
    QuestionRevision,
    ReviewLog,
)


class BankEditorInline(admin.TabularInline):
    model = BankEditor
    extra = 0


@admin.register(Bank)
class BankAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "owner", "is_published", "is_default", "updated_at")
    list_filter = ("is_published", "is_default")
    search_fields = ("title", "slug")
    inlines = [BankEditorInline]


class RevisionInline(admin.TabularInline):
    model = QuestionRevision
    extra = 0
    fields = ("number", "author", "note", "created_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("key", "bank", "type", "status", "difficulty", "is_archived")
    list_filter = ("bank", "type", "status")
    search_fields = ("key",)
    inlines = [RevisionInline]


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    list_display = ("user", "question", "state", "due", "reps", "lapses", "leech", "suspended")
    list_filter = ("state", "leech", "suspended")
    raw_id_fields = ("user", "question")


@admin.register(ReviewLog)
class ReviewLogAdmin(admin.ModelAdmin):
    """Read-only: review logs are append-only."""

    list_display = ("user", "question", "source", "rating", "correct", "reviewed_at", "voided_at")
    list_filter = ("source", "correct")

    def has_add_permission(self, request: HttpRequest) -> Any:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> Any:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> Any:
        return False


class ExamItemInline(admin.TabularInline):
    model = ExamItem
    extra = 0
    fields = ("position", "question", "correct", "flagged", "answered_at")
    readonly_fields = fields


@admin.register(Exam)
class ExamAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "status", "started_at", "scaled_score", "passed")
    list_filter = ("kind", "status")
    inlines = [ExamItemInline]


@admin.register(KeywordDrill)
class KeywordDrillAdmin(admin.ModelAdmin):
    list_display = ("keyword", "answer")
    list_filter = ("answer",)
    search_fields = ("keyword",)
