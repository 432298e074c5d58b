"""Forms of the import flow: the upload (checked, decoded and parsed before anything is
kept) and the confirmation after the preview."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from accounts.form_fields import offer_queryset

from .formats import FORMATS, decode_upload, detect_format, parse_upload
from .models import Bank

MAX_IMPORT_BYTES = 1_000_000
MAX_IMPORT_QUESTIONS = 1000


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.0f} kB"


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        help_text=f"YAML, GIFT, Aiken or CSV/TSV; at most {_size(MAX_IMPORT_BYTES)} and "
        f"{MAX_IMPORT_QUESTIONS:,} questions."
    )
    format = forms.ChoiceField(
        choices=[("", "Detect from the file")]
        + [(name, spec.label) for name, spec in FORMATS.items()],
        required=False,
    )
    bank = forms.ModelChoiceField(
        queryset=Bank.objects.none(),
        required=False,
        empty_label="A new bank",
        label="Import into",
    )
    title = forms.CharField(
        label="New bank title",
        required=False,
        max_length=200,
        help_text="For a new bank; defaults to the title in the file, or the file name.",
    )

    def __init__(self, *args: Any, banks: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_queryset(self, "bank", banks)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError(
                f"The file is {_size(upload.size)} ({upload.size:,} bytes); uploads are "
                f"limited to {_size(MAX_IMPORT_BYTES)} ({MAX_IMPORT_BYTES:,} bytes). "
                "Split it into smaller files."
            )
        return upload

    def clean(self) -> dict[str, Any]:
        """Read, decode and parse the file: ``text``, ``format_name`` and ``parsed`` (the
        :class:`ParseResult`) join the cleaned data, or the problem shows on its field."""
        super().clean()
        cleaned = self.cleaned_data
        upload = cleaned.get("file")
        if upload is None:
            return cleaned
        data = upload.read(MAX_IMPORT_BYTES + 1)
        text, problem = decode_upload(data)
        name = cleaned.get("format") or (detect_format(upload.name, text) if text else None)
        if problem is not None or text is None:
            self.add_error("file", str(problem or "The file could not be read."))
        elif not text.strip():
            self.add_error("file", "The file is empty.")
        elif name is None:
            self.add_error(
                "format", "Could not tell the format from the file: choose it from the list."
            )
        else:
            parsed = parse_upload(
                data,
                upload.name,
                name,
                max_bytes=MAX_IMPORT_BYTES,
                max_questions=MAX_IMPORT_QUESTIONS,
            )
            if parsed.total > MAX_IMPORT_QUESTIONS:
                self.add_error(
                    "file",
                    f"The file has {parsed.total:,} questions; the limit is "
                    f"{MAX_IMPORT_QUESTIONS:,} per upload. Split it into smaller files.",
                )
            cleaned.update(text=text, format_name=name, parsed=parsed)
        return cleaned


class ImportConfirmForm(forms.Form):
    valid_only = forms.BooleanField(
        required=False, label="Import only the valid questions (skip the ones with errors)"
    )
