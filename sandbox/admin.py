from django.contrib import admin

from .models import LabProgress, SandboxAccount


@admin.register(SandboxAccount)
class SandboxAccountAdmin(admin.ModelAdmin):
    """Staff adjust quotas here; engine state and secrets stay out of the admin."""

    list_display = ["account_id", "user", "region", "max_kms_keys", "max_clusters", "max_hsms"]
    search_fields = ["account_id", "user__username"]
    fields = ["user", *SandboxAccount.ENGINE_FIELDS, "created_at", "reset_at"]
    readonly_fields = ["user", "account_id", "region", "created_at", "reset_at"]


@admin.register(LabProgress)
class LabProgressAdmin(admin.ModelAdmin):
    list_display = ["user", "lab_slug", "completed_at", "checked_at"]
    list_filter = ["lab_slug"]
    search_fields = ["user__username"]
    readonly_fields = [
        "user",
        "lab_slug",
        "started_at",
        "checked_at",
        "passed_steps",
        "completed_at",
    ]
