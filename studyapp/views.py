from __future__ import annotations

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache

from content.models import Lesson


def home(request):
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
