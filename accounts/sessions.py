"""Django's database session store over ``accounts.models.Session``: the request's session and
its signed-in user are read in one statement (``accounts.sql.session_with_user``); writes,
expiry and cleanup are Django's own."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends import db
from django.core.exceptions import ValidationError

from .models import Session
from .sql import session_with_user


class SessionStore(db.SessionStore):
    #: The signed-in user read with the session, for ``backends.ModelBackendWithProfile``.
    preloaded_user: User | None = None

    @classmethod
    def get_model_class(cls) -> type[Session]:
        return Session

    def create_model_instance(self, data: dict[str, Any]) -> Session:
        session: Session = super().create_model_instance(data)
        try:
            session.user_id = User._meta.pk.to_python(data.get(SESSION_KEY))  # type: ignore[attr-defined]
        except ValidationError:
            session.user_id = None  # type: ignore[attr-defined]
        return session

    def load(self) -> dict[str, Any]:
        found = session_with_user(self.session_key) if self.session_key else None
        if found is None:
            self._session_key = None
            return {}
        data, self.preloaded_user = found
        decoded: dict[str, Any] = self.decode(data)
        return decoded
