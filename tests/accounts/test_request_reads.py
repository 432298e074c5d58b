"""What every signed-in request reads (session, user, profile, instructor role): one statement
each, with the same answers and the same security as Django's own database reads."""

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile, Session, is_instructor
from accounts.sql import session_with_user, user_with_profile

pytestmark = pytest.mark.django_db


def test_the_user_and_profile_read_agree_with_the_orm(learner):
    Profile.objects.filter(user=learner).update(time_zone="Europe/Berlin", setup_step="banks")
    learner.last_login = timezone.now()
    learner.save()
    loaded = user_with_profile(learner.pk)
    expected = User.objects.get(pk=learner.pk)
    for field in User._meta.concrete_fields:
        assert getattr(loaded, field.attname) == getattr(expected, field.attname), field.name
    with CaptureQueriesContext(connection) as queries:
        assert loaded.profile == Profile.objects.get(user=learner)  # one query: this comparison
        assert loaded.profile.time_zone == "Europe/Berlin"
        assert loaded.profile.setup_step == "banks"
        assert not is_instructor(loaded)
    assert len(queries) == 1


def test_a_user_without_a_profile_reads_as_having_none(learner):
    Profile.objects.filter(user=learner).delete()
    loaded = user_with_profile(learner.pk)
    with CaptureQueriesContext(connection) as queries:
        assert getattr(loaded, "profile", None) is None
    assert len(queries) == 0


def test_the_instructor_role_comes_with_the_user(instructor, make_user):
    admin = make_user("admin")
    admin.is_superuser = True
    admin.save()
    with CaptureQueriesContext(connection) as queries:
        assert is_instructor(user_with_profile(instructor.pk))
        assert is_instructor(user_with_profile(admin.pk))
    assert len(queries) == 2


def test_unknown_or_tampered_user_ids_read_as_no_user(learner):
    assert user_with_profile(learner.pk + 1000) is None
    assert user_with_profile("1 OR 1=1") is None


def test_a_signed_in_request_reads_its_session_and_user_in_one_statement(client, learner):
    client.force_login(learner)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("ping"))
    assert response.status_code == 200
    statements = [query["sql"] for query in queries]
    assert len(statements) == 1, statements  # with cache sessions: the user alone
    assert User._meta.db_table in statements[0]
    if not settings.SESSION_ENGINE.endswith(".cache"):
        assert Session._meta.db_table in statements[0]


@pytest.mark.skipif(settings.SESSION_ENGINE.endswith(".cache"), reason="database sessions only")
def test_the_session_row_names_its_user_and_goes_with_the_user(client, learner, other_learner):
    client.force_login(learner)
    key = client.session.session_key
    assert Session.objects.get(pk=key).user == learner
    # The user id signed into the session data decides, not the column beside it.
    Session.objects.filter(pk=key).update(user=other_learner)
    assert client.get(reverse("profile")).context["user"] == learner
    Session.objects.filter(pk=key).update(user=learner)
    learner.delete()
    assert not Session.objects.filter(pk=key).exists()


def test_an_expired_session_signs_the_learner_out(client, learner):
    client.force_login(learner)
    key = client.session.session_key
    assert session_with_user(key) is not None
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    assert session_with_user(key) is None
    assert client.get(reverse("profile")).status_code == 302


def test_a_deactivated_user_or_a_changed_password_signs_the_learner_out(client, learner):
    client.force_login(learner)
    assert client.get(reverse("profile")).status_code == 200
    learner.set_password("a-new-Secret-456")
    learner.save()
    assert client.get(reverse("profile")).status_code == 302  # the session hash no longer matches

    client.force_login(learner)
    User.objects.filter(pk=learner.pk).update(is_active=False)
    assert client.get(reverse("profile")).status_code == 302


def test_log_out_ends_the_session_on_the_server(client, learner):
    client.force_login(learner)
    key = client.session.session_key
    client.post(reverse("logout"))
    assert session_with_user(key) is None
    assert not Session.objects.filter(pk=key).exists()
