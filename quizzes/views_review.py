"""Spaced-repetition review: question → answer → feedback → next.

Every page works as plain HTML forms (POST, then redirect). With htmx the card region
(``quizzes/review.html#card``) is swapped in place instead.
"""

from __future__ import annotations

import functools
import random
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.messages import get_messages
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from accounts.models import Profile

from . import sql
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
from .models import Card, KeywordDrill, Question, QuestionRevision, ReviewLog, ReviewSettings
from .presenters import show_question
from .selectors import (
    ReviewQueue,
    is_studied,
    leech_contrast_drills,
    study_bank_ids_for,
    study_banks_for,
)
from .services_review import (
    StaleCardError,
    bank_subscriptions_set,
    leech_contrast_submit,
    review_answer_submit,
    review_queue_refresh,
    review_settings_for,
    review_settings_update,
    review_undo,
)


@functools.cache
def review_urls() -> dict[str, str]:
    """The links of the review card, reversed once per process (like the site navigation)."""
    names = ["review", "review_answer", "review_undo", "drill", "exam_list", "dashboard"]
    return {name: reverse(name) for name in names}


@functools.cache
def review_study_nav() -> str:
    """The study navigation of the review page: the same for every learner, rendered once."""
    return loader.render_to_string("quizzes/_study_nav.html", {"active": "review"})


