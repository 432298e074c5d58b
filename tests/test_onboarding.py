"""The first-run path after sign-up and the signed-in home page's "what to do next"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile
from content.services import lessons_sync
from quizzes.models import ReviewLog
from sandbox.models import LabProgress
from tests.quizzes.factories import make_bank, make_questions
from tests.quizzes.helpers import review_post

pytestmark = pytest.mark.django_db


def sign_up(client, username: str = "newcomer") -> User:
    response = client.post(
        reverse("signup"),
        {"username": username, "password1": "Hsm-and-kms-42", "password2": "Hsm-and-kms-42"},
    )
    assert response.headers["Location"] == reverse("welcome")
    return User.objects.get(username=username)


def test_sign_up_starts_the_first_run_path_at_the_exam_step(client):
    user = sign_up(client)
    assert user.profile.setup_step == Profile.SetupStep.EXAM
    response = client.get(reverse("welcome"))
    assert response.headers["Location"] == reverse("welcome_step", args=["exam"])
    page = client.get(reverse("welcome_step", args=["exam"])).text
    assert "Which exam, and when?" in page
    assert "step 1 of 4" in page


def test_an_exam_date_in_the_past_is_a_field_error_and_nothing_moves(client):
    user = sign_up(client)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    response = client.post(
        reverse("welcome_step", args=["exam"]),
        {"target_exam": "SCS-C03", "exam_date": yesterday.isoformat(), "time_zone": "UTC"},
    )
    assert response.status_code == 200
    assert "The exam date is in the past" in response.text
    user.profile.refresh_from_db()
    assert user.profile.exam_date is None
    assert user.profile.setup_step == Profile.SetupStep.EXAM


def test_the_steps_save_their_answers_and_move_on(client):
    bank = make_bank(default=False)
    user = sign_up(client)
    exam_day = timezone.localdate() + dt.timedelta(days=30)
    response = client.post(
        reverse("welcome_step", args=["exam"]),
        {"target_exam": "SAP-C02", "exam_date": exam_day.isoformat(), "time_zone": "Europe/Paris"},
    )
    assert response.headers["Location"] == reverse("welcome_step", args=["banks"])
    response = client.post(reverse("welcome_step", args=["banks"]), {"banks": [bank.pk]})
    assert response.headers["Location"] == reverse("welcome_step", args=["cards"])
    profile = Profile.objects.get(user=user)
    assert (profile.target_exam, profile.exam_date, profile.time_zone) == (
        "SAP-C02",
        exam_day,
        "Europe/Paris",
    )
    assert list(user.bank_subscriptions.values_list("bank_id", flat=True)) == [bank.pk]
    assert profile.setup_step == Profile.SetupStep.CARDS
    # Going back to an earlier step and saving it again does not move the learner backwards.
    client.post(
        reverse("welcome_step", args=["exam"]),
        {"target_exam": "SAP-C02", "exam_date": exam_day.isoformat(), "time_zone": "UTC"},
    )
    assert Profile.objects.get(user=user).setup_step == Profile.SetupStep.CARDS


def test_every_page_reminds_the_learner_until_setup_is_done(client):
    sign_up(client)
    assert "Continue setup" in client.get(reverse("lesson_list")).text
    assert "Continue setup" not in client.get(reverse("welcome_step", args=["exam"])).text
    for step in ("exam", "banks", "cards", "lab"):
        Profile.objects.update(setup_step=step)
        client.post(
            reverse("welcome_step", args=[step]),
            {"target_exam": "SCS-C03", "time_zone": "UTC"},
        )
    assert Profile.objects.get().setup_step == Profile.SetupStep.DONE
    assert "Continue setup" not in client.get(reverse("lesson_list")).text
    assert client.get(reverse("welcome")).headers["Location"] == reverse("home")


def test_an_unknown_step_is_a_404(client):
    sign_up(client)
    assert client.get("/welcome/nonsense/").status_code == 404


def test_the_cards_step_counts_the_first_five_reviews(client):
    user = sign_up(client)
    Profile.objects.update(setup_step="cards")
    page = client.get(reverse("welcome_step", args=["cards"])).text
    assert "0 of 5 reviewed" in page and "Skip for now" in page
    make_questions(make_bank(), 6)
    for _ in range(6):
        response, _ = review_post(client, answer={"choice": "0", "rating": "3"})
        assert response.status_code in (200, 302)
    assert ReviewLog.objects.filter(user=user).count() == 6
    page = client.get(reverse("welcome_step", args=["cards"])).text
    assert "5 of 5 reviewed" in page and "Next: your first lab" in page


def test_accounts_made_before_the_path_existed_are_not_sent_through_it(client, learner):
    client.force_login(learner)
    assert "Continue setup" not in client.get(reverse("home")).text


def test_the_home_page_says_what_to_do_next(client, learner):
    lessons_sync()
    make_questions(make_bank(), 3)
    client.force_login(learner)
    page = client.get(reverse("home")).text
    assert "What to do next" in page
    assert "Review 3 cards" in page and "0 due, 3 new" in page
    assert "Read “" in page and "0 of 7 lessons understood" in page
    assert "Start lab 1: KMS basics" in page
    assert "Set your exam date" in page

    Profile.objects.filter(user=learner).update(
        exam_date=timezone.localdate() + dt.timedelta(days=12)
    )
    LabProgress.objects.create(user=learner, lab_slug="cloudhsm-cluster", passed_steps=["a"])
    page = client.get(reverse("home")).text
    assert "Your exam is in 12 days" in page
    assert "Continue lab 5: A CloudHSM cluster across two Availability Zones" in page
    assert "1 of " in page


def test_with_nothing_due_the_home_page_offers_the_drill(client, learner):
    client.force_login(learner)
    page = client.get(reverse("home")).text
    assert "All caught up" in page and reverse("drill") in page


def test_signed_out_visitors_see_what_the_product_is(client):
    page = client.get(reverse("home")).text
    assert "Know it cold on exam day" in page and "What to do next" not in page


def test_empty_states_say_what_to_do(client, learner):
    client.force_login(learner)
    assert "Choose an exam above and start it" in client.get(reverse("exam_list")).text
    labs = client.get(reverse("sandbox_labs")).text
    assert "Not started yet? Begin with" in labs and "/sandbox/labs/kms-basics/" in labs
    LabProgress.objects.create(user=learner, lab_slug="kms-basics")
    assert "Not started yet?" not in client.get(reverse("sandbox_labs")).text
    assert (
        "Create one below to call this sandbox" in client.get(reverse("sandbox_credentials")).text
    )
    assert "An instructor publishes banks" in client.get(reverse("review_banks")).text
