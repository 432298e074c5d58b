"""Forms for authoring: banks, co-editors, the question editor (a form plus one formset of
option / pair / step rows, chosen by question type); the import forms are
:mod:`.forms_import`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.forms import BaseFormSet, formset_factory

from accounts.models import is_instructor

from .formats import Option, Pair, QuestionData, Source, validate_question
from .formats.questions import KEY_RE, LESSON_RE, MAX_KEY_LENGTH
from .models import QUESTION_TYPES, Bank, Question

MAX_ROWS = 20

#: Which kind of rows each question type edits (true/false has a single answer instead).
ROW_KIND = {
    "single": "options",
    "multiple": "options",
    "truefalse": "",
    "match": "pairs",
    "order": "steps",
}
DEFAULT_ROWS = {"options": 4, "pairs": 3, "steps": 3}
TYPE_LABELS = dict(QUESTION_TYPES)


class BankForm(forms.ModelForm):  # type: ignore[type-arg]  # generic only in the stubs
    class Meta:
        model = Bank
        fields = ["title", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"description": "Shown to learners when they choose banks."}


class EditorInviteForm(forms.Form):
    username = forms.CharField(
        max_length=150, help_text="Co-editors must be instructors. They can edit every question."
    )

    def __init__(self, *args: Any, bank: Bank, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bank = bank

    def clean_username(self) -> Any:
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise ValidationError(f"There is no user called “{username}”.")
        if not is_instructor(user):
            raise ValidationError(f"{username} is not an instructor, so cannot author banks.")
        if user.pk == self.bank.owner_id:
            raise ValidationError(f"{username} owns this bank already.")
        if self.bank.editors.filter(pk=user.pk).exists():
            raise ValidationError(f"{username} is already a co-editor.")
        return user


# --- the question editor -------------------------------------------------------------


class HttpURLField(forms.URLField):
    """Web links only (no ftp:, and never javascript:)."""

    default_validators = [URLValidator(schemes=["http", "https"])]


class QuestionForm(forms.Form):
    key = forms.CharField(
        max_length=MAX_KEY_LENGTH,
        required=False,
        help_text="Stable identifier in the bank, e.g. kms-vs-cloudhsm-fips. "
        "Left empty, it is made from the prompt.",
    )
    type = forms.ChoiceField(choices=QUESTION_TYPES)
    prompt = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Markdown. Rendered and sanitized exactly like lessons.",
        error_messages={"required": "Write the question prompt."},
    )
    answer = forms.TypedChoiceField(
        label="The statement is",
        choices=[("true", "True"), ("false", "False")],
        coerce=lambda value: value == "true",
        widget=forms.RadioSelect,
        required=False,
        empty_value=None,
    )
    explanation = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="Markdown, shown after the learner answers.",
    )
    exam_vs_today = forms.CharField(
        label="Exam vs AWS today",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Markdown note when exam banks and current AWS behaviour differ.",
    )
    topics = forms.CharField(
        label="Tags (topics)",
        required=False,
        help_text="Comma-separated, e.g. kms, fips, custom-key-stores.",
    )
    difficulty = forms.TypedChoiceField(
        choices=[(1, "1: recall"), (2, "2: apply"), (3, "3: analyse")], coerce=int, initial=2
    )
    keyword = forms.CharField(
        required=False, help_text="The word in the prompt that decides the answer (optional)."
    )
    lesson = forms.CharField(required=False, help_text="Lesson slug, optionally with #anchor.")
    category = forms.CharField(required=False, max_length=200)
    source_title = forms.CharField(label="Source", required=False, max_length=300)
    source_url = HttpURLField(label="Source URL", required=False, assume_scheme="https")
    source_verified = forms.DateField(
        label="Last verified",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    status = forms.ChoiceField(
        choices=Question.Status.choices,
        initial=Question.Status.DRAFT,
        help_text="Only published questions (in published banks) reach learners.",
    )
    note = forms.CharField(
        label="Revision note",
        required=False,
        max_length=200,
        help_text="What changed and why (kept in the history).",
    )

    def __init__(self, *args: Any, bank: Bank, question: Question | None = None, **kwargs: Any):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.bank = bank
        self.question = question
        if question is not None:
            self.initial.setdefault("key", question.key)
            self.fields["key"].disabled = True
            self.fields["key"].help_text = "The key cannot change: exports and imports use it."

    def clean_key(self) -> str:
        if self.question is not None:
            return self.question.key
        key = str(self.cleaned_data["key"]).strip()
        if not key:
            return ""
        if not KEY_RE.match(key):
            raise ValidationError("Use lowercase letters, digits and hyphens, e.g. kms-fips-level.")
        if self.bank.questions.filter(key=key).exists():
            raise ValidationError("Another question in this bank has this key.")
        return key

    def clean_topics(self) -> tuple[str, ...]:
        raw = str(self.cleaned_data["topics"])
        topics = [t.strip() for t in raw.split(",")]
        return tuple(dict.fromkeys(t for t in topics if t))

    def clean_lesson(self) -> str:
        lesson = str(self.cleaned_data["lesson"]).strip()
        if lesson and not LESSON_RE.match(lesson):
            raise ValidationError("Use a lesson slug such as cloudhsm-vs-kms or kms-basics#grants.")
        return lesson

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("type") == "truefalse" and cleaned.get("answer") is None:
            self.add_error("answer", "Choose whether the statement is true or false.")
        keyword = (cleaned.get("keyword") or "").strip()
        prompt = cleaned.get("prompt") or ""
        if keyword and prompt and keyword not in prompt:
            self.add_error("keyword", f"“{keyword}” does not appear in the prompt.")
        return cleaned

    def unique_key(self, prompt: str) -> str:
        """A key for a new question made from its prompt, unique in the bank."""
        from .formats import slugify

        base = slugify(prompt)
        key, n = base, 2
        while self.bank.questions.filter(key=key).exists():
            key = f"{base[:55]}-{n}"
            n += 1
        return key


class OptionForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "This option is empty: write it or remove the row."},
    )
    correct = forms.BooleanField(required=False)
    feedback = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 1}),
        required=False,
        help_text="Why this option is right or wrong (optional).",
    )


class PairForm(forms.Form):
    left = forms.CharField(
        label="Keyword",
        max_length=300,
        error_messages={"required": "This keyword is empty: write it or remove the row."},
    )
    right = forms.CharField(
        label="Matches",
        max_length=300,
        error_messages={"required": "This answer is empty: write it or remove the row."},
    )


class StepForm(forms.Form):
    text = forms.CharField(
        label="Step",
        widget=forms.Textarea(attrs={"rows": 1}),
        error_messages={"required": "This step is empty: write it or remove the row."},
    )


def _filled(formset: BaseFormSet[Any]) -> list[forms.Form]:
    return [form for form in formset.forms if hasattr(form, "cleaned_data")]


class RowFormSet(BaseFormSet):  # type: ignore[type-arg]  # generic only in the stubs
    """The option, pair or step rows of the question editor, for one question type."""

    def __init__(self, *args: Any, question_type: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.question_type = question_type


class OptionFormSet(RowFormSet):
    def clean(self) -> None:
        forms_ = _filled(self)
        if len(self.forms) < 2:
            raise ValidationError("Add at least two options.")
        seen: dict[str, int] = {}
        for number, form in enumerate(forms_, start=1):
            text = (form.cleaned_data.get("text") or "").strip()
            if text in seen:
                form.add_error("text", f"Same text as option {seen[text]}.")
            elif text:
                seen[text] = number
        correct = sum(1 for form in forms_ if form.cleaned_data.get("correct"))
        if self.question_type == "single" and correct != 1:
            raise ValidationError(
                f"A single-choice question has exactly one correct option ({correct} marked)."
            )
        if self.question_type == "multiple" and correct < 2:
            raise ValidationError(
                "A multiple-response question has at least two correct options "
                f"({correct} marked). With one, make it single choice."
            )


class PairFormSet(RowFormSet):
    def clean(self) -> None:
        if len(self.forms) < 3:
            raise ValidationError("A matching question needs at least three pairs.")
        seen: dict[str, int] = {}
        for number, form in enumerate(_filled(self), start=1):
            left = (form.cleaned_data.get("left") or "").strip()
            if left in seen:
                form.add_error(
                    "left",
                    f"Keyword “{left}” is already used in pair {seen[left]}: keywords "
                    "must be unique.",
                )
            elif left:
                seen[left] = number


class StepFormSet(RowFormSet):
    def clean(self) -> None:
        if len(self.forms) < 3:
            raise ValidationError("An ordering question needs at least three steps.")
        seen: dict[str, int] = {}
        for number, form in enumerate(_filled(self), start=1):
            text = (form.cleaned_data.get("text") or "").strip()
            if text in seen:
                form.add_error("text", f"Same as step {seen[text]}: steps must be distinct.")
            elif text:
                seen[text] = number


def _formset(form: type[forms.Form], base: type[RowFormSet]) -> type[RowFormSet]:
    made = formset_factory(
        form,
        formset=base,
        extra=0,
        max_num=MAX_ROWS,
        validate_max=True,
        absolute_max=MAX_ROWS * 2,
    )
    return cast(type[RowFormSet], made)  # formset_factory subclasses ``base``


ROW_FORMSETS: dict[str, type[RowFormSet]] = {
    "options": _formset(OptionForm, OptionFormSet),
    "pairs": _formset(PairForm, PairFormSet),
    "steps": _formset(StepForm, StepFormSet),
}
ROW_FIELDS = {
    "options": ("text", "correct", "feedback"),
    "pairs": ("left", "right"),
    "steps": ("text",),
}
MAIN_FIELDS = tuple(QuestionForm.base_fields)


@dataclass
class QuestionEditor:
    """The editor's form and its rows (``rows`` is None for true/false)."""

    form: QuestionForm
    rows: BaseFormSet[Any] | None
    kind: str
    question_type: str

    @property
    def type_label(self) -> str:
        return TYPE_LABELS.get(self.question_type, self.question_type)

    @property
    def row_label(self) -> str:
        return {"options": "option", "pairs": "pair", "steps": "step"}.get(self.kind, "row")

    @property
    def can_add_row(self) -> bool:
        return self.rows is not None and self.rows.total_form_count() < MAX_ROWS

    def is_valid(self) -> bool:
        form_ok = self.form.is_valid()
        rows_ok = self.rows.is_valid() if self.rows is not None else True
        if not (form_ok and rows_ok):
            return False
        # The shared authoring rules catch anything the field checks above do not.
        for problem in validate_question(self.question_data()):
            self.form.add_error(None, problem[:1].upper() + problem[1:] + ".")
        return not self.form.errors

    def question_data(self) -> QuestionData:
        """The cleaned editor as format data (call after ``is_valid``)."""
        data = self.form.cleaned_data
        qtype = data["type"]
        options: tuple[Option, ...] = ()
        pairs: tuple[Pair, ...] = ()
        steps: tuple[str, ...] = ()
        rows = [row.cleaned_data for row in self.rows.forms] if self.rows is not None else []
        if self.kind == "options":
            options = tuple(
                Option(
                    text=row["text"].strip(),
                    correct=bool(row.get("correct")),
                    feedback=(row.get("feedback") or "").strip(),
                )
                for row in rows
            )
        elif self.kind == "pairs":
            pairs = tuple(Pair(left=r["left"].strip(), right=r["right"].strip()) for r in rows)
        elif self.kind == "steps":
            steps = tuple(row["text"].strip() for row in rows)
        source = Source(
            title=data.get("source_title", "").strip(),
            url=data.get("source_url", "").strip(),
            verified=data.get("source_verified"),
        )
        return QuestionData(
            key=data["key"] or self.form.unique_key(data["prompt"]),
            type=qtype,
            prompt=data["prompt"].strip(),
            options=options,
            answer=data.get("answer") if qtype == "truefalse" else None,
            pairs=pairs,
            steps=steps,
            explanation=data.get("explanation", "").strip(),
            keyword=data.get("keyword", "").strip(),
            topics=data.get("topics", ()),
            difficulty=data["difficulty"],
            lesson=data.get("lesson", ""),
            source=None if source.is_empty() else source,
            exam_vs_today=data.get("exam_vs_today", "").strip(),
            category=data.get("category", "").strip(),
            status=data["status"],
        )


