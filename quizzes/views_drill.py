"""Keyword drill: rapid keyword → {KMS, CloudHSM, both, neither} rounds.

A round is a list of item ids chosen by :func:`quizzes.selectors.drill_round_for` (recent
mistakes and the items they are confused with, interleaved). The rest of the round travels
in the form, so the page needs no session state and works without JavaScript.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest

from .forms_learn import DrillAnswerForm, id_list_parse
from .models import KeywordAttempt, KeywordDrill
from .presenters import drill_context
from .services_review import keyword_attempt_record
from .views_review import render_region


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


@login_required
def drill(request: AuthenticatedRequest) -> HttpResponse:
    last = None
    if request.GET.get("last", "").isdigit():
        last = (
            KeywordAttempt.objects.select_related("drill")
            .filter(pk=int(request.GET["last"]), user=request.user)
            .first()
        )
    queue = id_list_parse(request.GET["queue"]) if "queue" in request.GET else None
    context = drill_context(
        request.user,
        queue=queue,
        last=last,
        right=_int(request.GET.get("right")),
        total=_int(request.GET.get("total")),
    )
    return render_region(request, "quizzes/drill.html", "drill", context)


@login_required
@require_POST
def drill_answer(request: AuthenticatedRequest) -> HttpResponse:
    form = DrillAnswerForm(request.POST)
    if not form.is_valid():
        return redirect("drill")
    item = KeywordDrill.objects.filter(pk=form.cleaned_data["drill"]).first()
    if item is None:
        return redirect("drill")
    attempt = keyword_attempt_record(
        user=request.user, drill=item, chosen=form.cleaned_data["chosen"]
    )
    right = (form.cleaned_data["right"] or 0) + int(attempt.correct)
    total = (form.cleaned_data["total"] or 0) + 1
    queue = id_list_parse(form.cleaned_data["remaining"])
    if not request.htmx:
        params = {
            "queue": ",".join(str(pk) for pk in queue),
            "last": attempt.pk,
            "right": right,
            "total": total,
        }
        return redirect(f"{reverse('drill')}?{urlencode(params)}")
    context = drill_context(request.user, queue=queue, last=attempt, right=right, total=total)
    return render_region(request, "quizzes/drill.html", "drill", context)
