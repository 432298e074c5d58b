"""The engine's ``Storage`` protocol over the database, one instance per request and account.

Reads go through a small cache and writes are buffered until :meth:`OrmStorage.flush`, which
the caller runs inside the same transaction that holds the account's row lock (see
``services.sandbox_call``). One engine call therefore costs a handful of queries however many
times the engine reads and rewrites the same record, and a crash before ``flush`` leaves the
database untouched.

The reads and the event inserts are the hot path of every KMS request, so they are plain SQL
statements built once from the models' metadata (the ORM's query compilation cost more than
the queries themselves); values still go through the model fields' own conversions.
"""

from __future__ import annotations

import builtins
import copy
import json
from functools import cache
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts.sql import model_field

from .models import SandboxAccount, SandboxEvent, SandboxObject

JSON = dict[str, Any]

SUCCESS_RESULTS = frozenset({"", "success", "ok", "ckr_ok", "succeeded", "allow", "allowed"})
# Kinds small enough (the sandbox quotas bound them) to read together on first use: one query
# serves the key, its aliases, grants and the due-work schedule that every KMS call reads.
# Key material versions (kms.material) stay out: they are read one by one, rarely.
PRELOADED_KINDS = ("kms.alias", "kms.grant", "kms.key", "kms.keystore", "kms.schedule", "kms.tags")
EVENT_COLUMNS = (
    "account",
    "log",
    "operation",
    "result",
    "succeeded",
    "principal",
    "event_time",
    "data",
    "recorded_at",
)


def event_succeeded(event: JSON) -> bool:
    """Whether an engine event records a success (the engine writes an error code otherwise)."""
    result = str(event.get("result") or "").strip().lower()
    return result in SUCCESS_RESULTS


class _Undecoded:
    """A record as the database returned it, decoded on first access: a preload reads every
    small KMS record, but a request usually needs two of them."""

    __slots__ = ("raw",)

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def decode(self) -> JSON:
        """A fresh object on every call (callers may mutate it)."""
        # SQLite returns JSON as text; PostgreSQL drivers may already return Python objects.
        raw = self.raw
        if isinstance(raw, (str, bytes, bytearray)):
            decoded: JSON = json.loads(raw)
            return decoded
        copied: JSON = copy.deepcopy(raw)
        return copied


@cache
def _object_sql() -> dict[str, str]:
    quote = connection.ops.quote_name
    meta = SandboxObject._meta
    table = quote(meta.db_table)
    account, kind, object_id, data = (
        quote(str(model_field(SandboxObject, name).column))
        for name in ("account", "kind", "object_id", "data")
    )
    # Identifiers come from model metadata; every value is a query parameter.
    select = f"SELECT {kind}, {object_id}, {data} FROM {table} WHERE {account} = %s"  # noqa: S608
    in_list = ", ".join(["%s"] * len(PRELOADED_KINDS))
    return {
        "group": f"{select} AND {kind} IN ({in_list})",
        "kind": f"{select} AND {kind} = %s",
        "one": f"{select} AND {kind} = %s AND {object_id} = %s",
        "all": select,
    }


@cache
def _object_write_sql() -> dict[str, str]:
    """The upsert and the delete of one record. ``INSERT ... ON CONFLICT DO UPDATE`` is the
    same on SQLite and PostgreSQL, and it is the statement ``bulk_create(update_conflicts=
    True)`` sends, without the ORM's cost of building it on every write."""
    quote = connection.ops.quote_name
    table = quote(SandboxObject._meta.db_table)
    account, kind, object_id, data, updated_at = (
        quote(str(model_field(SandboxObject, name).column))
        for name in ("account", "kind", "object_id", "data", "updated_at")
    )
    return {
        "upsert": f"INSERT INTO {table} ({account}, {kind}, {object_id}, {data}, {updated_at}) "  # noqa: S608
        f"VALUES (%s, %s, %s, %s, %s) ON CONFLICT ({account}, {kind}, {object_id}) "
        f"DO UPDATE SET {data} = excluded.{data}, {updated_at} = excluded.{updated_at}",
        "delete": f"DELETE FROM {table} WHERE {account} = %s AND {kind} = %s "  # noqa: S608
        f"AND {object_id} = %s",
    }


@cache
def _event_insert_sql() -> str:
    quote = connection.ops.quote_name
    meta = SandboxEvent._meta
    columns = ", ".join(
        quote(str(model_field(SandboxEvent, name).column)) for name in EVENT_COLUMNS
    )
    values = ", ".join(["%s"] * len(EVENT_COLUMNS))
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({values})"  # noqa: S608


