"""``/sandbox/cloudhsm/client/``: the CloudHSM client's data plane, for ``manage.py hsm_client``.

The client library (``emulator.cloudhsm.pkcs11``) runs beside the learner's PKCS #11
application and sends each HSM call here as JSON (``{"call": ..., "arguments": ...}``),
signed with SigV4 for the service ``cloudhsm`` by a sandbox access key. The call runs on that
account's engine under its row lock, like every sandbox request, so keys made here are the
console's keys and the other way round. Answers: ``{"result": ...}``, or 400 with
``{"error": "CKR_...", "message": ...}`` for an HSM error, or the AWS-style ``__type`` for a
request the endpoint refuses before the HSMs see it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from .engine import HsmError, hsm_client_call, wire_from_json, wire_to_json
from .signed_api import ApiError, authenticate, read_body, run_as_key, signed_api_view, throttle

logger = logging.getLogger(__name__)


@signed_api_view
def hsm_client_endpoint(request: HttpRequest) -> JsonResponse:
    try:
        return _handle(request)
    except ApiError as error:
        return JsonResponse({"__type": error.code, "message": error.message}, status=error.status)
    except Exception:
        logger.exception("sandbox CloudHSM client endpoint failed")
        return JsonResponse({"error": "CKR_DEVICE_ERROR", "message": "internal error"}, status=500)


def _handle(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        raise ApiError("UnknownOperationException", "The CloudHSM client takes POST requests only.")
    body = read_body(request)
    key = authenticate(request, body, service="cloudhsm")
    throttle(key, service="cloudhsm", limit=settings.SANDBOX_HSM_RATE_LIMIT)
    call, arguments = _parse(body)
    try:
        result = run_as_key(key, lambda engine: hsm_client_call(engine.pkcs11_hsm, call, arguments))
    except HsmError as error:
        return JsonResponse({"error": error.code, "message": error.message}, status=400)
    return JsonResponse({"result": wire_to_json(result)})


def _parse(body: bytes) -> tuple[str, dict[str, Any]]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("SerializationException", "The request body is not valid JSON.") from None
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("call"), str)
        or not isinstance(payload.get("arguments", {}), dict)
    ):
        raise ApiError("SerializationException", 'Expected {"call": ..., "arguments": {...}}.')
    try:
        arguments = wire_from_json(payload.get("arguments", {}))
    except HsmError as error:
        raise ApiError("SerializationException", error.message) from None
    return payload["call"], arguments
