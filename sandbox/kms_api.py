"""``/sandbox/kms/``: the AWS JSON 1.1 KMS protocol, authenticated by SigV4 alone.

``boto3.client("kms", endpoint_url=".../sandbox/kms/")`` and ``aws --endpoint-url ... kms``
work unchanged. Dispatch is on ``X-Amz-Target: TrentService.<Operation>``; errors are 4xx with
``{"__type": ..., "message": ...}`` as AWS sends them, 5xx only for real internal faults.
The caller's principal comes from the access key: the account root for the learner's own
keys, ``user/analyst`` for keys issued to lab 3's second principal.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from . import sigv4
from .engine import OPERATION_SCHEMAS, KmsError, decode_request, encode_response
from .models import SandboxAccessKey, SandboxAccount
from .services import (
    access_key_mark_used,
    access_key_secret,
    engine_transaction,
    sandbox_call_locked,
)
from .storage_orm import model_field

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "TrentService."
MAX_REQUEST_BYTES = 64 * 1024


class ApiError(Exception):
    """An error answered before the engine runs (protocol, authentication, limits)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _json_response(body: Any, status: int, request_id: str) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)
    response["x-amzn-RequestId"] = request_id
    return response


def _error(code: str, message: str, status: int, request_id: str) -> HttpResponse:
    response = _json_response({"__type": code, "message": message}, status, request_id)
    response["x-amzn-ErrorType"] = code
    return response


@csrf_exempt
def kms_endpoint(request: HttpRequest) -> HttpResponse:
    request_id = str(uuid.uuid4())
    try:
        return _handle(request, request_id)
    except ApiError as error:
        return _error(error.code, error.message, error.status, request_id)
    except KmsError as error:
        return _error(error.code, error.message, error.status, request_id)
    except Exception:
        logger.exception("sandbox KMS endpoint failed (request %s)", request_id)
        return _error("KMSInternalException", "An internal error occurred.", 500, request_id)


def _handle(request: HttpRequest, request_id: str) -> HttpResponse:
    body = _read_body(request)
    key = _authenticate(request, body)
    _throttle(key)
    operation = _operation(request)
    engine_params = decode_request(operation, _parse_body(body))
    # The account row is locked only around the engine call, so concurrent requests of
    # one learner wait for each other's engine work, not for each other's signature checks.
    with engine_transaction():
        account = lock_account(key.account_id)
        access_key_mark_used(key=key, now=dt.datetime.now(dt.UTC))
        try:
            result = sandbox_call_locked(
                account=account,
                action=lambda engine: engine.kms_call(operation, engine_params),
                principal_user=key.user_name,
            )
        except KmsError as error:
            # Returned, not raised, so the audit event of the failed call is committed.
            return _error(error.code, error.message, error.status, request_id)
    return _json_response(encode_response(result), 200, request_id)


def _read_body(request: HttpRequest) -> bytes:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_REQUEST_BYTES:
        raise ApiError(
            "ValidationException",
            f"Request body of {declared} bytes exceeds the {MAX_REQUEST_BYTES}-byte limit.",
            413,
        )
    body = request.body
    if len(body) > MAX_REQUEST_BYTES:
        raise ApiError(
            "ValidationException",
            f"Request body of {len(body)} bytes exceeds the {MAX_REQUEST_BYTES}-byte limit.",
            413,
        )
    return body


def _authenticate(request: HttpRequest, body: bytes) -> SandboxAccessKey:
    found: dict[str, SandboxAccessKey] = {}

    def credentials_for(access_key_id: str) -> tuple[str, str] | None:
        found_key = active_key(access_key_id)
        if found_key is None:
            return None
        key, region = found_key
        found["key"] = key
        return access_key_secret(key), region

    signed = sigv4.SignedRequest(
        method=request.method or "POST",
        path=request.path,
        query_string=request.META.get("QUERY_STRING", ""),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
    )
    now = dt.datetime.now(dt.UTC)
    try:
        sigv4.verify(signed, service="kms", credentials_for=credentials_for, now=now)
    except sigv4.SigV4Error as error:
        raise ApiError(error.code, error.message, 400) from None
    return found["key"]


KEY_COLUMNS = ("id", "account_id", "user_name", "access_key_id", "sealed_secret", "last_used_at")
ACCOUNT_COLUMNS = ("id", *SandboxAccount.ENGINE_FIELDS)

# Every request runs these two statements, hence hand-written SQL instead of the ORM's
# querysets, which cost more to compile than to run. Identifiers come from the models'
# metadata; values are always query parameters.


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


@functools.cache
def _account_lock_sql() -> str:
    quote = connection.ops.quote_name
    accounts = SandboxAccount._meta
    columns = ", ".join(
        quote(str(model_field(SandboxAccount, name).column)) for name in ACCOUNT_COLUMNS
    )
    sql = (
        f"SELECT {columns} FROM {quote(accounts.db_table)} "  # noqa: S608
        f"WHERE {quote(str(accounts.pk.column))} = %s"
    )
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    return sql


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


def lock_account(account_pk: int) -> SandboxAccount:
    """Lock the account row (``SELECT ... FOR UPDATE``) and read it; inside a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(_account_lock_sql(), [account_pk])
        row = cursor.fetchone()
    return SandboxAccount(**dict(zip(ACCOUNT_COLUMNS, row, strict=True)))


def _throttle(key: SandboxAccessKey) -> None:
    limit = int(getattr(settings, "SANDBOX_KMS_RATE_LIMIT", 100))
    window = int(dt.datetime.now(dt.UTC).timestamp())
    counter = f"sandbox-kms-rate:{key.access_key_id}:{window}"
    cache.add(counter, 0, timeout=5)
    try:
        count = cache.incr(counter)
    except ValueError:
        # The counter expired between add and incr: this request opens a new window.
        cache.set(counter, 1, timeout=5)
        count = 1
    if count > limit:
        raise ApiError("ThrottlingException", "Rate exceeded", 400)


def _operation(request: HttpRequest) -> str:
    if request.method != "POST":
        raise ApiError("UnknownOperationException", "KMS takes POST requests only.")
    target = request.headers.get("X-Amz-Target", "")
    if not target.startswith(TARGET_PREFIX):
        raise ApiError("UnknownOperationException", f"Unknown target: '{target[:100]}'.")
    operation = target[len(TARGET_PREFIX) :]
    if operation not in OPERATION_SCHEMAS:
        raise ApiError(
            "UnknownOperationException",
            f"The operation {operation[:100]} is not supported by this sandbox.",
        )
    return operation


def _parse_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("SerializationException", "The request body is not valid JSON.") from None
    if not isinstance(params, dict):
        raise ApiError(
            "SerializationException", "Start of list found where not expected: expected an object."
        )
    return params
