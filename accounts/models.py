from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.exceptions import ValidationError
from django.db import models

INSTRUCTOR_GROUP = "Instructors"


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone.")


class Profile(models.Model):
    class TargetExam(models.TextChoices):
        SCS_C03 = "SCS-C03", "AWS Certified Security – Specialty (SCS-C03)"
        SAP_C02 = "SAP-C02", "AWS Certified Solutions Architect – Professional (SAP-C02)"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    target_exam = models.CharField(
        max_length=8, choices=TargetExam.choices, default=TargetExam.SCS_C03
    )
    exam_date = models.DateField(null=True, blank=True)

    class SetupStep(models.TextChoices):
        # The first-run path after sign-up; accounts made before it existed, by staff or by
        # load_demo are "done".
        EXAM = "exam", "Your exam"
        BANKS = "banks", "What to study"
        CARDS = "cards", "Your first five cards"
        LAB = "lab", "Your first lab"
        DONE = "done", "Done"

    setup_step = models.CharField(max_length=8, choices=SetupStep.choices, default=SetupStep.DONE)

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class Session(AbstractBaseSession):
    """Django's database session, with the signed-in user beside the data: one statement reads
    a request's session and its user (``accounts.sql.session_with_user``), and deleting a user
    deletes their sessions."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )


def is_instructor(user: User) -> bool:
    if not user.is_authenticated:
        return False
    cached = getattr(user, "_is_instructor", None)
    if cached is None:
        cached = user.is_superuser or user.groups.filter(name=INSTRUCTOR_GROUP).exists()
        user._is_instructor = cached  # type: ignore[attr-defined]  # a per-request memo on the user
    return bool(cached)
