"""Django's ModelBackend, with the per-request user load done in one cheap statement, or in
none when the session store read the user with the session."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User

from .sql import user_with_profile

#: The user the session store read with this request's session (set by the middleware
#: around ``auth.get_user`` only).
preloaded_user: ContextVar[User | None] = ContextVar("preloaded_user", default=None)


class ModelBackendWithProfile(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        user = preloaded_user.get()
        if user is None or str(user.pk) != str(user_id):
            user = user_with_profile(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
