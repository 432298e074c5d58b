"""What every sandbox page shares: the learner's own account, the htmx event that tells
the architecture view to refresh, and the console shown on the overview and on lab pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django_htmx.http import trigger_client_event

from accounts.http import AuthenticatedRequest

from . import selectors, services
from .forms import ConsoleForm
from .models import SandboxAccount

CHANGED = "sandbox-changed"


def changed(response: HttpResponse) -> HttpResponse:
    return trigger_client_event(response, CHANGED)


def account_of(request: AuthenticatedRequest) -> SandboxAccount:
    return services.sandbox_for(request.user)


def console_context(account: SandboxAccount) -> dict[str, Any]:
    return {
        "console_form": ConsoleForm(),
        "transcript": selectors.console_transcript(account=account),
        "history": selectors.console_history(account=account),
    }
