"""Spaced-repetition review: question → answer → feedback → next.

Every page works as plain HTML forms (POST, then redirect). With htmx the card region
(``quizzes/review.html#card``) is swapped in place instead.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.messages import get_messages
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest

from . import review_pages, sql
from .forms_learn import (
    AnswerForm,
    BankChoiceForm,
    ContrastDrillForm,
    ReviewMetaForm,
    ReviewSettingsForm,
    display_size,
    shown_order_parse,
    steps_text,
)
from .models import Card, QuestionRevision, ReviewLog
from .presenters import show_question
from .selectors import (
    is_studied,
    leech_contrast_drills,
    study_bank_ids_for,
)
from .services_review import (
    AnswerOutcome,
    ContrastOutcome,
    StaleCardError,
    bank_subscriptions_set,
    leech_contrast_submit,
    review_answer_submit,
    review_settings_for,
    review_settings_update,
    review_undo,
)


@functools.cache
def review_urls() -> dict[str, str]:
    """The links of the review card, reversed once per process (like the site navigation)."""
    names = ["review", "review_answer", "review_undo", "drill", "exam_list", "dashboard"]
    return {name: reverse(name) for name in names} | {"banks": reverse("review_banks")}


@functools.cache
def review_study_nav() -> str:
    """The study navigation of the review page: the same for every learner, rendered once."""
    return loader.render_to_string("quizzes/_study_nav.html", {"active": "review"})


def render_region(
    request: AuthenticatedRequest,
    template: str,
    region: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    """The whole page, or only its ``region`` partial for an htmx request. The region is
    rendered without the context processors (they serve the page around it; skipping them
    saves a query on every swap), with the little it uses of them: request, CSRF, messages.
    """
    context = {"urls": review_urls(), **context}
    if request.htmx:
        context.update(
            request=request, csrf_token=get_token(request), messages=get_messages(request)
        )
        response = HttpResponse(
            loader.get_template(f"{template}#{region}").render(context), status=status
        )
    else:
        context["study_nav"] = review_study_nav()
        response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- the review page -------------------------------------------------------------------


@login_required
def review(request: AuthenticatedRequest) -> HttpResponse:
    return render_region(
        request, "quizzes/review.html", "card", review_pages.queue_context(request.user)
    )


def _studied_revision(
    request: AuthenticatedRequest, revision_id: int, learner: review_pages.Learner
) -> QuestionRevision:
    revision = sql.revision_with_question(revision_id)
    if revision is None or not is_studied(revision.question, learner.banks):
        raise Http404("Not one of your questions.")
    return revision


@login_required
@require_POST
def review_answer(request: AuthenticatedRequest) -> HttpResponse:
    meta = ReviewMetaForm(request.POST)
    if not meta.is_valid():
        messages.error(request, "That answer form was incomplete; here is the next card.")
        return _back_to_queue(request)
    learner = review_pages.learner_for(request.user)
    revision = _studied_revision(request, meta.cleaned_data["revision"], learner)
    size = display_size(revision.data)
    shown = shown_order_parse(meta.cleaned_data["shown"], size) or list(range(size))
    form = AnswerForm(request.POST, question_data=revision.data)
    if not form.is_valid():
        return _answer_again(request, learner, revision, meta, form, shown)
    try:
        outcome = _submit(request, learner, revision, meta, form)
    except StaleCardError:
        messages.warning(request, "You already answered that card in another tab or window.")
        return _back_to_queue(request, learner)
    if not request.htmx:
        url = reverse("review_feedback", args=[outcome.log.pk])
        return redirect(f"{url}?shown={','.join(str(i) for i in shown)}")
    return _feedback(request, learner, outcome, shown)


def _answer_again(
    request: AuthenticatedRequest,
    learner: review_pages.Learner,
    revision: QuestionRevision,
    meta: ReviewMetaForm,
    form: AnswerForm,
    shown: list[int],
) -> HttpResponse:
    """The same question again, with the answer form's errors."""
    context = review_pages.queue_context(request.user, learner)
    context.update(
        review_pages.question_context(
            revision.question,
            revision,
            show_question(revision.data, revision.rendered, shown, answer=form.answer),
            hidden={name: meta[name].value() for name in review_pages.META_FIELDS},
            form=form,
            guessed=bool(meta.cleaned_data["guessed"]),
        )
    )
    return render_region(request, "quizzes/review.html", "card", context)


def _submit(
    request: AuthenticatedRequest,
    learner: review_pages.Learner,
    revision: QuestionRevision,
    meta: ReviewMetaForm,
    form: AnswerForm,
) -> AnswerOutcome:
    now = timezone.now()
    return review_answer_submit(
        user=request.user,
        revision=revision,
        answer=form.cleaned_data["answer"],
        guessed=meta.cleaned_data["guessed"],
        duration_ms=int(now.timestamp() * 1000) - meta.cleaned_data["started"],
        submission_id=meta.cleaned_data["submission_id"],
        seen_version=meta.cleaned_data["version"],
        now=now,
        settings=learner.settings,
        profile=learner.profile,
    )


