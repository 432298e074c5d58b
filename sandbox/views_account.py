"""The sandbox account itself: access keys for the SDK and CLI, the simulated clock, reset
and the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AuthenticatedRequest

from . import selectors, services
from .forms import (
    AccessKeyForm,
    AuditFilterForm,
    ClockForm,
)
from .labs import lab_by_slug
from .models import SandboxAccessKey, SandboxAccount
from .views_common import account_of, changed

# --- access keys --------------------------------------------------------------------------------


def _credentials_page(
    request: AuthenticatedRequest, account: SandboxAccount, **extra: Any
) -> HttpResponse:
    context = {
        "account": account,
        "access_keys": selectors.access_keys_of(account=account),
        "form": AccessKeyForm(),
        "endpoint": request.build_absolute_uri(reverse("sandbox_kms")),
        **extra,
    }
    response = render(request, "sandbox/credentials.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def credentials(request: AuthenticatedRequest) -> HttpResponse:
    account = account_of(request)
    if request.method != "POST":
        return _credentials_page(request, account)
    form = AccessKeyForm(request.POST)
    if not form.is_valid():
        return _credentials_page(request, account, form=form)
    try:
        key, secret = services.access_key_create(
            account=account, user_name=form.cleaned_data["user_name"]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("sandbox_credentials")
    return _credentials_page(request, account, revealed=key, secret=secret)


def _own_key(
    request: AuthenticatedRequest, account: SandboxAccount, access_key_id: str
) -> SandboxAccessKey:
    return get_object_or_404(SandboxAccessKey, account=account, access_key_id=access_key_id)


@login_required
@require_POST
def credential_reveal(request: AuthenticatedRequest, access_key_id: str) -> HttpResponse:
    account = account_of(request)
    key = _own_key(request, account, access_key_id)
    if not key.is_active:
        raise Http404("revoked")
    return _credentials_page(request, account, revealed=key, secret=services.access_key_secret(key))


@login_required
@require_POST
def credential_rotate(request: AuthenticatedRequest, access_key_id: str) -> HttpResponse:
    account = account_of(request)
    key = _own_key(request, account, access_key_id)
    if not key.is_active:
        messages.error(request, "Only an active key can be rotated.")
        return redirect("sandbox_credentials")
    new_key, secret = services.access_key_rotate(key=key)
    messages.success(request, f"{key.access_key_id} is revoked; use {new_key.access_key_id}.")
    return _credentials_page(request, account, revealed=new_key, secret=secret)


@login_required
@require_POST
def credential_revoke(request: AuthenticatedRequest, access_key_id: str) -> HttpResponse:
    account = account_of(request)
    key = _own_key(request, account, access_key_id)
    services.access_key_revoke(key=key)
    messages.success(request, f"{key.access_key_id} is revoked: requests signed with it fail.")
    return redirect("sandbox_credentials")


# --- clock and reset ------------------------------------------------------------------------------


@login_required
@require_POST
def clock_advance(request: AuthenticatedRequest) -> HttpResponse:
    account = account_of(request)
    form = ClockForm(request.POST)
    if form.is_valid():
        services.sandbox_advance_clock(account=account, seconds=form.seconds)
        # Let the engine apply what became due now, so the views show it at once.
        selectors.engine_snapshot(account=account)
    if request.htmx:
        response = render(
            request,
            "sandbox/_clock.html#clock",
            {"account": account, "clock_form": ClockForm(), "next": request.POST.get("next", "")},
        )
        return changed(response)
    lab = lab_by_slug(request.POST.get("next", ""))
    if lab is not None:
        return redirect("sandbox_lab", slug=lab.slug)
    return redirect("sandbox_home")


@login_required
def reset(request: AuthenticatedRequest) -> HttpResponse:
    account = account_of(request)
    if request.method == "POST":
        services.sandbox_reset(account=account)
        messages.success(
            request, "Your sandbox is empty again. Access keys and lab completions were kept."
        )
        return redirect("sandbox_home")
    return render(request, "sandbox/reset.html", {"account": account})


# --- audit log ----------------------------------------------------------------------------------------


@login_required
@require_GET
def audit_log(request: AuthenticatedRequest) -> HttpResponse:
    account = account_of(request)
    operations, results = selectors.audit_choices(account=account)
    form = AuditFilterForm(request.GET or None, operations=operations, results=results)
    filters = selectors.AuditFilters()
    if form.is_bound and form.is_valid():
        filters = selectors.AuditFilters(**form.cleaned_data)
    page = selectors.audit_page(account=account, filters=filters, page=request.GET.get("page"))
    template = "sandbox/audit.html#audit-table" if request.htmx else "sandbox/audit.html"
    response = render(
        request,
        template,
        {"account": account, "form": form, "page": page, "query": filters.as_query()},
    )
    response["Vary"] = "HX-Request"
    return response
