from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.cache import never_cache

from content.models import Lesson

from . import onboarding


def home(request):
    """Signed in: what to do next. Signed out: what the product is."""
    if request.user.is_authenticated:
        steps = onboarding.next_steps_for(request.user, timezone.localdate())
        return render(request, "home.html", {"next_steps": steps})
    lessons = Lesson.objects.only("slug", "title", "summary", "order")[:8]
    return render(request, "home.html", {"lessons": lessons})


@never_cache
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def ping(request):
    """The benchmark ceiling: the cheapest response this app can give."""
    return HttpResponse("ok", content_type="text/plain")


def favicon(request):
    """Browsers ask for /favicon.ico on pages without a <head> (e.g. raw responses)."""
    return redirect(static("img/favicon.svg"), permanent=True)


def csrf_failure(request, reason=""):
    """A form whose CSRF token was missing or stale: say so in the site's own page (the
    reason is for logs, never shown), with a way back."""
    return render(request, "403_csrf.html", status=403)


@login_required
def welcome(request, step=None):
    """The first-run path: without a step, wherever the learner got to."""
    current = onboarding.setup_step(request.user)
    if step is None:
        if current == onboarding.Step.DONE:
            return redirect("home")
        return redirect("welcome_step", step=current)
    if step not in onboarding.STEPS:
        raise Http404("No such setup step.")
    page = onboarding.step_page(request.user, step, request.POST or None)
    if request.method == "POST" and (page.form is None or page.form.is_valid()):
        return redirect(page.save(request.user))
    return render(request, "onboarding/welcome.html", page.context)