def _feedback(
    request: AuthenticatedRequest,
    learner: review_pages.Learner,
    outcome: AnswerOutcome,
    shown: list[int],
) -> HttpResponse:
    context = review_pages.feedback_context(
        request.user,
        outcome.log,
        shown,
        became_leech=outcome.became_leech,
        learner=learner,
        # An answer just written is the latest one; a repeated submission is looked up.
        latest=None if outcome.duplicate else outcome.log.pk,
    )
    return render_region(request, "quizzes/review.html", "card", context)


def _back_to_queue(
    request: AuthenticatedRequest, learner: review_pages.Learner | None = None
) -> HttpResponse:
    if request.htmx:
        return render_region(
            request,
            "quizzes/review.html",
            "card",
            review_pages.queue_context(request.user, learner),
        )
    return redirect("review")


@login_required
def review_feedback(request: AuthenticatedRequest, log_id: int) -> HttpResponse:
    log = get_object_or_404(
        ReviewLog.objects.select_related("revision", "card"),
        pk=log_id,
        user=request.user,
        source=ReviewLog.Source.REVIEW,
    )
    size = display_size(log.revision.data)
    shown = shown_order_parse(request.GET.get("shown", ""), size) or list(range(size))
    return render_region(
        request,
        "quizzes/review.html",
        "card",
        review_pages.feedback_context(request.user, log, shown),
    )


@login_required
@require_POST
def review_undo_view(request: AuthenticatedRequest) -> HttpResponse:
    if review_undo(user=request.user, now=timezone.now()):
        messages.success(request, "Undone: that card is back as it was before your answer.")
    else:
        messages.info(request, "There is no answer to undo.")
    return _back_to_queue(request)


# --- leeches ---------------------------------------------------------------------------


@login_required
def review_leech(request: AuthenticatedRequest, card_id: int) -> HttpResponse:
    card = get_object_or_404(
        Card.objects.select_related("question__current_revision"), pk=card_id, user=request.user
    )
    log = None
    if request.GET.get("log", "").isdigit():
        log = ReviewLog.objects.filter(
            pk=int(request.GET["log"]), card=card, source=ReviewLog.Source.LEECH_DRILL
        ).first()
    if request.method == "POST":
        form = ContrastDrillForm(request.POST)
        if not card.leech or not form.is_valid():
            return _back_to_queue(request)
        outcome = _contrast_submit(request, card, form)
        if outcome.passed:
            messages.success(request, "Contrast drill passed: the card is back in your queue.")
            return _back_to_queue(request)
        if not request.htmx:
            return redirect(f"{reverse('review_leech', args=[card.pk])}?log={outcome.log.pk}")
        log = outcome.log
    if not card.leech:
        return redirect("review")
    context = {"queue": None, **review_pages.leech_context(card, log=log)}
    return render_region(request, "quizzes/review.html", "card", context)


def _contrast_submit(
    request: AuthenticatedRequest, card: Card, form: ContrastDrillForm
) -> ContrastOutcome:
    drills = leech_contrast_drills(question=card.question)
    return leech_contrast_submit(
        card=card,
        answers={drill.pk: request.POST.get(f"drill_{drill.pk}", "") for drill in drills},
        drills=drills,
        submission_id=form.cleaned_data["submission_id"],
        now=timezone.now(),
    )


# --- settings and banks ----------------------------------------------------------------


@login_required
def review_settings_view(request: AuthenticatedRequest) -> HttpResponse:
    settings = review_settings_for(user=request.user)
    initial = {
        "desired_retention": settings.desired_retention,
        "new_cards_per_day": settings.new_cards_per_day,
        "learning_steps": steps_text(settings.learning_steps_minutes),
        "relearning_steps": steps_text(settings.relearning_steps_minutes),
    }
    form = ReviewSettingsForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        review_settings_update(
            user=request.user,
            desired_retention=form.cleaned_data["desired_retention"],
            new_cards_per_day=form.cleaned_data["new_cards_per_day"],
            learning_steps_minutes=form.cleaned_data["learning_steps"],
            relearning_steps_minutes=form.cleaned_data["relearning_steps"],
        )
        messages.success(request, "Review settings saved. They apply from your next answer.")
        return redirect("review_settings")
    return render(request, "quizzes/review_settings.html", {"form": form})


@login_required
def review_banks(request: AuthenticatedRequest) -> HttpResponse:
    chosen = list(request.user.bank_subscriptions.values_list("bank_id", flat=True))
    form = BankChoiceForm(
        request.POST if request.method == "POST" else None, initial={"banks": chosen}
    )
    if request.method == "POST" and form.is_valid():
        banks = bank_subscriptions_set(
            user=request.user, bank_ids=[bank.pk for bank in form.cleaned_data["banks"]]
        )
        if banks:
            messages.success(request, f"You now study {len(banks)} bank(s).")
        else:
            messages.success(request, "You now study the default banks.")
        return redirect("review_banks")
    studied = set(study_bank_ids_for(user=request.user))
    return render(
        request,
        "quizzes/review_banks.html",
        {"form": form, "studied": studied, "banks": form.offered()},
    )
