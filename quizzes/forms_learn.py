"""Forms for answering (review and exams), review settings and bank choice (how a question
shows on a page is :mod:`.presenters`).

Options, pairs and steps are shuffled per showing. Inputs carry the revision's own indexes
as values, so grading never depends on the order; the shown order travels in the form
(``shown``) only so feedback can be listed the way the learner saw it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import QuerySet

from accounts.form_fields import offer_choices, offer_queryset

from . import scheduling
from .grading import correct_answer, match_choices
from .models import Bank, Exam

SUBMISSION_ID_RE = r"^[A-Za-z0-9_-]{8,64}$"
TRUE_FALSE = [("true", "True"), ("false", "False")]


def shown_order_parse(value: str, size: int) -> list[int] | None:
    """``"2,0,1"`` → ``[2, 0, 1]`` when it is a permutation of ``range(size)``."""
    try:
        order = [int(part) for part in value.split(",")] if value else []
    except ValueError:
        return None
    return order if sorted(order) == list(range(size)) else None


def display_size(data: Mapping[str, Any]) -> int:
    return {
        "single": len(data.get("options") or []),
        "multiple": len(data.get("options") or []),
        "match": len(data.get("pairs") or []),
        "order": len(data.get("steps") or []),
    }.get(data["type"], 0)


class ReviewMetaForm(forms.Form):
    """The hidden fields around a review answer."""

    revision = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    version = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    submission_id = forms.RegexField(regex=SUBMISSION_ID_RE, widget=forms.HiddenInput)
    shown = forms.CharField(required=False, widget=forms.HiddenInput)
    started = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    guessed = forms.BooleanField(required=False, label="I guessed")


class AnswerForm(forms.Form):
    """The answer to one question, whatever its type.

    ``required=True`` (review) insists on a complete answer; ``required=False`` (exam
    autosave) accepts partial or empty ones. ``cleaned_data["answer"]`` holds the answer in
    the shape :mod:`quizzes.grading` expects.
    """

    def __init__(
        self,
        *args: Any,
        question_data: Mapping[str, Any],
        required: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.question_data = question_data
        self.required = required
        self.answer: Any = None
        qtype = question_data["type"]
        options = question_data.get("options") or []
        if qtype == "single":
            self.fields["choice"] = forms.TypedChoiceField(
                choices=[(str(i), str(i)) for i in range(len(options))],
                coerce=int,
                required=False,
                widget=forms.RadioSelect,
            )
        elif qtype == "multiple":
            self.fields["choices"] = forms.TypedMultipleChoiceField(
                choices=[(str(i), str(i)) for i in range(len(options))],
                coerce=int,
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )
        elif qtype == "truefalse":
            self.fields["choice"] = forms.ChoiceField(
                choices=TRUE_FALSE, required=False, widget=forms.RadioSelect
            )
        elif qtype == "match":
            rights = [("", "—")] + [(right, right) for right in match_choices(question_data)]
            for i, _pair in enumerate(question_data.get("pairs") or []):
                self.fields[f"pair_{i}"] = forms.ChoiceField(choices=rights, required=False)
        elif qtype == "order":
            steps = question_data.get("steps") or []
            positions = [("", "—")] + [(str(n), str(n)) for n in range(1, len(steps) + 1)]
            for i in range(len(steps)):
                self.fields[f"step_{i}"] = forms.TypedChoiceField(
                    choices=positions, coerce=int, required=False, empty_value=None
                )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        self.answer, problem = self._answer(cleaned)
        cleaned["answer"] = self.answer
        if problem and self.required:
            raise ValidationError(problem)
        return cleaned

    def _answer(self, cleaned: Mapping[str, Any]) -> tuple[Any, str]:
        """The answer in grading shape, and what is missing for a complete one."""
        data = self.question_data
        qtype = data["type"]
        if qtype == "single":
            choice = cleaned.get("choice")
            answer = None if choice in (None, "") else choice
            return answer, "Choose an answer." if answer is None else ""
        if qtype == "multiple":
            answer = sorted(cleaned.get("choices") or [])
            count = len(correct_answer(data))
            return answer, "" if answer else f"Choose {count} answers."
        if qtype == "truefalse":
            value = cleaned.get("choice")
            answer = None if not value else value == "true"
            return answer, "Choose True or False." if answer is None else ""
        if qtype == "match":
            pairs = data.get("pairs") or []
            answer = [cleaned.get(f"pair_{i}") or None for i in range(len(pairs))]
            return answer, "Match every keyword." if None in answer else ""
        steps = data.get("steps") or []
        answer = [cleaned.get(f"step_{i}") for i in range(len(steps))]
        if None in answer:
            return answer, "Give every step a position."
        if len(set(answer)) != len(answer):
            return answer, "Use each position once."
        return answer, ""


def answer_as_post(data: Mapping[str, Any], answer: Any) -> dict[str, Any]:
    """The form data that produces ``answer`` (to pre-fill a saved exam answer)."""
    qtype = data["type"]
    if answer is None:
        return {}
    if qtype == "single":
        return {"choice": str(answer)}
    if qtype == "multiple":
        return {"choices": [str(i) for i in answer]}
    if qtype == "truefalse":
        return {"choice": "true" if answer else "false"}
    if qtype == "match":
        return {f"pair_{i}": value or "" for i, value in enumerate(answer)}
    return {f"step_{i}": "" if value is None else str(value) for i, value in enumerate(answer)}


class ReviewSettingsForm(forms.Form):
    desired_retention = forms.FloatField(
        label="Desired retention",
        help_text="The share of cards you want to recall when they come due (0.70–0.97). "
        "Higher means more reviews.",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.70", "max": "0.97"}),
        validators=[
            MinValueValidator(0.70, "Choose a retention of at least 0.70."),
            MaxValueValidator(0.97, "Choose a retention of at most 0.97."),
        ],
    )
    new_cards_per_day = forms.IntegerField(label="New cards per day", min_value=0, max_value=500)
    learning_steps = forms.CharField(
        label="Learning steps",
        required=False,
        help_text="Delays before a new card graduates, e.g. “1m 10m”. Units: m, h, d.",
    )
    relearning_steps = forms.CharField(
        label="Relearning steps",
        required=False,
        help_text="Delays after a lapse, e.g. “10m”.",
    )

    def clean_learning_steps(self) -> list[int]:
        return self._steps("learning_steps")

    def clean_relearning_steps(self) -> list[int]:
        return self._steps("relearning_steps")

    def _steps(self, name: str) -> list[int]:
        try:
            return scheduling.parse_steps(self.cleaned_data.get(name) or "")
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


def steps_text(minutes: Sequence[int]) -> str:
    parts = []
    for value in minutes:
        if value % 1440 == 0:
            parts.append(f"{value // 1440}d")
        elif value % 60 == 0:
            parts.append(f"{value // 60}h")
        else:
            parts.append(f"{value}m")
    return " ".join(parts)


class BankChoiceForm(forms.Form):
    banks = forms.ModelMultipleChoiceField(
        queryset=Bank.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Banks to study",
        help_text="Choose none to study the default banks.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_queryset(self, "banks", self.offered())

    @staticmethod
    def offered() -> QuerySet[Bank]:
        return Bank.objects.filter(is_published=True)


class ExamStartForm(forms.Form):
    kind = forms.ChoiceField(choices=Exam.Kind.choices, label="Exam", widget=forms.RadioSelect)


class ContrastDrillForm(forms.Form):
    submission_id = forms.RegexField(regex=SUBMISSION_ID_RE, widget=forms.HiddenInput)


class DrillAnswerForm(forms.Form):
    drill = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    chosen = forms.ChoiceField(choices=[])
    remaining = forms.CharField(required=False, widget=forms.HiddenInput)
    right = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)
    total = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .models import KeywordDrill

        super().__init__(*args, **kwargs)
        offer_choices(self, "chosen", KeywordDrill.Answer.choices)


def id_list_parse(value: str, limit: int = 50) -> list[int]:
    ids = []
    for part in (value or "").split(",")[:limit]:
        if part.isdigit():
            ids.append(int(part))
    return ids