class OrmStorage:
    """``emulator.core.Storage`` backed by ``SandboxObject`` and ``SandboxEvent`` rows."""

    def __init__(self, account: SandboxAccount) -> None:
        self.account = account
        # (kind, object_id) -> record, or None for "known not to exist / deleted".
        self._cache: dict[tuple[str, str], JSON | _Undecoded | None] = {}
        self._loaded_kinds: set[str] = set()
        self._dirty: set[tuple[str, str]] = set()
        self._new_events: list[tuple[str, JSON]] = []

    def __repr__(self) -> str:
        return f"OrmStorage(account={self.account.account_id})"

    def _rows(self, statement: str, *params: Any) -> list[tuple[str, str, _Undecoded]]:
        with connection.cursor() as cursor:
            cursor.execute(_object_sql()[statement], [self.account.pk, *params])
            return [(kind, object_id, _Undecoded(data)) for kind, object_id, data in cursor]

    def _record(self, key: tuple[str, str]) -> JSON | None:
        record = self._cache[key]
        if isinstance(record, _Undecoded):
            record = self._cache[key] = record.decode()
        return record

    # --- objects --------------------------------------------------------------------------

    def _load(self, kind: str) -> None:
        if kind in self._loaded_kinds:
            return
        if kind in PRELOADED_KINDS:
            rows = self._rows("group", *PRELOADED_KINDS)
            self._loaded_kinds.update(PRELOADED_KINDS)
        else:
            rows = self._rows("kind", kind)
            self._loaded_kinds.add(kind)
        for row_kind, object_id, data in rows:
            # Records this request already changed win over the database copy.
            self._cache.setdefault((row_kind, object_id), data)

    def get(self, kind: str, object_id: str) -> JSON | None:
        key = (kind, object_id)
        if kind in PRELOADED_KINDS:
            self._load(kind)
        if key not in self._cache:
            if kind in self._loaded_kinds:
                return None
            rows = self._rows("one", kind, object_id)
            self._cache[key] = rows[0][2] if rows else None
        record = self._cache[key]
        if isinstance(record, _Undecoded):
            # Decoding the stored text yields a fresh copy: no deepcopy needed.
            return record.decode()
        return copy.deepcopy(record) if record is not None else None

    def put(self, kind: str, object_id: str, data: JSON) -> None:
        key = (kind, object_id)
        self._cache[key] = copy.deepcopy(data)
        self._dirty.add(key)

    def delete(self, kind: str, object_id: str) -> None:
        key = (kind, object_id)
        self._cache[key] = None
        self._dirty.add(key)

    def list(self, kind: str) -> list[tuple[str, JSON]]:
        self._load(kind)
        keys = sorted(
            key for key, record in self._cache.items() if key[0] == kind and record is not None
        )
        found = [(key[1], self._record(key)) for key in keys]
        return [
            (object_id, copy.deepcopy(record)) for object_id, record in found if record is not None
        ]

    def records(self) -> dict[str, dict[str, JSON]]:
        """Every record of the account, ``{kind: {object id: record}}``, read in one query,
        with what this request has read or changed so far taking precedence."""
        grouped: dict[str, dict[str, JSON]] = {}
        for kind, object_id, data in self._rows("all"):
            grouped.setdefault(kind, {})[object_id] = data.decode()
        for kind, object_id in list(self._cache):
            record = self._record((kind, object_id))
            if record is None:
                grouped.get(kind, {}).pop(object_id, None)
            else:
                grouped.setdefault(kind, {})[object_id] = copy.deepcopy(record)
        return grouped

    # --- events ---------------------------------------------------------------------------

    def append_event(self, log: str, event: JSON) -> None:
        self._new_events.append((log, copy.deepcopy(event)))

    def events(self, log: str) -> builtins.list[JSON]:
        stored = list(
            SandboxEvent.objects.filter(account=self.account, log=log)
            .order_by("id")
            .values_list("data", flat=True)
        )
        return stored + [copy.deepcopy(event) for name, event in self._new_events if name == log]

    # --- writing back ---------------------------------------------------------------------

    @property
    def has_changes(self) -> bool:
        return bool(self._dirty or self._new_events)

    def flush(self) -> None:
        """Write buffered changes; call inside the transaction holding the account lock."""
        data_field = model_field(SandboxObject, "data")
        updated_at = model_field(SandboxObject, "updated_at").get_db_prep_save(
            timezone.now(), connection
        )
        upserts: list[list[Any]] = []
        deletions: list[list[Any]] = []
        for kind, object_id in sorted(self._dirty):
            record = self._record((kind, object_id))
            if record is None:
                deletions.append([self.account.pk, kind, object_id])
            else:
                data = data_field.get_db_prep_save(record, connection)
                upserts.append([self.account.pk, kind, object_id, data, updated_at])
        statements = _object_write_sql()
        with connection.cursor() as cursor:
            if deletions:
                cursor.executemany(statements["delete"], deletions)
            if upserts:
                cursor.executemany(statements["upsert"], upserts)
        if self._new_events:
            self._insert_events()
        self._dirty.clear()
        self._new_events.clear()

    def _insert_events(self) -> None:
        fields = [model_field(SandboxEvent, name) for name in EVENT_COLUMNS]
        now = timezone.now()
        rows = []
        for log, event in self._new_events:
            values = (
                self.account.pk,
                log,
                str(event.get("operation") or "")[:100],
                str(event.get("result") or "")[:100],
                event_succeeded(event),
                str(event.get("principal") or "")[:300],
                str(event.get("time") or "")[:40],
                event,
                now,
            )
            rows.append(
                [
                    field.get_db_prep_save(value, connection)
                    for field, value in zip(fields, values, strict=True)
                ]
            )
        with connection.cursor() as cursor:
            cursor.executemany(_event_insert_sql(), rows)
