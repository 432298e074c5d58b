"""The first-run path after sign-up (exam and date, banks, first five cards, first lab) and
the signed-in home page's "what to do next". It reads from every app, which is why it lives in
the project package; the only thing it writes is the setup step, through accounts' service."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from accounts.forms import ExamPlanForm
from accounts.models import Profile
from accounts.services import profile_for, setup_step_set
from content.models import Lesson
from content.selectors import understood_lesson_ids
from quizzes.forms_learn import BankChoiceForm
from quizzes.review_pages import learner_for, review_queue
from quizzes.selectors import review_logs
from quizzes.services_review import bank_subscriptions_set
from sandbox.labs import LABS
from sandbox.models import LabProgress

Step = Profile.SetupStep
STEPS = (Step.EXAM, Step.BANKS, Step.CARDS, Step.LAB)
FIRST_CARDS = 5
FIRST_LAB = LABS[0]


@dataclass(frozen=True)
class NextStep:
    kind: str  # setup, review, lesson, lab or exam
    title: str
    detail: str
    url: str
    action: str


def setup_step(user: Any) -> str:
    # UserTimezoneMiddleware has loaded the profile for this request already.
    profile = getattr(user, "profile", None)
    return profile.setup_step if profile else Step.DONE


def step_number(step: str) -> int:
    return STEPS.index(Step(step)) + 1


def step_after(step: str) -> str:
    number = step_number(step)
    return STEPS[number] if number < len(STEPS) else Step.DONE


@dataclass
class StepPage:
    """One step of the first-run path: its form (if any) and what the page shows."""

    step: str
    form: Any
    context: dict[str, Any]

    def save(self, user: Any) -> str:
        """Keep the step's answers and move on; returns the URL of what comes next."""
        if self.step == Step.EXAM:
            self.form.save()
        elif self.step == Step.BANKS:
            bank_subscriptions_set(
                user=user, bank_ids=[b.pk for b in self.form.cleaned_data["banks"]]
            )
        following = step_after(self.step)
        if _position(following) > _position(setup_step(user)):
            setup_step_set(user=user, step=following)
        if following == Step.DONE:
            return reverse("home")
        return reverse("welcome_step", args=[following])


def _position(step: str) -> int:
    return len(STEPS) + 1 if step == Step.DONE else step_number(step)


def step_page(user: Any, step: str, data: Any = None) -> StepPage:
    """The page for ``step``, bound to ``data`` when the learner submitted it."""
    form: Any = None
    if step == Step.EXAM:
        form = ExamPlanForm(data, instance=profile_for(user))
    elif step == Step.BANKS:
        chosen = list(user.bank_subscriptions.values_list("bank_id", flat=True))
        form = BankChoiceForm(data, initial={"banks": chosen})
    current = setup_step(user)
    context = {
        "step": step,
        "form": form,
        "steps": [
            {"step": s, "label": s.label, "number": n, "reached": n <= _position(current)}
            for n, s in enumerate(STEPS, start=1)
        ],
        "number": step_number(step),
        "total": len(STEPS),
        "cards_reviewed": first_cards_reviewed(user) if step == Step.CARDS else 0,
        "first_cards": FIRST_CARDS,
        "lab": FIRST_LAB,
    }
    if form is not None and step == Step.BANKS:
        context["banks"] = form.offered()
    return StepPage(step, form, context)


def first_cards_reviewed(user: Any) -> int:
    return min(FIRST_CARDS, review_logs(user).count())


def setup_banner(user: Any) -> dict[str, Any] | None:
    """The reminder shown on every page while the first-run path is unfinished."""
    step = setup_step(user)
    if step == Step.DONE:
        return None
    banner = {"number": step_number(step), "total": len(STEPS), "label": Step(step).label}
    if step == Step.CARDS:
        banner["label"] += f" ({first_cards_reviewed(user)} of {FIRST_CARDS} done)"
    return banner


def next_steps_for(user: Any, today: dt.date) -> list[NextStep]:
    """What the learner should do now, most useful first."""
    found = [_setup(user), _review(user), _lesson(user), _lab(user), _exam(user, today)]
    return [step for step in found if step is not None]


def _setup(user: Any) -> NextStep | None:
    banner = setup_banner(user)
    if banner is None:
        return None
    detail = f"Step {banner['number']} of {banner['total']}: {banner['label']}."
    return NextStep("setup", "Finish setting up", detail, reverse("welcome"), "Continue")


def _review(user: Any) -> NextStep:
    queue = review_queue(user, learner_for(user), pick=False)
    if not queue.remaining:
        detail = "No cards are due. Come back tomorrow, or drill the keywords now."
        return NextStep("review", "All caught up", detail, reverse("drill"), "Drill keywords")
    plural = "card" if queue.remaining == 1 else "cards"
    detail = f"{queue.due_count} due, {queue.new_count} new. About a minute each."
    return NextStep(
        "review", f"Review {queue.remaining} {plural}", detail, reverse("review"), "Review now"
    )


def _lesson(user: Any) -> NextStep | None:
    lessons = list(Lesson.objects.only("slug", "title", "order", "word_count"))
    understood = understood_lesson_ids(user=user)
    unread = [lesson for lesson in lessons if lesson.pk not in understood]
    if not unread:
        return None
    lesson = unread[0]
    detail = f"{len(understood)} of {len(lessons)} lessons understood · {lesson.reading_minutes} min read."
    return NextStep("lesson", f"Read “{lesson.title}”", detail, lesson.get_absolute_url(), "Read")


def _lab(user: Any) -> NextStep | None:
    progress = {p.lab_slug: p for p in LabProgress.objects.filter(user=user)}
    started = [lab for lab in LABS if lab.slug in progress and not progress[lab.slug].is_complete]
    if started:
        lab = max(started, key=lambda lab: progress[lab.slug].started_at)
        detail = f"{len(progress[lab.slug].passed_steps)} of {len(lab.steps)} steps passed."
        url = reverse("sandbox_lab", args=[lab.slug])
        return NextStep("lab", f"Continue lab {lab.number}: {lab.title}", detail, url, "Continue")
    fresh = [lab for lab in LABS if lab.slug not in progress]
    if not fresh:
        return None
    lab = fresh[0]
    url = reverse("sandbox_lab", args=[lab.slug])
    return NextStep("lab", f"Start lab {lab.number}: {lab.title}", lab.summary, url, "Open the lab")


def _exam(user: Any, today: dt.date) -> NextStep:
    profile = getattr(user, "profile", None)
    if profile is None or profile.exam_date is None or profile.exam_date < today:
        detail = "Reviews are planned around it, and the home page counts down."
        return NextStep("exam", "Set your exam date", detail, reverse("profile"), "Set the date")
    days = (profile.exam_date - today).days
    when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
    detail = f"{profile.get_target_exam_display()}. A timed mock exam shows where you stand."
    return NextStep(
        "exam", f"Your exam is {when}", detail, reverse("exam_list"), "Take a mock exam"
    )