def _valid_type(value: Any, default: str = "single") -> str:
    return value if value in ROW_KIND else default


def _rows_formset(kind: str, qtype: str, **kwargs: Any) -> BaseFormSet[Any] | None:
    if not kind:
        return None
    return ROW_FORMSETS[kind](
        prefix=kind,
        question_type=qtype,
        form_kwargs={"empty_permitted": False},  # a blank row is an error, never skipped
        **kwargs,
    )


def editor_bound(
    *, bank: Bank, question: Question | None, data: Mapping[str, Any]
) -> QuestionEditor:
    """The editor on a submitted form, for validation and saving."""
    qtype = _valid_type(data.get("type"), question.type if question else "single")
    kind = ROW_KIND[qtype]
    form = QuestionForm(data, bank=bank, question=question)
    return QuestionEditor(
        form=form, rows=_rows_formset(kind, qtype, data=data), kind=kind, question_type=qtype
    )


def _editor_unbound(
    *,
    bank: Bank,
    question: Question | None,
    qtype: str,
    initial: dict[str, Any],
    rows: list[dict[str, Any]],
) -> QuestionEditor:
    kind = ROW_KIND[qtype]
    initial = {**initial, "type": qtype}
    form = QuestionForm(initial=initial, bank=bank, question=question)
    return QuestionEditor(
        form=form,
        rows=_rows_formset(kind, qtype, initial=rows[:MAX_ROWS]),
        kind=kind,
        question_type=qtype,
    )


