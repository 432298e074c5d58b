from __future__ import annotations

import datetime as dt
import zoneinfo

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User

from .models import Profile

TIME_ZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=False, help_text="Optional; used only for password resets.")

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class ProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES)

    class Meta:
        model = Profile
        fields = ("time_zone", "target_exam", "exam_date")
        widgets = {"exam_date": forms.DateInput(attrs={"type": "date"})}
        help_texts = {
            "exam_date": "Reviews are scheduled so that intervals never run past this date.",
        }


class ExamPlanForm(forms.ModelForm):
    """The first step after sign-up: which exam, when, and the learner's time zone."""

    time_zone = forms.ChoiceField(
        choices=TIME_ZONE_CHOICES,
        help_text="Days start at midnight here: it decides what is due today.",
    )

    class Meta:
        model = Profile
        fields = ("target_exam", "exam_date", "time_zone")
        widgets = {"exam_date": forms.DateInput(attrs={"type": "date"})}
        labels = {"target_exam": "Exam", "exam_date": "Exam date"}
        help_texts = {
            "exam_date": "Optional. Reviews are planned so that you remember on the day.",
        }

    def clean_exam_date(self) -> dt.date | None:
        exam_date = self.cleaned_data.get("exam_date")
        if exam_date and exam_date < dt.date.today():
            raise forms.ValidationError("The exam date is in the past: choose a later day.")
        if exam_date and exam_date > dt.date.today() + dt.timedelta(days=3 * 365):
            raise forms.ValidationError("Choose a date within the next three years.")
        return exam_date
