"""Keyword drill: rapid keyword → {KMS, CloudHSM, both, neither} rounds.

A round is a list of item ids chosen by :func:`quizzes.selectors.drill_round_for` (recent
mistakes and the items they are confused with, interleaved). The rest of the round travels
in the form, so the page needs no session state and works without JavaScript.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from .forms_learn import DrillAnswerForm, id_list_parse
from .models import KeywordAttempt, KeywordDrill
from .selectors import confusions_for, drill_round_for
from .services_review import keyword_attempt_record
from .views_review import render_region

ROUND_SIZE = 10


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


def _drill_context(
    request: HttpRequest,
    *,
    queue: list[int] | None,
    last: KeywordAttempt | None,
    right: int,
    total: int,
) -> dict[str, Any]:
    finished = queue is not None and not queue and last is not None
    if queue is None or (not queue and not finished):
        queue = [item.pk for item in drill_round_for(user=request.user, size=ROUND_SIZE)]
        right = total = 0
    items = KeywordDrill.objects.in_bulk(queue)
    queue = [pk for pk in queue if pk in items]
    item = items[queue[0]] if queue and not finished else None
    rest = ",".join(str(pk) for pk in queue[1:])
    form = None
    if item is not None:
        form = DrillAnswerForm(
            initial={"drill": item.pk, "remaining": rest, "right": right, "total": total}
        )
    return {
        "item": item,
        "form": form,
        "answers": KeywordDrill.Answer.choices,
        "last": last,
        "last_chosen_label": dict(KeywordDrill.Answer.choices).get(last.chosen) if last else "",
        "right": right,
        "total": total,
        "left_in_round": len(queue),
        "finished": finished,
        "confusions": confusions_for(user=request.user),
        "has_items": KeywordDrill.objects.exists(),
    }


@login_required
def drill(request: HttpRequest) -> HttpResponse:
    last = None
    if request.GET.get("last", "").isdigit():
        last = (
            KeywordAttempt.objects.select_related("drill")
            .filter(pk=int(request.GET["last"]), user=request.user)
            .first()
        )
    queue = id_list_parse(request.GET["queue"]) if "queue" in request.GET else None
    context = _drill_context(
        request,
        queue=queue,
        last=last,
        right=_int(request.GET.get("right")),
        total=_int(request.GET.get("total")),
    )
    return render_region(request, "quizzes/drill.html", "drill", context)


@login_required
@require_POST
def drill_answer(request: HttpRequest) -> HttpResponse:
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
    context = _drill_context(request, queue=queue, last=attempt, right=right, total=total)
    return render_region(request, "quizzes/drill.html", "drill", context)
