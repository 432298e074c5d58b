from __future__ import annotations

import datetime as dt

import pytest

from .factories import make_bank, make_question

FROZEN = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The personas are created with passwords; PBKDF2 would cost ~1 s per test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def bank(db):
    return make_bank()


@pytest.fixture
def single(bank):
    return make_question(bank, "single")


@pytest.fixture
def frozen_now(monkeypatch):
    """Freeze ``django.utils.timezone.now`` (what views read) at a movable instant."""
    from django.utils import timezone

    clock = {"now": FROZEN}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])

    class Clock:
        @property
        def now(self) -> dt.datetime:
            return clock["now"]

        def set(self, moment: dt.datetime) -> None:
            clock["now"] = moment

        def advance(self, **delta: float) -> dt.datetime:
            clock["now"] = clock["now"] + dt.timedelta(**delta)
            return clock["now"]

    return Clock()
