from __future__ import annotations

import zoneinfo

from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from .backends import preloaded_user


def _signed_in_user(request):
    """``auth.get_user``, handing it the user the session store read with the session."""
    if not hasattr(request, "_cached_user"):
        request.session.get(auth.SESSION_KEY)  # loads the session, and with it the user
        token = preloaded_user.set(getattr(request.session, "preloaded_user", None))
        try:
            request._cached_user = auth.get_user(request)
        finally:
            preloaded_user.reset(token)
    return request._cached_user


class SessionUserAuthenticationMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware; the user comes from the session's own read."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _signed_in_user(request))


class UserTimezoneMiddleware:
    """Show times in the learner's own time zone (from their profile)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = None
        if request.user.is_authenticated:
            profile = getattr(request.user, "profile", None)
            name = profile.time_zone if profile else None
        try:
            timezone.activate(zoneinfo.ZoneInfo(name)) if name else timezone.deactivate()
        except zoneinfo.ZoneInfoNotFoundError:
            timezone.deactivate()
        return self.get_response(request)
