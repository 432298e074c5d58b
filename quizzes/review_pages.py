"""What the review card shows in each of its modes: a question to answer, the feedback after
an answer, a leech's contrast drill, or "done". Views render these; nothing here writes
except through ``services_review.review_queue_refresh`` (cards for new bank questions).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounts.models import Profile

from .forms_learn import AnswerForm, ContrastDrillForm, display_size
from .grading import correct_answer
from .models import Card, KeywordDrill, Question, QuestionRevision, ReviewLog, ReviewSettings
from .presenters import show_question
from .selectors import ReviewQueue, leech_contrast_drills, study_banks_for, study_questions_for
from .services_review import review_queue_refresh, review_settings_for


def new_submission_id() -> str:
    return uuid.uuid4().hex


def now_ms() -> int:
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


def learner_for(user: Any) -> Learner:
    return Learner(
        settings=review_settings_for(user=user),
        banks=study_banks_for(user=user),
        # UserTimezoneMiddleware has loaded it for this request already.
        profile=getattr(user, "profile", None),
    )


def review_queue(user: Any, learner: Learner, *, pick: bool = True) -> ReviewQueue:
    return review_queue_refresh(
        user=user,
        now=timezone.now(),
        new_cards_per_day=learner.settings.new_cards_per_day,
        pick=pick,
        banks=learner.banks,
        settings=learner.settings,
        time_zone=learner.time_zone,
    )


META_FIELDS = ("revision", "version", "submission_id", "shown", "started")


def hidden_inputs(values: dict[str, Any]) -> str:
    """The answer form's hidden fields as ``ReviewMetaForm`` renders them, minus its templates."""
    inputs = []
    for name in META_FIELDS:
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


def question_context(
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
        "hidden_inputs": hidden_inputs(hidden),
        "guessed": guessed,
    }


def queue_context(user: Any, learner: Learner | None = None) -> dict[str, Any]:
    """The review card: the next question, a leech's contrast drill, or done."""
    learner = learner or learner_for(user)
    queue = review_queue(user, learner)
    context: dict[str, Any] = {"queue": queue, "mode": "done"}
    if queue.question is None:
        # An empty queue means "caught up" only when there is something to study at all.
        context["nothing_to_study"] = not study_questions_for(
            user=user, bank_ids=list(learner.banks)
        ).exists()
        return context
    card = queue.card
    if card is not None and card.leech:
        context.update(leech_context(card))
        return context
    question = queue.question
    revision = question.current_revision
    assert revision is not None  # the queue shows only questions with a live revision
    shown = list(range(display_size(revision.data)))
    random.shuffle(shown)
    hidden = {
        "revision": revision.pk,
        "version": card.version if card else 0,
        "submission_id": new_submission_id(),
        "shown": ",".join(str(i) for i in shown),
        "started": now_ms(),
    }
    context.update(
        question_context(
            question,
            revision,
            show_question(revision.data, revision.rendered, shown),
            hidden=hidden,
        )
    )
    return context


def feedback_context(
    user: Any,
    log: ReviewLog,
    shown: list[int],
    *,
    became_leech: bool = False,
    learner: Learner | None = None,
    latest: int | None = None,
) -> dict[str, Any]:
    queue = review_queue(user, learner or learner_for(user), pick=False)
    revision = log.revision
    if latest is None:
        latest = (
            ReviewLog.objects.filter(user=user, voided_at__isnull=True)
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


def leech_context(card: Card, *, log: ReviewLog | None = None) -> dict[str, Any]:
    revision = card.question.current_revision
    assert revision is not None  # a leech is a card that was answered: its question has one
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
    try:
        return correct_answer(data)
    except StopIteration:
        return None
