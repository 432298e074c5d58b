"""Timed mock exams: start, answer with autosave, navigate, flag, submit, review the result.

Each answer change is autosaved by htmx (``hx-trigger="change"`` on the form, posting to
``exam_save``, which returns the status/navigator region). Without JavaScript the same form
is posted by its Save buttons and the server redirects to the next question.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.http import AuthenticatedRequest
from accounts.models import Profile

from .forms_learn import AnswerForm, ExamStartForm, answer_as_post
from .grading import answer_is_blank
from .models import Exam, ExamItem
from .presenters import exam_navigator_html, exam_result_context, show_question
from .selectors import exam_item_for, exam_navigator_rows, exams_for, study_questions_for
from .services_exam import (
    BLUEPRINTS,
    ExamClosedError,
    NoQuestionsError,
    exam_answer_save,
    exam_expire_if_due,
    exam_finish,
    exam_plan,
    exam_start,
)
from .views_review import render_region


def clock(seconds: int) -> str:
    """``3725`` → ``"1:02:05"`` (time left, shown until exam.js takes over)."""
    hours, rest = divmod(max(0, seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _exam_for(request: AuthenticatedRequest, exam_id: int) -> Exam:
    """The learner's own exam; anyone else's is a 404."""
    return get_object_or_404(Exam, pk=exam_id, user=request.user)


@login_required
def exam_list(request: AuthenticatedRequest) -> HttpResponse:
    profile = Profile.objects.filter(user=request.user).first()
    pool = study_questions_for(user=request.user).count()
    form = ExamStartForm(initial={"kind": profile.target_exam if profile else Exam.Kind.SCS_C03})
    plans = [
        {
            "kind": kind,
            "label": label,
            "official": BLUEPRINTS[kind],
            "plan": exam_plan(kind, pool) if pool else None,
        }
        for kind, label in Exam.Kind.choices
    ]
    return render(
        request,
        "quizzes/exam_list.html",
        {"form": form, "plans": plans, "pool": pool, "exams": exams_for(user=request.user)},
    )


@login_required
@require_POST
def exam_start_view(request: AuthenticatedRequest) -> HttpResponse:
    form = ExamStartForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose which exam to take.")
        return redirect("exam_list")
    try:
        exam = exam_start(user=request.user, kind=form.cleaned_data["kind"], now=timezone.now())
    except NoQuestionsError:
        messages.error(request, "Your banks have no published questions yet.")
        return redirect("exam_list")
    return redirect("exam_question", exam_id=exam.pk, position=1)


def _closed_redirect(request: AuthenticatedRequest, exam: Exam) -> HttpResponse:
    if exam.status == Exam.Status.TIMED_OUT:
        messages.warning(request, "Time is up: the exam was finished at its deadline.")
    else:  # a stale tab, the back button, a second click on "Submit"
        messages.info(request, "This exam is already submitted: answers no longer change.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("exam_result", args=[exam.pk]))
    return redirect("exam_result", exam_id=exam.pk)


@login_required
def exam_detail(request: AuthenticatedRequest, exam_id: int) -> HttpResponse:
    exam = _exam_for(request, exam_id)
    exam_expire_if_due(exam=exam, now=timezone.now())
    if exam.status != Exam.Status.IN_PROGRESS:
        return redirect("exam_result", exam_id=exam.pk)
    first_open = next(
        (
            item.position
            for item in exam.items.all()
            if answer_is_blank(item.revision.data, item.answer)
        ),
        1,
    )
    return redirect("exam_question", exam_id=exam.pk, position=first_open)


def _navigator(exam: Exam, current: int) -> list[dict[str, Any]]:
    """One entry per question, read as plain values: the page and every save show it."""
    prefix = reverse("exam_question", args=[exam.pk, 1]).removesuffix("1/")
    rows = exam_navigator_rows(exam.pk)
    return [
        {
            "position": position,
            "url": f"{prefix}{position}/",
            "answered": not answer_is_blank({"type": question_type}, answer),
            "flagged": flagged,
            "current": position == current,
        }
        for position, answer, flagged, question_type in rows
    ]


def _question_context(
    exam: Exam, item: ExamItem, form: AnswerForm | None = None, *, saved: bool = False
) -> dict[str, Any]:
    data = item.revision.data
    if form is None:
        form = AnswerForm(
            answer_as_post(data, item.answer) or None, question_data=data, required=False
        )
        if item.answer is not None:
            form.is_valid()
    navigator = _navigator(exam, item.position)
    total = len(navigator)
    return {
        "exam": exam,
        "item": item,
        "form": form,
        "view": show_question(
            data, item.revision.rendered, list(item.option_order), answer=item.answer
        ),
        "navigator_html": exam_navigator_html(navigator),
        "total": total,
        "answered": sum(1 for entry in navigator if entry["answered"]),
        "flagged": sum(1 for entry in navigator if entry["flagged"]),
        "previous": item.position - 1 if item.position > 1 else None,
        "next": item.position + 1 if item.position < total else None,
        "time_left": clock(int((exam.deadline - timezone.now()).total_seconds())),
        "saved": saved,
    }


def _item_for(request: AuthenticatedRequest, exam_id: int, position: int) -> ExamItem | None:
    """The item at ``position`` of the learner's own exam, with its exam and revision: one read."""
    return exam_item_for(user=request.user, exam_id=exam_id, position=position)


