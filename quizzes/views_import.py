"""Importing a question bank in the browser: upload, preview, confirm. The pending upload lives
in the session, so any app server can serve each step."""

from __future__ import annotations

import secrets
import time
from pathlib import PurePath
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.http import AuthenticatedRequest

from .formats import FORMATS, ParseResult, parse_upload
from .forms_import import (
    MAX_IMPORT_BYTES,
    MAX_IMPORT_QUESTIONS,
    ImportConfirmForm,
    ImportUploadForm,
)
from .models import Bank
from .selectors_author import (
    author_banks,
    import_plan,
)
from .services_author import (
    ImportRejected,
    ImportSummary,
    bank_import,
)
from .views_author import editable_bank, instructor_required

PENDING_IMPORTS = "author_pending_imports"
MAX_PENDING_IMPORTS = 3

# --- import ------------------------------------------------------------------------
# The pending upload lives in the session (database or Redis backed), never in process
# memory: preview and confirm may be served by different servers.


def _pending(request: AuthenticatedRequest) -> dict[str, dict[str, Any]]:
    pending: dict[str, dict[str, Any]] = request.session.get(PENDING_IMPORTS, {})
    return pending


def _pending_save(request: AuthenticatedRequest, entry: dict[str, Any]) -> str:
    pending = _pending(request)
    while len(pending) >= MAX_PENDING_IMPORTS:
        oldest = min(pending, key=lambda token: pending[token]["created"])
        del pending[oldest]
    token = secrets.token_urlsafe(12)
    pending[token] = {**entry, "created": time.time()}
    request.session[PENDING_IMPORTS] = pending
    return token


def _pending_drop(request: AuthenticatedRequest, token: str) -> None:
    pending = _pending(request)
    if pending.pop(token, None) is not None:
        request.session[PENDING_IMPORTS] = pending


def _reparse(entry: dict[str, Any]) -> ParseResult:
    # The limits were enforced on upload; re-encoding may change the byte count slightly.
    return parse_upload(
        entry["text"].encode("utf-8"),
        entry["filename"],
        entry["format"],
        max_bytes=MAX_IMPORT_BYTES * 4,
        max_questions=MAX_IMPORT_QUESTIONS,
    )


def _default_title(filename: str) -> str:
    stem = PurePath(filename).stem.replace("_", " ").replace("-", " ").strip()
    return stem[:1].upper() + stem[1:] if stem else ""


@instructor_required
@require_http_methods(["GET", "POST"])
def import_upload(request: AuthenticatedRequest) -> HttpResponse:
    banks = author_banks(user=request.user).order_by("title")
    initial = {}
    if request.GET.get("bank", "").isdigit():
        initial["bank"] = banks.filter(pk=request.GET["bank"]).first()
    form = ImportUploadForm(
        request.POST or None, request.FILES or None, banks=banks, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        bank = form.cleaned_data["bank"]
        pending = {
            "text": form.cleaned_data["text"],
            "filename": form.cleaned_data["file"].name,
            "format": form.cleaned_data["format_name"],
            "bank_id": bank.pk if bank else None,
            "title": form.cleaned_data["title"],
        }
        return redirect("author_import_preview", _pending_save(request, pending))
    return render(request, "author/import_upload.html", {"form": form})


IMPORT_REJECTED = (
    "Nothing was imported: the file has errors. Fix them and upload again, or "
    "tick “Import only the valid questions”."
)


def _import_confirm(
    request: AuthenticatedRequest,
    form: ImportConfirmForm,
    *,
    result: ParseResult,
    bank: Bank | None,
    title: str,
) -> ImportSummary | None:
    """Import the previewed file; None (and the reason on the form) when nothing was written."""
    try:
        summary = bank_import(
            result=result,
            owner=request.user,
            bank=bank,
            title=title,
            valid_only=form.cleaned_data["valid_only"],
        )
    except ImportRejected:
        form.add_error(None, IMPORT_REJECTED)
        return None
    messages.success(request, _imported_message(summary))
    return summary


def _imported_message(summary: ImportSummary) -> str:
    skipped = f", {summary.skipped} skipped with errors." if summary.skipped else "."
    return (
        f"Imported into “{summary.bank.title}”: {summary.created} new, "
        f"{summary.updated} updated, {summary.unchanged} unchanged{skipped}"
    )


@instructor_required
@require_http_methods(["GET", "POST"])
def import_preview(request: AuthenticatedRequest, token: str) -> HttpResponse:
    entry = _pending(request).get(token)
    if entry is None:
        raise Http404("This import has expired or was already confirmed.")
    bank = editable_bank(request, entry["bank_id"]) if entry["bank_id"] else None
    result = _reparse(entry)
    new_title = entry["title"] or (result.bank.title if result.bank else "")
    new_title = new_title or _default_title(entry["filename"])
    form = ImportConfirmForm(request.POST or None)
    if request.method == "POST" and request.POST.get("action") == "discard":
        _pending_drop(request, token)
        messages.info(request, "Import discarded: nothing was written.")
        return redirect(reverse("author_bank", args=[bank.pk]) if bank else "author_home")
    if request.method == "POST" and form.is_valid():
        summary = _import_confirm(request, form, result=result, bank=bank, title=new_title)
        if summary is not None:
            _pending_drop(request, token)
            return redirect("author_bank", summary.bank.pk)
    plan = import_plan(bank=bank, result=result)
    context = {"token": token, "entry": entry, "bank": bank, "new_title": new_title, "form": form}
    context.update(format=FORMATS[entry["format"]], plan=plan)
    return render(request, "author/import_preview.html", context)
