"""A learner's sandbox: one emulated AWS account whose engine state lives in these tables.

The engine (``emulator/``) sees only the ``Storage`` protocol; ``storage_orm.OrmStorage`` maps
it onto ``SandboxObject`` (current state, one row per engine object) and ``SandboxEvent`` (the
append-only CloudTrail-like KMS log and the HSM audit log). Every engine call holds the
``SandboxAccount`` row lock for its whole transaction, so concurrent requests of one learner
run one after another and never interleave their reads and writes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

DEFAULT_REGION = "us-east-1"

file_name_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
    "Use 1–100 letters, digits, dots, dashes or underscores, starting with a letter or digit.",
)


class SandboxAccount(models.Model):
    """One learner's emulated AWS account (12-digit id, one region, its own clock)."""

    #: What an engine call reads of the account: its identity, clock and quotas.
    ENGINE_FIELDS = (
        "account_id",
        "region",
        "clock_offset_seconds",
        "max_kms_keys",
        "max_clusters",
        "max_hsms",
        "max_files",
    )

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sandbox_account"
    )
    account_id = models.CharField(max_length=12, unique=True)
    region = models.CharField(max_length=32, default=DEFAULT_REGION)
    clock_offset_seconds = models.BigIntegerField(
        default=0, help_text="How far this account's simulated clock runs ahead of real time."
    )
    # In the hundreds, as a learner's boto3 loop expects (AWS allows 100,000 per Region);
    # staff can change it per account in the admin.
    max_kms_keys = models.PositiveIntegerField(default=500)
    max_clusters = models.PositiveIntegerField(default=2)
    max_hsms = models.PositiveIntegerField(default=6)
    max_files = models.PositiveIntegerField(default=20)
    console_state = models.JSONField(
        default=dict, blank=True, help_text="CloudHSM CLI context (cluster and session ids)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    reset_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(account_id__regex=r"^[0-9]{12}$"),
                name="sandbox_account_id_is_12_digits",
            )
        ]

    def __str__(self) -> str:
        return f"Sandbox {self.account_id} of {self.user}"

    @property
    def clock_offset(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.clock_offset_seconds)

    def principal_arn(self, user_name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:user/{user_name}"

    @property
    def root_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:root"


class SandboxObject(models.Model):
    """One engine record (``kind`` like ``kms.key``), stored as the engine's JSON dict."""

    account = models.ForeignKey(
        SandboxAccount, on_delete=models.CASCADE, related_name="engine_objects"
    )
    kind = models.CharField(max_length=64)
    object_id = models.CharField(max_length=255)
    data = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "object_id"], name="one_sandbox_object_per_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.object_id}"


class SandboxEvent(models.Model):
    """An append-only audit event. ``log`` is ``kms`` (CloudTrail-like) or ``hsm``."""

    class Log(models.TextChoices):
        KMS = "kms", "KMS (CloudTrail)"
        HSM = "hsm", "CloudHSM audit log"

    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="events")
    log = models.CharField(max_length=16)
    operation = models.CharField(max_length=100, blank=True)
    result = models.CharField(max_length=100, blank=True)
    succeeded = models.BooleanField(default=True)
    principal = models.CharField(max_length=300, blank=True)
    event_time = models.CharField(max_length=40, blank=True, help_text="Simulated clock, ISO.")
    data = models.JSONField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["account", "log", "id"], name="sandbox_event_log_idx"),
            models.Index(fields=["account", "operation"], name="sandbox_event_op_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.log}:{self.operation} {self.result}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValidationError("Audit events are append-only.")
        super().save(*args, **kwargs)


class SandboxAccessKey(models.Model):
    """An access key pair for the sandbox KMS endpoint.

    The secret is needed to verify SigV4 signatures (HMAC), so it cannot be hashed: it is
    sealed with ``SANDBOX_MASTER_KEY`` (AES-GCM, the access key id as associated data).
    """

    class Status(models.TextChoices):
        ACTIVE = "Active", "Active"
        INACTIVE = "Inactive", "Inactive (revoked)"

    account = models.ForeignKey(
        SandboxAccount, on_delete=models.CASCADE, related_name="access_keys"
    )
    user_name = models.CharField(max_length=64, help_text="The sandbox IAM user it signs as.")
    access_key_id = models.CharField(max_length=20, unique=True)
    sealed_secret = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.access_key_id

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def principal_arn(self) -> str:
        if self.user_name == "root":
            return self.account.root_arn
        return self.account.principal_arn(self.user_name)


class SandboxFile(models.Model):
    """A file the learner uploaded (or a lab produced) for ``fileb://name`` and lab 2."""

    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=100, validators=[file_name_validator])
    content = models.BinaryField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="one_sandbox_file_per_name")
        ]

    def __str__(self) -> str:
        return self.name


class ConsoleEntry(models.Model):
    """One console command and its answer; passwords and key material are redacted."""

    account = models.ForeignKey(
        SandboxAccount, on_delete=models.CASCADE, related_name="console_entries"
    )
    command = models.TextField()
    output = models.TextField(blank=True)
    ok = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.command[:60]


class LabProgress(models.Model):
    """A learner's grading state for one guided lab (the slug names a lab in ``sandbox.labs``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lab_progress"
    )
    lab_slug = models.SlugField(max_length=64)
    started_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    passed_steps = models.JSONField(default=list)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "lab_slug"], name="one_progress_per_lab")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.lab_slug}"

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None
