"""Request types for views: what middleware adds to ``HttpRequest``, spelled out for mypy."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    htmx: HtmxDetails


class AuthenticatedRequest(HtmxRequest):
    """A request behind ``login_required``: ``request.user`` is a signed-in ``User``."""

    user: User
