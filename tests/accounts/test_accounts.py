import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse

from accounts.models import Profile, is_instructor

pytestmark = pytest.mark.django_db


def test_sign_up_creates_a_user_with_a_profile_and_logs_in(client):
    response = client.post(
        reverse("signup"),
        {
            "username": "ana",
            "email": "ana@example.com",
            "password1": "Hsm-and-kms-42",
            "password2": "Hsm-and-kms-42",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="ana")
    assert Profile.objects.filter(user=user).exists()
    assert client.get(reverse("profile")).status_code == 200


def test_sign_up_shows_field_errors(client):
    response = client.post(
        reverse("signup"), {"username": "ana", "password1": "abc", "password2": "abd"}
    )
    assert response.status_code == 200
    assert "The two password fields didn’t match." in response.text
    assert not User.objects.filter(username="ana").exists()


def test_login_and_logout(client, learner):
    response = client.post(reverse("login"), {"username": "learner", "password": "pw-Secret-123"})
    assert response.status_code == 302
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("profile")).status_code == 302


def test_profile_requires_login(client):
    response = client.get(reverse("profile"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_profile_saves_time_zone_exam_and_date(client, learner):
    client.force_login(learner)
    response = client.post(
        reverse("profile"),
        {"time_zone": "Europe/Berlin", "target_exam": "SAP-C02", "exam_date": "2027-01-15"},
    )
    assert response.status_code == 302
    learner.profile.refresh_from_db()
    assert learner.profile.time_zone == "Europe/Berlin"
    assert learner.profile.target_exam == "SAP-C02"
    assert str(learner.profile.exam_date) == "2027-01-15"


def test_profile_rejects_an_unknown_time_zone(client, learner):
    client.force_login(learner)
    response = client.post(
        reverse("profile"), {"time_zone": "Mars/Olympus", "target_exam": "SCS-C03"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.text


def test_password_change(client, learner):
    client.force_login(learner)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "pw-Secret-123",
            "new_password1": "New-Secret-456",
            "new_password2": "New-Secret-456",
        },
    )
    assert response.status_code == 302
    learner.refresh_from_db()
    assert learner.check_password("New-Secret-456")


def test_password_reset_sends_a_working_link(client, learner):
    learner.email = "learner@example.com"
    learner.save()
    client.post(reverse("password_reset"), {"email": "learner@example.com"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    response = client.get(link, follow=True)
    assert "Choose a new password" in response.text
    response = client.post(
        response.redirect_chain[-1][0],
        {"new_password1": "Reset-Secret-789", "new_password2": "Reset-Secret-789"},
    )
    assert response.status_code == 302
    learner.refresh_from_db()
    assert learner.check_password("Reset-Secret-789")


def test_roles(learner, instructor, admin_user):
    assert not is_instructor(learner)
    assert is_instructor(instructor)
    assert is_instructor(admin_user)


def test_the_instructor_group_holds_authoring_permissions():
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="Instructors")
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"add_bank", "change_question"} <= codenames


def test_requests_run_in_the_learners_time_zone(rf, learner):
    from django.http import HttpResponse
    from django.utils import timezone

    from accounts.middleware import UserTimezoneMiddleware

    learner.profile.time_zone = "Asia/Tokyo"
    learner.profile.save()
    seen = []

    def view(request):
        seen.append(timezone.get_current_timezone_name())
        return HttpResponse()

    request = rf.get("/")
    request.user = learner
    UserTimezoneMiddleware(view)(request)
    assert seen == ["Asia/Tokyo"]


def test_demo_command_is_harmless_to_run_twice(capsys):
    from django.core.management import call_command

    call_command("load_demo")
    call_command("load_demo")
    out = capsys.readouterr().out
    assert "demo-learner" in out and "demo-instructor" in out
    assert User.objects.filter(username__startswith="demo-").count() == 2
    assert is_instructor(User.objects.get(username="demo-instructor"))
