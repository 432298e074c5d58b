from __future__ import annotations

import logging
import os

import pytest

# Sync Playwright runs an event loop in the test thread; live_server needs DB access there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture
def make_user(django_user_model):
    def make(
        username: str = "learner", *, instructor: bool = False, password: str = "pw-Secret-123"
    ):
        from django.contrib.auth.models import Group

        from accounts.models import INSTRUCTOR_GROUP

        user = django_user_model.objects.create_user(username=username, password=password)
        if instructor:
            group, _ = Group.objects.get_or_create(name=INSTRUCTOR_GROUP)
            user.groups.add(group)
        return user

    return make


@pytest.fixture
def learner(make_user):
    return make_user("learner")


@pytest.fixture
def other_learner(make_user):
    return make_user("other")


@pytest.fixture
def instructor(make_user):
    return make_user("instructor", instructor=True)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Tests never see each other's cached pages or counters."""
    from django.conf import settings

    if not settings.configured:  # engine-only runs with -p no:django
        yield
        return
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def _no_logged_errors(request):
    """An error the app logs (an engine bug turned into friendly text, a 500) fails the test,
    unless the test provokes it on purpose with ``@pytest.mark.logs_errors``."""
    handler = _ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    yield
    root.removeHandler(handler)
    if handler.records and request.node.get_closest_marker("logs_errors") is None:
        first = handler.records[0]
        pytest.fail(f"the app logged an error: {first.name}: {first.getMessage()}", pytrace=False)
