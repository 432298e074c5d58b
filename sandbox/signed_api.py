"""What the sandbox's AWS-style endpoints share: the request body limit, SigV4 authentication
by a sandbox access key (one query), the per-key rate limit, and the account row lock taken
with hand-written SQL. ``kms_api`` (the KMS JSON protocol) and ``hsm_api`` (the CloudHSM
client's data plane) build on it."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from accounts.sql import model_field

from . import sigv4
from .engine import EngineError, SandboxEngine, regions_of
from .middleware import SIGNED_API_MARK
from .models import SandboxAccessKey, SandboxAccount
from .services import (
    access_key_mark_used,
    access_key_secret,
    engine_transaction,
    lock_account,
    sandbox_call_locked,
)

MAX_REQUEST_BYTES = 64 * 1024


def signed_api_view[V: Callable[..., Any]](view: V) -> V:
    """Marks a view that authenticates each request by its SigV4 signature: it needs no CSRF
    token (``csrf_exempt``) and runs without the browser's middleware (see
    :class:`.middleware.SignedApiMiddleware`)."""
    exempt = csrf_exempt(view)
    setattr(exempt, SIGNED_API_MARK, True)
    return exempt


class ApiError(Exception):
    """An error answered before the engine runs (protocol, authentication, limits)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def read_body(request: HttpRequest, limit: int = MAX_REQUEST_BYTES) -> bytes:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise ApiError(
            "ValidationException",
            f"Request body of {declared} bytes exceeds the {limit}-byte limit.",
            413,
        )
    body = request.body
    if len(body) > limit:
        raise ApiError(
            "ValidationException",
            f"Request body of {len(body)} bytes exceeds the {limit}-byte limit.",
            413,
        )
    return body


def authenticate(request: HttpRequest, body: bytes, *, service: str) -> SandboxAccessKey:
    return authenticate_in_region(request, body, service=service)[0]


def authenticate_in_region(
    request: HttpRequest, body: bytes, *, service: str
) -> tuple[SandboxAccessKey, str]:
    """The access key that signed the request, and the Region it signed for (KMS also
    answers in the account's second Region, where multi-Region replicas live)."""
    found: dict[str, SandboxAccessKey] = {}

    def credentials_for(access_key_id: str) -> tuple[str, str | tuple[str, ...]] | None:
        found_key = active_key(access_key_id)
        if found_key is None:
            return None
        key, region = found_key
        found["key"] = key
        return access_key_secret(key), (regions_of(region) if service == "kms" else region)

    signed = sigv4.SignedRequest(
        method=request.method or "POST",
        path=request.path,
        query_string=request.META.get("QUERY_STRING", ""),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
        normalize_path=service != "s3",
    )
    now = dt.datetime.now(dt.UTC)
    try:
        auth = sigv4.verify(signed, service=service, credentials_for=credentials_for, now=now)
    except sigv4.SigV4Error as error:
        raise ApiError(error.code, error.message, 400) from None
    return found["key"], auth.region


KEY_COLUMNS = ("id", "account_id", "user_name", "access_key_id", "sealed_secret", "last_used_at")

# Every request runs this statement and ``services.lock_account``'s, hence hand-written SQL
# instead of the ORM's querysets, which cost more to compile than to run. Identifiers come
# from the models' metadata; values are always query parameters.


@functools.cache
def _key_lookup_sql() -> str:
    quote = connection.ops.quote_name
    keys, accounts = SandboxAccessKey._meta, SandboxAccount._meta
    columns = [
        f"k.{quote(str(model_field(SandboxAccessKey, name).column))}" for name in KEY_COLUMNS[2:]
    ]
    return (
        f"SELECT k.{quote(str(keys.pk.column))}, k.{quote(str(model_field(SandboxAccessKey, 'account').column))}, "  # noqa: S608
        f"{', '.join(columns)}, a.{quote(str(model_field(SandboxAccount, 'region').column))} "
        f"FROM {quote(keys.db_table)} k INNER JOIN {quote(accounts.db_table)} a "
        f"ON a.{quote(str(accounts.pk.column))} = k.{quote(str(model_field(SandboxAccessKey, 'account').column))} "
        f"WHERE k.{quote(str(model_field(SandboxAccessKey, 'access_key_id').column))} = %s "
        f"AND k.{quote(str(model_field(SandboxAccessKey, 'status').column))} = %s"
    )


def _as_datetime(value: Any) -> dt.datetime | None:
    """A timestamp column as the ORM would return it (SQLite hands back naive UTC)."""
    if value is None:
        return None
    parsed = value if isinstance(value, dt.datetime) else parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    return parsed


def active_key(access_key_id: str) -> tuple[SandboxAccessKey, str] | None:
    """The active access key with that id and its account's Region (one query), or None."""
    with connection.cursor() as cursor:
        cursor.execute(_key_lookup_sql(), [access_key_id, SandboxAccessKey.Status.ACTIVE])
        row = cursor.fetchone()
    if row is None:
        return None
    values = dict(zip(KEY_COLUMNS, row[: len(KEY_COLUMNS)], strict=True))
    values["last_used_at"] = _as_datetime(values["last_used_at"])
    return SandboxAccessKey(status=SandboxAccessKey.Status.ACTIVE, **values), row[-1]


def throttle(key: SandboxAccessKey, *, service: str, limit: int) -> None:
    """At most ``limit`` requests a second per access key and service (ThrottlingException)."""
    window = int(dt.datetime.now(dt.UTC).timestamp())
    counter = f"sandbox-{service}-rate:{key.access_key_id}:{window}"
    cache.add(counter, 0, timeout=5)
    try:
        count = cache.incr(counter)
    except ValueError:
        # The counter expired between add and incr: this request opens a new window.
        cache.set(counter, 1, timeout=5)
        count = 1
    if count > limit:
        raise ApiError("ThrottlingException", "Rate exceeded", 400)


def run_as_key[T](key: SandboxAccessKey, action: Callable[[SandboxEngine], T]) -> T:
    """Run ``action`` on the key's account as the key's principal, under the account's row
    lock, recording the key's last use. An engine error is raised after the transaction has
    committed, so what the engine wrote for the failed call (its audit event) is kept."""
    with engine_transaction():
        account = lock_account(key.account_id)
        access_key_mark_used(key=key, now=dt.datetime.now(dt.UTC))
        try:
            return sandbox_call_locked(account=account, action=action, principal_user=key.user_name)
        except EngineError as error:
            failure = error
    raise failure
