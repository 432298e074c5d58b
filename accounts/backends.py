"""Django's ModelBackend, with the per-request user load done in one cheap statement."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User

from .sql import user_with_profile


class ModelBackendWithProfile(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        user = user_with_profile(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
