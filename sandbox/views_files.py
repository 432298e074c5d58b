"""The learner's sandbox files: upload, download, delete (inputs and outputs of labs)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AuthenticatedRequest

from . import services
from .forms import (
    FileForm,
)
from .labs import lab_by_slug
from .models import SandboxFile
from .views_common import account_of

# --- files --------------------------------------------------------------------------------------


def _back(request: AuthenticatedRequest, default: str = "sandbox_home") -> HttpResponse:
    lab = lab_by_slug(request.POST.get("next", ""))
    if lab is not None:
        return redirect("sandbox_lab", slug=lab.slug)
    return redirect(reverse(default) + "#files")


@login_required
@require_POST
def file_upload(request: AuthenticatedRequest) -> HttpResponse:
    account = account_of(request)
    form = FileForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            saved = services.file_save(
                account=account, name=form.cleaned_data["name"], content=form.content()
            )
            messages.success(request, f"Saved {saved.name} ({saved.size} bytes).")
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return _back(request)


@login_required
@require_GET
def file_download(request: AuthenticatedRequest, name: str) -> HttpResponse:
    account = account_of(request)
    sandbox_file = get_object_or_404(SandboxFile, account=account, name=name)
    response = HttpResponse(bytes(sandbox_file.content), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{sandbox_file.name}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def file_delete(request: AuthenticatedRequest, name: str) -> HttpResponse:
    account = account_of(request)
    get_object_or_404(SandboxFile, account=account, name=name)
    services.file_delete(account=account, name=name)
    messages.success(request, f"Deleted {name}.")
    return _back(request)
