"""``/sandbox/kms/``: the AWS JSON 1.1 KMS protocol, authenticated by SigV4 alone.

``boto3.client("kms", endpoint_url=".../sandbox/kms/")`` and ``aws --endpoint-url ... kms``
work unchanged. Dispatch is on ``X-Amz-Target: TrentService.<Operation>``; errors are 4xx with
``{"__type": ..., "message": ...}`` as AWS sends them, 5xx only for real internal faults.
The caller's principal comes from the access key: the account root for the learner's own
keys, ``user/analyst`` for keys issued to lab 3's second principal.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .engine import OPERATION_SCHEMAS, KmsError, decode_request, encode_response
from .signed_api import (
    ApiError,
    authenticate_in_region,
    read_body,
    run_as_key,
    signed_api_view,
    throttle,
)

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "TrentService."


def _json_response(body: Any, status: int, request_id: str) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)
    response["x-amzn-RequestId"] = request_id
    return response


def _error(code: str, message: str, status: int, request_id: str) -> HttpResponse:
    response = _json_response({"__type": code, "message": message}, status, request_id)
    response["x-amzn-ErrorType"] = code
    return response


@signed_api_view
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
    body = read_body(request)
    key, region = authenticate_in_region(request, body, service="kms")
    throttle(key, service="kms", limit=settings.SANDBOX_KMS_RATE_LIMIT)
    operation = _operation(request)
    engine_params = decode_request(operation, _parse_body(body))
    # The account row is locked only around the engine call, so concurrent requests of
    # one learner wait for each other's engine work, not for each other's signature checks.
    try:
        result = run_as_key(key, lambda engine: engine.kms_call(operation, engine_params, region))
    except KmsError as error:
        return _error(error.code, error.message, error.status, request_id)
    return _json_response(encode_response(result), 200, request_id)


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
