"""The learner's dashboard: due today, forecast, true retention, mastery, readiness, streak."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.http import AuthenticatedRequest

from .dashboard_page import dashboard_context
from .selectors import study_banks_for
from .services_review import review_queue_refresh, review_settings_for


@login_required
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    now, user = timezone.now(), request.user
    settings = review_settings_for(user=user)
    banks = study_banks_for(user=user)
    queue = review_queue_refresh(
        user=user, now=now, new_cards_per_day=settings.new_cards_per_day, banks=banks,
        settings=settings,
    )  # fmt: skip
    context = dashboard_context(
        user=user, now=now, queue=queue, settings=settings, bank_ids=list(banks)
    )
    return render(request, "quizzes/dashboard.html", context)
