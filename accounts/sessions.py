"""Django's database session store, with the per-request read done in one cheap statement
(``accounts.sql.live_session``); writes, expiry and cleanup are Django's own."""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session

from .sql import live_session


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Session | None:
        session = live_session(self.session_key) if self.session_key else None
        if session is None:
            self._session_key = None
        return session