def render_region(
    request: HttpRequest, template: str, region: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """The whole page, or only its ``region`` partial for an htmx request.

    The region is rendered without the context processors: they serve the page around it
    (navigation, roles), and skipping them saves a query on every swap. It gets the little
    it uses from them here: ``request``, ``csrf_token`` and ``messages``.
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


def new_submission_id() -> str:
    return uuid.uuid4().hex


def _now_ms() -> int:
    return int(timezone.now().timestamp() * 1000)


@dataclass(frozen=True)
class Learner:
    """What every review request reads about the signed-in learner, read once."""

    settings: ReviewSettings
    banks: dict[int, int]
    profile: Profile | None

    @property
    def time_zone(self) -> str:
        return self.profile.time_zone if self.profile else "UTC"


def _learner(request: HttpRequest) -> Learner:
    return Learner(
        settings=review_settings_for(user=request.user),
        banks=study_banks_for(user=request.user),
        # UserTimezoneMiddleware has loaded it for this request already.
        profile=getattr(request.user, "profile", None),
    )


def _review_queue(request: HttpRequest, learner: Learner, *, pick: bool = True) -> ReviewQueue:
    return review_queue_refresh(
        user=request.user,
        now=timezone.now(),
        new_cards_per_day=learner.settings.new_cards_per_day,
        pick=pick,
        banks=learner.banks,
        settings=learner.settings,
        time_zone=learner.time_zone,
    )


_META_FIELDS = ("revision", "version", "submission_id", "shown", "started")


def _hidden_inputs(values: dict[str, Any]) -> str:
    """The answer form's hidden fields as ``ReviewMetaForm`` renders them, minus its templates."""
    inputs = []
    for name in _META_FIELDS:
        value = values.get(name)
        if value is None or value == "":
            inputs.append(format_html('<input type="hidden" name="{}" id="id_{}">', name, name))
        else:
            inputs.append(
                format_html(
                    '<input type="hidden" name="{}" value="{}" id="id_{}">', name, value, name
                )
            )
    return mark_safe("".join(inputs))  # noqa: S308 - each part escaped by format_html


def _question_context(
    question: Question,
    revision: QuestionRevision,
    view: Any,
    *,
    hidden: dict[str, Any],
    form: AnswerForm | None = None,
    guessed: bool = False,
) -> dict[str, Any]:
    return {
        "mode": "question",
        "question": question,
        "revision": revision,
        "view": view,
        "form": form,
        "hidden_inputs": _hidden_inputs(hidden),
        "guessed": guessed,
    }


# --- the review page -------------------------------------------------------------------


def _queue_context(request: HttpRequest, learner: Learner | None = None) -> dict[str, Any]:
    queue = _review_queue(request, learner or _learner(request))
    context: dict[str, Any] = {"queue": queue, "mode": "done"}
    if queue.question is None:
        return context
    card = queue.card
    if card is not None and card.leech:
        context.update(_leech_context(card))
        return context
    question = queue.question
    revision = question.current_revision
    shown = list(range(display_size(revision.data)))
    random.shuffle(shown)
    hidden = {
        "revision": revision.pk,
        "version": card.version if card else 0,
        "submission_id": new_submission_id(),
        "shown": ",".join(str(i) for i in shown),
        "started": _now_ms(),
    }
    context.update(
        _question_context(
            question,
            revision,
            show_question(revision.data, revision.rendered, shown),
            hidden=hidden,
        )
    )
    return context


@login_required
def review(request: HttpRequest) -> HttpResponse:
    return render_region(request, "quizzes/review.html", "card", _queue_context(request))


def _studied_revision(request: HttpRequest, revision_id: int, learner: Learner) -> QuestionRevision:
    revision = sql.revision_with_question(revision_id)
    if revision is None or not is_studied(revision.question, learner.banks):
        raise Http404("Not one of your questions.")
    return revision


@login_required
@require_POST
def review_answer(request: HttpRequest) -> HttpResponse:
    meta = ReviewMetaForm(request.POST)
    if not meta.is_valid():
        messages.error(request, "That answer form was incomplete; here is the next card.")
        return _back_to_queue(request)
    learner = _learner(request)
    revision = _studied_revision(request, meta.cleaned_data["revision"], learner)
    shown = shown_order_parse(meta.cleaned_data["shown"], display_size(revision.data))
    if shown is None:
        shown = list(range(display_size(revision.data)))
    form = AnswerForm(request.POST, question_data=revision.data)
    if not form.is_valid():
        context = _queue_context(request, learner)
        context.update(
            _question_context(
                revision.question,
                revision,
                show_question(revision.data, revision.rendered, shown, answer=form.answer),
                hidden={name: meta[name].value() for name in _META_FIELDS},
                form=form,
                guessed=bool(meta.cleaned_data["guessed"]),
            )
        )
        return render_region(request, "quizzes/review.html", "card", context)
    now = timezone.now()
    duration_ms = int(now.timestamp() * 1000) - meta.cleaned_data["started"]
    try:
        outcome = review_answer_submit(
            user=request.user,
            revision=revision,
            answer=form.cleaned_data["answer"],
            guessed=meta.cleaned_data["guessed"],
            duration_ms=duration_ms,
            submission_id=meta.cleaned_data["submission_id"],
            seen_version=meta.cleaned_data["version"],
            now=now,
            settings=learner.settings,
            profile=learner.profile,
        )
    except StaleCardError:
        messages.warning(request, "You already answered that card in another tab or window.")
        return _back_to_queue(request, learner)
    if not request.htmx:
        url = reverse("review_feedback", args=[outcome.log.pk])
        return redirect(f"{url}?shown={','.join(str(i) for i in shown)}")
    context = _feedback_context(
        request,
        outcome.log,
        shown,
        became_leech=outcome.became_leech,
        learner=learner,
        # An answer just written is the latest one; a repeated submission is looked up.
        latest=None if outcome.duplicate else outcome.log.pk,
    )
    return render_region(request, "quizzes/review.html", "card", context)


def _back_to_queue(request: HttpRequest, learner: Learner | None = None) -> HttpResponse:
    if request.htmx:
        return render_region(
            request, "quizzes/review.html", "card", _queue_context(request, learner)
        )
    return redirect("review")


def _feedback_context(
    request: HttpRequest,
    log: ReviewLog,
    shown: list[int],
    *,
    became_leech: bool = False,
    learner: Learner | None = None,
    latest: int | None = None,
) -> dict[str, Any]:
    queue = _review_queue(request, learner or _learner(request), pick=False)
    revision = log.revision
    if latest is None:
        latest = (
            ReviewLog.objects.filter(user=request.user, voided_at__isnull=True)
            .order_by("-reviewed_at", "-id")
            .values_list("pk", flat=True)
            .first()
        )
    return {
        "queue": queue,
        "mode": "feedback",
        "log": log,
        "card": log.card,
        "revision": revision,
        "view": show_question(
            revision.data, revision.rendered, shown, answer=log.chosen, reveal=True
        ),
        "rating_label": RATING_LABELS.get(log.rating, ""),
        "can_undo": log.voided_at is None and latest == log.pk,
        "became_leech": became_leech or (log.card.leech and not log.correct),
    }


RATING_LABELS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


@login_required
def review_feedback(request: HttpRequest, log_id: int) -> HttpResponse:
    log = get_object_or_404(
        ReviewLog.objects.select_related("revision", "card"),
        pk=log_id,
        user=request.user,
        source=ReviewLog.Source.REVIEW,
    )
    size = display_size(log.revision.data)
    shown = shown_order_parse(request.GET.get("shown", ""), size) or list(range(size))
    return render_region(
        request, "quizzes/review.html", "card", _feedback_context(request, log, shown)
    )


@login_required
@require_POST
def review_undo_view(request: HttpRequest) -> HttpResponse:
    if review_undo(user=request.user, now=timezone.now()):
        messages.success(request, "Undone: that card is back as it was before your answer.")
    else:
        messages.info(request, "There is no answer to undo.")
    return _back_to_queue(request)


# --- leeches ---------------------------------------------------------------------------


def _leech_context(card: Card, *, log: ReviewLog | None = None) -> dict[str, Any]:
    revision = card.question.current_revision
    drills = leech_contrast_drills(question=card.question)
    results = []
    if log is not None:
        chosen = log.chosen if isinstance(log.chosen, dict) else {}
        by_id = {str(drill.pk): drill for drill in KeywordDrill.objects.filter(pk__in=chosen)}
        for key, value in chosen.items():
            drill = by_id.get(key)
            if drill is not None:
                results.append(
                    {
                        "drill": drill,
                        "chosen": dict(KeywordDrill.Answer.choices).get(value, "—"),
                        "ok": value == drill.answer,
                    }
                )
    return {
        "mode": "leech",
        "card": card,
        "revision": revision,
        "view": show_question(
            revision.data,
            revision.rendered,
            list(range(display_size(revision.data))),
            answer=_correct_answer_safe(revision.data),
            reveal=True,
        ),
        "drills": drills,
        "answers": KeywordDrill.Answer.choices,
        "contrast_form": ContrastDrillForm(initial={"submission_id": new_submission_id()}),
        "leech_log": log,
        "leech_results": results,
    }


def _correct_answer_safe(data: dict[str, Any]) -> Any:
    from .grading import correct_answer

    try:
        return correct_answer(data)
    except StopIteration:
        return None


@login_required
def review_leech(request: HttpRequest, card_id: int) -> HttpResponse:
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
        drills = leech_contrast_drills(question=card.question)
        answers = {drill.pk: request.POST.get(f"drill_{drill.pk}", "") for drill in drills}
        outcome = leech_contrast_submit(
            card=card,
            answers=answers,
            drills=drills,
            submission_id=form.cleaned_data["submission_id"],
            now=timezone.now(),
        )
        if outcome.passed:
            messages.success(request, "Contrast drill passed: the card is back in your queue.")
            return _back_to_queue(request)
        if not request.htmx:
            url = reverse("review_leech", args=[card.pk])
            return redirect(f"{url}?log={outcome.log.pk}")
        log = outcome.log
    if not card.leech:
        return redirect("review")
    context = {"queue": None, **_leech_context(card, log=log)}
    return render_region(request, "quizzes/review.html", "card", context)


# --- settings and banks ----------------------------------------------------------------


@login_required
def review_settings_view(request: HttpRequest) -> HttpResponse:
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
def review_banks(request: HttpRequest) -> HttpResponse:
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
        {"form": form, "studied": studied, "banks": form.fields["banks"].queryset},
    )
