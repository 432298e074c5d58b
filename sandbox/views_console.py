"""The sandbox overview, its live architecture view and the console (AWS CLI and CloudHSM
CLI commands against the learner's own engine)."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AuthenticatedRequest

from . import selectors, services, views_labs
from .architecture import architecture_for
from .console import ConsoleResult, console_run
from .engine import sandbox_subnets
from .forms import (
    COMMAND_MAX_LENGTH,
    ClockForm,
    ConsoleForm,
    FileForm,
)
from .labs import LABS, lab_by_slug
from .models import ConsoleEntry, LabProgress, SandboxAccount
from .views_common import account_of, changed, console_context

logger = logging.getLogger(__name__)

# --- overview -----------------------------------------------------------------------------------


def _usage(snapshot: selectors.EngineSnapshot) -> dict[str, int]:
    clusters = snapshot.inventory.live_clusters()
    most_hsms = max((len(cluster.hsm_ids) for cluster in clusters), default=0)
    return {
        "keys": len(snapshot.inventory.kms_keys),
        "clusters": len(clusters),
        "hsms": most_hsms,
    }


def _home_context(
    request: AuthenticatedRequest, account: SandboxAccount, **extra: Any
) -> dict[str, Any]:
    snapshot = selectors.engine_snapshot(account=account)
    progress = {p.lab_slug: p for p in LabProgress.objects.filter(user=request.user)}
    context = {
        "account": account,
        "snapshot": snapshot,
        "architecture": architecture_for(account=account, snapshot=snapshot),
        "usage": _usage(snapshot),
        "subnets": sandbox_subnets(account),
        "files": selectors.files_of(account=account),
        "file_form": FileForm(),
        "clock_form": ClockForm(),
        "access_keys": list(selectors.access_keys_of(account=account).filter(status="Active")),
        "labs": [(lab, progress.get(lab.slug)) for lab in LABS],
        **console_context(account),
    }
    context.update(extra)
    return context


@login_required
@require_GET
def sandbox_home(request: AuthenticatedRequest) -> HttpResponse:
    account = account_of(request)
    return render(request, "sandbox/home.html", _home_context(request, account))


@login_required
@require_GET
def architecture(request: AuthenticatedRequest) -> HttpResponse:
    if not request.htmx:
        return redirect(reverse("sandbox_home") + "#architecture")
    account = account_of(request)
    snapshot = selectors.engine_snapshot(account=account)
    context = {
        "account": account,
        "architecture": architecture_for(account=account, snapshot=snapshot),
        "usage": _usage(snapshot),
        "files_count": selectors.files_of(account=account).count(),
        "oob": True,
    }
    page = render_to_string("sandbox/_architecture.html#architecture-view", context, request)
    quotas = render_to_string("sandbox/_quotas.html", context, request)
    response = HttpResponse(page + quotas)
    response["Vary"] = "HX-Request"
    return response


# --- console ------------------------------------------------------------------------------------


def _run_console(account: SandboxAccount, command: str) -> ConsoleResult:
    try:
        return console_run(account=account, line=command)
    except Exception:
        # A bad command must never become a server error; log it for the developers.
        logger.exception("sandbox console failed on a command")
        return ConsoleResult(
            command,
            "The sandbox could not run this command (an internal error was logged). "
            "Check the syntax with 'help', or reset the sandbox if it keeps happening.",
            False,
        )


TOO_LONG = (
    f"The command is too long: the console takes {COMMAND_MAX_LENGTH:,} characters at most. "
    "Put long values in a file (Files) and pass file://NAME."
)


@login_required
@require_POST
def console(request: AuthenticatedRequest) -> HttpResponse:
    account = account_of(request)
    form = ConsoleForm(request.POST)
    if form.is_valid():
        command = form.cleaned_data["command"]
        result = _run_console(account, command) if command else ConsoleResult("", "", True)
    else:  # only a command over the length limit fails: say so in the transcript
        command = request.POST.get("command", "")[:80] + "…"
        result = ConsoleResult(command, TOO_LONG, False)
    entry = _keep(account, command, result)
    fresh = {"id": entry.pk if entry else None, "output": result.output}
    if request.htmx:
        return _console_fragment(request, command, entry, fresh, result)
    lab = lab_by_slug(request.POST.get("next") or "")
    if lab is not None:
        return views_labs.render_lab(request, account, lab, fresh=fresh)
    return render(request, "sandbox/home.html", _home_context(request, account, fresh=fresh))


def _keep(account: SandboxAccount, command: str, result: ConsoleResult) -> ConsoleEntry | None:
    """The transcript after a command: the command and its output added, or cleared."""
    if command == "clear":
        services.console_clear(account=account)
        return None
    if not command:
        return None
    return services.console_record(
        account=account, command=result.stored_command, output=result.stored_output, ok=result.ok
    )


def _console_fragment(
    request: AuthenticatedRequest,
    command: str,
    entry: ConsoleEntry | None,
    fresh: dict[str, Any],
    result: ConsoleResult,
) -> HttpResponse:
    if command == "clear":
        response = render(request, "sandbox/_console.html#transcript", {"transcript": []})
        response["HX-Retarget"] = "#console-transcript"
        response["HX-Reswap"] = "outerHTML"
        return response
    response = render(request, "sandbox/_console.html#entry", {"entry": entry, "fresh": fresh})
    return changed(response) if result.touched_engine else response