def editor_new(*, bank: Bank, question_type: str) -> QuestionEditor:
    qtype = _valid_type(question_type)
    kind = ROW_KIND[qtype]
    rows: list[dict[str, Any]] = [{} for _ in range(DEFAULT_ROWS.get(kind, 0))]
    return _editor_unbound(bank=bank, question=None, qtype=qtype, initial={}, rows=rows)


def editor_for_question(*, bank: Bank, question: Question) -> QuestionEditor:
    data = dict(question.current_revision.data if question.current_revision else {})
    source = data.get("source") or {}
    verified = source.get("verified")
    initial = {
        "key": question.key,
        "prompt": data.get("prompt", ""),
        "answer": {True: "true", False: "false"}.get(bool(data["answer"]))
        if "answer" in data and data["answer"] is not None
        else None,
        "explanation": data.get("explanation", ""),
        "exam_vs_today": data.get("exam_vs_today", ""),
        "topics": ", ".join(data.get("topics") or []),
        "difficulty": data.get("difficulty", 2),
        "keyword": data.get("keyword", ""),
        "lesson": data.get("lesson", ""),
        "category": data.get("category", ""),
        "source_title": source.get("title", ""),
        "source_url": source.get("url", ""),
        "source_verified": dt.date.fromisoformat(str(verified)) if verified else None,
        "status": question.status,
    }
    qtype = _valid_type(data.get("type"), question.type)
    kind = ROW_KIND[qtype]
    rows: list[dict[str, Any]] = []
    if kind == "options":
        rows = [
            {
                "text": o.get("text", ""),
                "correct": bool(o.get("correct")),
                "feedback": o.get("feedback", ""),
            }
            for o in data.get("options") or []
        ]
    elif kind == "pairs":
        rows = [
            {"left": p.get("left", ""), "right": p.get("right", "")}
            for p in data.get("pairs") or []
        ]
    elif kind == "steps":
        rows = [{"text": step} for step in data.get("steps") or []]
    return _editor_unbound(bank=bank, question=question, qtype=qtype, initial=initial, rows=rows)


