"""Forms for answering (review and exams), review settings and bank choice, plus the
presentation of a question (shown order, per-option feedback, highlighted keyword).

Options, pairs and steps are shuffled per showing. Inputs carry the revision's own indexes
as values, so grading never depends on the order; the shown order travels in the form
(``shown``) only so feedback can be listed the way the learner saw it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from . import scheduling
from .grading import Grade, correct_answer, grade, match_choices
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
        cleaned = super().clean()
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
        self.fields["banks"].queryset = Bank.objects.filter(is_published=True)


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
        self.fields["chosen"].choices = KeywordDrill.Answer.choices


def id_list_parse(value: str, limit: int = 50) -> list[int]:
    ids = []
    for part in (value or "").split(",")[:limit]:
        if part.isdigit():
            ids.append(int(part))
    return ids


# --- showing a question ----------------------------------------------------------------

_TAG_RE = re.compile(r"(<[^>]*>)")


def highlight_keyword(rendered_html: str, keyword: str) -> SafeString:
    """Wrap each occurrence of ``keyword`` in the (sanitized) HTML's text in ``<mark>``.

    Only text between tags is touched, so attributes and markup stay intact.
    """
    if not keyword:
        return mark_safe(rendered_html)  # noqa: S308 - sanitized with nh3 when saved
    pattern = re.compile(re.escape(keyword), re.IGNORECASE)
    parts = _TAG_RE.split(rendered_html)
    for index, part in enumerate(parts):
        if index % 2 or not part:
            continue
        text = html.unescape(part)
        if not pattern.search(text):
            continue
        pieces, last = [], 0
        for match in pattern.finditer(text):
            pieces.append(html.escape(text[last : match.start()], quote=False))
            pieces.append(f"<mark>{html.escape(match.group(0), quote=False)}</mark>")
            last = match.end()
        pieces.append(html.escape(text[last:], quote=False))
        parts[index] = "".join(pieces)
    return mark_safe("".join(parts))  # noqa: S308 - text re-escaped above


def lesson_url(lesson: str) -> str:
    if not lesson:
        return ""
    slug, _, anchor = lesson.partition("#")
    url = reverse("lesson_detail", args=[slug])
    return f"{url}#{anchor}" if anchor else url


@dataclass
class ShownQuestion:
    """Everything a template needs to show a question, and after answering, its feedback."""

    type: str
    prompt: SafeString
    shown: list[int]
    options: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)
    select_count: int = 0
    answered: bool = False
    grade: Grade | None = None
    explanation: SafeString | None = None
    exam_vs_today: SafeString | None = None
    keyword: str = ""
    lesson_url: str = ""
    positions: list[int] = field(default_factory=list)
    steps_in_order: list[dict[str, Any]] = field(default_factory=list)

    @property
    def shown_text(self) -> str:
        return ",".join(str(i) for i in self.shown)

    @property
    def select_label(self) -> str:
        """ "Select TWO." as the exams word it."""
        words = {2: "TWO", 3: "THREE", 4: "FOUR", 5: "FIVE"}
        return f"Select {words.get(self.select_count, self.select_count)}."


def show_question(
    revision_data: Mapping[str, Any],
    rendered: Mapping[str, Any],
    shown: list[int],
    *,
    answer: Any = None,
    reveal: bool = False,
) -> ShownQuestion:
    """Build the view of a question in the ``shown`` order; ``reveal`` adds feedback."""
    data = revision_data
    qtype = data["type"]
    keyword = data.get("keyword") or ""
    result = grade(data, answer) if reveal else None
    prompt = (
        highlight_keyword(rendered.get("prompt", ""), keyword)
        if reveal
        else mark_safe(rendered.get("prompt", ""))  # noqa: S308 - sanitized with nh3 when saved
    )
    view = ShownQuestion(
        type=qtype,
        prompt=prompt,
        shown=list(shown),
        answered=reveal,
        grade=result,
        keyword=keyword,
    )
    if reveal:
        view.explanation = mark_safe(rendered.get("explanation", ""))  # noqa: S308
        if rendered.get("exam_vs_today"):
            view.exam_vs_today = mark_safe(rendered["exam_vs_today"])  # noqa: S308
        view.lesson_url = lesson_url(data.get("lesson") or "")
    if qtype in ("single", "multiple"):
        chosen = _chosen_options(qtype, answer)
        rendered_options = rendered.get("options") or []
        view.select_count = sum(1 for o in data.get("options") or [] if o.get("correct"))
        for number, index in enumerate(shown, 1):
            option = data["options"][index]
            html_option = rendered_options[index] if index < len(rendered_options) else {}
            view.options.append(
                {
                    "index": index,
                    "number": number,
                    "html": mark_safe(html_option.get("text", "")),  # noqa: S308
                    "feedback": mark_safe(html_option.get("feedback", "")),  # noqa: S308
                    "correct": bool(option.get("correct")),
                    "chosen": index in chosen,
                }
            )
    elif qtype == "truefalse":
        for number, (value, label) in enumerate(TRUE_FALSE, 1):
            view.options.append(
                {
                    "index": value,
                    "number": number,
                    "html": label,
                    "feedback": "",
                    "correct": (value == "true") == bool(data.get("answer")),
                    "chosen": answer is not None and (value == "true") == answer,
                }
            )
    elif qtype == "match":
        pairs = data.get("pairs") or []
        chosen = list(answer or []) + [None] * len(pairs)
        view.choices = match_choices(data)
        for index in shown:
            view.pairs.append(
                {
                    "index": index,
                    "left": pairs[index]["left"],
                    "right": pairs[index]["right"],
                    "chosen": chosen[index],
                    "ok": chosen[index] == pairs[index]["right"],
                }
            )
    elif qtype == "order":
        steps = rendered.get("steps") or [html.escape(step) for step in data.get("steps") or []]
        chosen = list(answer or []) + [None] * len(steps)
        view.positions = list(range(1, len(steps) + 1))
        for index in shown:
            view.steps.append(
                {
                    "index": index,
                    "html": mark_safe(steps[index]),  # noqa: S308 - sanitized when saved
                    "position": index + 1,
                    "chosen": chosen[index],
                    "ok": chosen[index] == index + 1,
                }
            )
        if reveal:
            view.steps_in_order = sorted(view.steps, key=lambda step: step["position"])
    return view


def _chosen_options(qtype: str, answer: Any) -> set[int]:
    if qtype == "single":
        return {answer} if isinstance(answer, int) else set()
    return set(answer or [])
