"""Typed helpers for forms of every app: ``form.fields`` holds plain ``Field`` objects, so
setting a choice field's choices or a model field's queryset needs the concrete type."""

from __future__ import annotations

from typing import Any

from django import forms


def offer_choices(form: forms.Form, name: str, choices: Any) -> None:
    """Set a choice field's choices (typed: ``form.fields`` holds plain ``Field``)."""
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


def offer_queryset(form: forms.Form, name: str, queryset: Any) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = queryset