@login_required
def exam_question(request: AuthenticatedRequest, exam_id: int, position: int) -> HttpResponse:
    item = _item_for(request, exam_id, position)
    exam = item.exam if item is not None else _exam_for(request, exam_id)
    if exam_expire_if_due(exam=exam, now=timezone.now()) or exam.status != Exam.Status.IN_PROGRESS:
        return _closed_redirect(request, exam)
    if item is None:
        raise Http404("No such question in this exam.")
    return render(request, "quizzes/exam_question.html", _question_context(exam, item))


@login_required
@require_POST
def exam_save(request: AuthenticatedRequest, exam_id: int, position: int) -> HttpResponse:
    exam = _exam_for(request, exam_id)
    item = get_object_or_404(exam.items.select_related("revision"), position=position)
    form = AnswerForm(request.POST, question_data=item.revision.data, required=False)
    form.is_valid()
    answer = form.cleaned_data.get("answer") if hasattr(form, "cleaned_data") else None
    try:
        item = exam_answer_save(
            exam=exam,
            position=position,
            answer=answer,
            flagged=request.POST.get("flagged") == "on",
            now=timezone.now(),
        )
    except ExamClosedError:
        return _closed_redirect(request, exam)
    if request.htmx:
        context = _question_context(exam, item, form, saved=True)
        return render_region(request, "quizzes/exam_question.html", "status", context)
    return redirect(*_destination(exam, position, request.POST.get("go", "next")))


def _destination(exam: Exam, position: int, go: str) -> tuple[Any, ...]:
    """Where the exam's navigation buttons lead after a save: (view name, *arguments)."""
    total = exam.items.count()
    if go == "finish" or (go == "next" and position >= total):
        return ("exam_finish", exam.pk)
    if go == "previous" and position > 1:
        return ("exam_question", exam.pk, position - 1)
    if go.isdigit() and 1 <= int(go) <= total:
        return ("exam_question", exam.pk, int(go))
    if go == "next":
        return ("exam_question", exam.pk, position + 1)
    return ("exam_question", exam.pk, position)


@login_required
def exam_finish_view(request: AuthenticatedRequest, exam_id: int) -> HttpResponse:
    exam = _exam_for(request, exam_id)
    now = timezone.now()
    if exam_expire_if_due(exam=exam, now=now) or exam.status != Exam.Status.IN_PROGRESS:
        return _closed_redirect(request, exam)
    if request.method == "POST":
        exam_finish(exam=exam, now=now)
        messages.success(request, "Exam submitted.")
        return redirect("exam_result", exam_id=exam.pk)
    navigator = _navigator(exam, current=0)
    return render(
        request,
        "quizzes/exam_finish.html",
        {
            "exam": exam,
            "navigator_html": exam_navigator_html(navigator),
            "unanswered": [entry for entry in navigator if not entry["answered"]],
            "flagged_items": [entry for entry in navigator if entry["flagged"]],
            "time_left": clock(int((exam.deadline - now).total_seconds())),
        },
    )


@login_required
def exam_result(request: AuthenticatedRequest, exam_id: int) -> HttpResponse:
    exam = _exam_for(request, exam_id)
    exam_expire_if_due(exam=exam, now=timezone.now())
    if exam.status == Exam.Status.IN_PROGRESS:
        raise Http404("This exam is still in progress.")
    return render(request, "quizzes/exam_result.html", exam_result_context(exam))
