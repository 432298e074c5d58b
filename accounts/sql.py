"""Hand-written SQL for what every signed-in request reads, and the row helpers it shares with
``quizzes.sql``.

Why: each signed-in request loads its session, its user, the user's profile (time zone,
first-run step) and whether the user is an instructor. Through the ORM those are four
queries whose cost is almost all Python (building, compiling, making instances), more than
the page itself on small pages. Here they are one statement (the session row joined to its
user, profile and role; with cache sessions the user alone), built from the models'
``_meta`` (names) with values as parameters. ``tests/accounts/test_request_reads.py`` checks they agree
with the ORM on SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Field, Model
from django.utils import timezone

from .models import INSTRUCTOR_GROUP, Profile, Session


def select_columns(model: type[Model], alias: str) -> str:
    """``alias.col, …`` for every concrete field of ``model``, in ``_meta`` order."""
    return ", ".join(f"{alias}.{field.column}" for field in model._meta.concrete_fields)


@functools.cache
def _row_reader(
    vendor: str, model: type[Model]
) -> tuple[int, list[str], list[tuple[int, list[Any], Any]]]:
    """(primary key index, attnames, [(index, converters, column)]) of ``model``'s columns.

    The ORM's converters for each field (``get_db_converters``) depend on the backend and
    the field only, so they are looked up once per process.
    """
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        found = field_converters(field)
        if found:
            converters.append((index, found, field.cached_col))
    return fields.index(model._meta.pk), [field.attname for field in fields], converters


def field_converters(field: Field[Any, Any]) -> list[Any]:
    """The ORM's converters of ``field``'s values as the database returns them (time zones,
    JSON, booleans), each called ``convert(value, field.cached_col, connection)``."""
    column = field.cached_col
    return connection.ops.get_db_converters(column) + field.get_db_converters(connection)


def rows_as_models(row: Sequence[Any], models: Sequence[type[Model]]) -> list[Model | None]:
    """Split a row selected with :func:`select_columns` for each of ``models`` into instances.

    Values go through the same converters as the ORM's (time zones, JSON, booleans); a
    model whose primary key is NULL (an outer join that found nothing) comes back as None.
    """
    instances: list[Model | None] = []
    start = 0
    for model in models:
        pk_index, attnames, converters = _row_reader(connection.vendor, model)
        values = list(row[start : start + len(attnames)])
        start += len(attnames)
        if values[pk_index] is None:
            instances.append(None)
            continue
        for index, functions, col in converters:
            for convert in functions:
                values[index] = convert(values[index], col, connection)
        instances.append(model.from_db(connection.alias, attnames, values))
    return instances


def model_field(model: type[Model], name: str) -> Field[Any, Any]:
    """A concrete field of ``model`` (``_meta.get_field`` may also answer a relation)."""
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def row_as[M: Model](row: Sequence[Any], model: type[M]) -> M:
    """One ``model`` instance from a row selected with :func:`select_columns`."""
    (instance,) = rows_as_models(row, [model])
    assert isinstance(instance, model)
    return instance


def fetch_one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


def in_list(count: int) -> str:
    """Placeholders for ``IN (…)``; ``IN (NULL)`` matches nothing when there are none."""
    return ", ".join(["%s"] * count) if count else "NULL"


def _user_columns() -> str:
    """The user's and its profile's columns and the instructor flag (aliases u, p)."""
    through = User.groups.through
    member, group = (model_field(through, name).column for name in ("user", "group"))
    return (
        f"{select_columns(User, 'u')}, {select_columns(Profile, 'p')},"  # noqa: S608 - names from _meta
        f" EXISTS (SELECT 1 FROM {through._meta.db_table} m"
        f" JOIN {Group._meta.db_table} g ON g.{Group._meta.pk.column} = m.{group}"
        f" WHERE m.{member} = u.{User._meta.pk.column}"
        f" AND g.{model_field(Group, 'name').column} = %s)"
    )


def _profile_join() -> str:
    return (
        f"LEFT JOIN {Profile._meta.db_table} p"
        f" ON p.{model_field(Profile, 'user').column} = u.{User._meta.pk.column}"
    )


def _user_from(row: Sequence[Any]) -> User | None:
    """The user of a row that ends with :func:`_user_columns`, its profile and role attached."""
    user, profile = rows_as_models(row[:-1], [User, Profile])
    if user is None:
        return None
    assert isinstance(user, User)
    user._state.fields_cache["profile"] = profile  # None: the descriptor raises DoesNotExist
    user._is_instructor = user.is_superuser or bool(row[-1])  # type: ignore[attr-defined]
    return user


@functools.cache
def user_sql() -> str:
    user_id = User._meta.pk.column
    return (
        f"SELECT {_user_columns()} FROM {User._meta.db_table} u {_profile_join()}"  # noqa: S608 - names from _meta
        f" WHERE u.{user_id} = %s"
    )


def user_with_profile(user_id: Any) -> User | None:
    """The user, with ``user.profile`` (or its absence) and the instructor flag already known,
    so that nothing else this request asks of them reads the database again."""
    try:
        user_pk = User._meta.pk.to_python(user_id)
    except ValidationError:  # a tampered session id is just "no user"
        return None
    row = fetch_one(user_sql(), [INSTRUCTOR_GROUP, user_pk])
    return _user_from(row) if row is not None else None


@functools.cache
def session_sql() -> str:
    key, data, expires, user = (
        model_field(Session, name).column
        for name in ("session_key", "session_data", "expire_date", "user")
    )
    return (
        f"SELECT s.{data}, {_user_columns()} FROM {Session._meta.db_table} s"  # noqa: S608 - names from _meta
        f" LEFT JOIN {User._meta.db_table} u ON u.{User._meta.pk.column} = s.{user}"
        f" {_profile_join()} WHERE s.{key} = %s AND s.{expires} > %s"
    )


def session_with_user(session_key: str) -> tuple[str, User | None] | None:
    """The encoded data of the session with this key, unless it has expired (what Django's
    database store reads), and its signed-in user as :func:`user_with_profile` reads it."""
    now = model_field(Session, "expire_date").get_db_prep_value(timezone.now(), connection)
    row = fetch_one(session_sql(), [INSTRUCTOR_GROUP, session_key, now])
    return (row[0], _user_from(row[1:])) if row is not None else None
