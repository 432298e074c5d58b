from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from . import decision
from .models import Lesson
from .pages import lesson_page, lesson_summaries
from .selectors import is_understood, understood_lesson_ids
from .services import lesson_mark_understood


def lesson_list(request):
    done_ids = understood_lesson_ids(user=request.user)
    lessons = [
        {**summary, "understood": summary["pk"] in done_ids} for summary in lesson_summaries()
    ]
    done = sum(1 for lesson in lessons if lesson["understood"])
    return render(
        request,
        "content/lesson_list.html",
        {"lessons": lessons, "done": done, "total": len(lessons)},
    )


def lesson_detail(request, slug):
    page = lesson_page(slug)
    if page is None:
        raise Http404("No such lesson")
    understood = is_understood(user=request.user, lesson_id=int(page["pk"]))
    return render(request, "content/lesson_detail.html", {"page": page, "understood": understood})


@login_required
@require_POST
def lesson_understood(request, slug):
    lesson = get_object_or_404(Lesson, slug=slug)
    understood = request.POST.get("understood", "1") == "1"
    lesson_mark_understood(user=request.user, lesson=lesson, understood=understood)
    if request.htmx:
        return render(
            request,
            "content/lesson_detail.html#understood",
            {
                "page": {"understood_url": reverse("lesson_understood", args=[lesson.slug])},
                "understood": understood,
            },
        )
    return redirect(lesson)


def which_service(request):
    walk = decision.walk(decision.parse_answers(request.GET.get("a", "")))
    template = "content/which_service.html"
    if request.htmx:
        template += "#walk"
    response = render(request, template, {"walk": walk})
    patch_vary_headers(response, ["HX-Request"])
    return response
