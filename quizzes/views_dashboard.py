"""The learner's dashboard: due today, forecast, true retention, mastery, readiness, streak."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.http import AuthenticatedRequest

from .dashboard_page import dashboard_context
from .services_review import review_queue_refresh, review_settings_for


@login_required
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    now = timezone.now()
    settings = review_settings_for(user=request.user)
    queue = review_queue_refresh(
        user=request.user, now=now, new_cards_per_day=settings.new_cards_per_day, settings=settings
    )
    context = dashboard_context(user=request.user, now=now, queue=queue, settings=settings)
    return render(request, "quizzes/dashboard.html", context)