# --- lenient reading of a submitted editor (row buttons and the live preview) ---------


def _posted_rows(data: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    if not kind:
        return []
    try:
        total = int(data.get(f"{kind}-TOTAL_FORMS", 0))
    except (TypeError, ValueError):
        total = 0
    rows = []
    for i in range(max(0, min(total, MAX_ROWS))):
        row: dict[str, Any] = {}
        for name in ROW_FIELDS[kind]:
            value = data.get(f"{kind}-{i}-{name}")
            row[name] = value is not None and value != "" if name == "correct" else value or ""
        rows.append(row)
    return rows


def editor_rebuilt(
    *,
    bank: Bank,
    question: Question | None,
    data: Mapping[str, Any],
    add_row: bool = False,
    remove_row: int | None = None,
) -> QuestionEditor:
    """The submitted editor shown again, unvalidated, after "add row", "remove row",
    "switch type" or "preview": rows keep what was typed so far."""
    qtype = _valid_type(data.get("type"), question.type if question else "single")
    kind = ROW_KIND[qtype]
    rows = _posted_rows(data, kind)
    if not rows and kind:
        # Switched to a type whose rows were not on the page (e.g. options → pairs).
        rows = [{} for _ in range(DEFAULT_ROWS[kind])]
    if remove_row is not None and 0 <= remove_row < len(rows):
        del rows[remove_row]
    if add_row and kind and len(rows) < MAX_ROWS:
        rows.append({})
    initial = {name: data.get(name, "") for name in MAIN_FIELDS if name != "type"}
    if question is not None:
        initial["key"] = question.key
    return _editor_unbound(bank=bank, question=question, qtype=qtype, initial=initial, rows=rows)


def draft_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """The native shape of whatever is typed so far (no validation), for the preview."""
    qtype = _valid_type(data.get("type"))
    kind = ROW_KIND[qtype]
    rows = _posted_rows(data, kind)
    draft: dict[str, Any] = {
        "type": qtype,
        "keyword": data.get("keyword", "").strip(),
        "prompt": data.get("prompt", ""),
        "explanation": data.get("explanation", ""),
        "exam_vs_today": data.get("exam_vs_today", ""),
    }
    if kind == "options":
        draft["options"] = rows
    elif kind == "pairs":
        draft["pairs"] = rows
    elif kind == "steps":
        draft["steps"] = [row["text"] for row in rows]
    else:
        draft["answer"] = {"true": True, "false": False}.get(data.get("answer", ""))
    return draft


# --- import ------------------------------------------------------------------------
