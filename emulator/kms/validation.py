"""Checking requests against :mod:`.schema`, and the AWS JSON wire format.

``validate`` raises ValidationException (or UnsupportedOperationException, for members the
engine does not implement) with AWS's wording; ``usual_encrypt`` and ``usual_decrypt`` are its
fast path for the common requests. Blob fields are Python ``bytes`` in the engine's API;
``decode_request`` and ``encode_response`` convert to and from the base64 strings of the AWS
JSON wire format for the HTTP layer.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from emulator.kms.errors import (
    SerializationException,
    UnsupportedOperationException,
    ValidationException,
)
from emulator.kms.schema import OPERATION_SCHEMAS, Field

__all__ = ["decode_request", "encode_response", "usual_decrypt", "usual_encrypt", "validate"]

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
    "blob": (bytes, bytearray, memoryview),
    "timestamp": (int, float),
    "context": (dict,),
    "strings": (list, tuple),
    "tags": (list, tuple),
    "constraints": (dict,),
}
_TYPE_NAMES = {
    "string": "string",
    "integer": "integer",
    "boolean": "boolean",
    "blob": "bytes",
    "timestamp": "timestamp",
    "context": "map of string to string",
    "strings": "list of strings",
    "tags": "list of Tag",
    "constraints": "GrantConstraints",
}


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _failure(name: str, value: Any, field: Field, constraint: str) -> str:
    """One AWS-style validation message; sensitive values (blobs, passwords) never shown."""
    if field.sensitive or field.kind == "blob":
        shown = "Value"
    else:
        text = value if isinstance(value, str) else repr(value)
        shown = f"Value '{text[:97] + '...' if len(text) > 100 else text}'"
    return f"{shown} at '{_camel(name)}' failed to satisfy constraint: {constraint}"


def _check(name: str, raw: object, field: Field, errors: list[str]) -> None:
    """Append the constraint violations of one member to ``errors`` (messages built only
    on failure: this runs on every request)."""
    value: Any = raw
    kind = field.kind
    if raw is None:
        if field.required:
            errors.append(
                f"Value null at '{_camel(name)}' failed to satisfy constraint: "
                "Member must not be null"
            )
        return
    if not isinstance(raw, _PY_TYPES[kind]) or (
        kind in ("integer", "timestamp") and isinstance(raw, bool)
    ):
        errors.append(_failure(name, value, field, f"Member must be of type {_TYPE_NAMES[kind]}"))
        return
    if kind == "integer" or kind in ("string", "blob", "strings"):
        size = value if kind == "integer" else len(value)
        what = "value" if kind == "integer" else "length"
        if field.min is not None and size < field.min:
            errors.append(
                _failure(
                    name,
                    value,
                    field,
                    f"Member must have {what} greater than or equal to {field.min}",
                )
            )
        if field.max is not None and size > field.max:
            errors.append(
                _failure(
                    name, value, field, f"Member must have {what} less than or equal to {field.max}"
                )
            )
    if kind == "string":
        if field.enum is not None and value not in field.enum:
            errors.append(
                _failure(
                    name,
                    value,
                    field,
                    f"Member must satisfy enum value set: [{', '.join(field.enum)}]",
                )
            )
        if field.pattern is not None and not re.match(field.pattern, value):
            errors.append(
                _failure(
                    name,
                    value,
                    field,
                    f"Member must satisfy regular expression pattern: {field.pattern}",
                )
            )
    elif kind == "strings":
        for item in value:
            if not isinstance(item, str):
                errors.append(
                    _failure(name, value, field, "Member must be of type list of strings")
                )
                return
            if field.enum is not None and item not in field.enum:
                errors.append(
                    _failure(
                        name,
                        value,
                        field,
                        "Member must satisfy constraint: [Member must satisfy enum value set: "
                        f"[{', '.join(field.enum)}]]",
                    )
                )
                return
    elif kind == "context":
        _check_context(value, name, errors)
    elif kind == "tags":
        for tag in value:
            if (
                not isinstance(tag, Mapping)
                or not isinstance(tag.get("TagKey"), str)
                or not isinstance(tag.get("TagValue"), str)
            ):
                errors.append(
                    _failure(
                        name,
                        value,
                        field,
                        "Member must be a list of {TagKey: string, TagValue: string}",
                    )
                )
                return
            if not 1 <= len(tag["TagKey"]) <= 128 or len(tag["TagValue"]) > 256:
                errors.append(
                    _failure(
                        name,
                        value,
                        field,
                        "Member must have TagKey length 1..128 and TagValue length 0..256",
                    )
                )
                return
    elif kind == "constraints":
        where = f"at '{_camel(name)}'"
        for member, context in value.items():
            if member not in ("EncryptionContextSubset", "EncryptionContextEquals", "SourceArn"):
                errors.append(f"Unknown member '{member}' {where}")
            elif member == "SourceArn":
                errors.append(f"SourceArn {where} is not supported by the emulator")
            elif not isinstance(context, Mapping):
                errors.append(f"Value {where}.{_camel(member)} must be a map of string to string")
            else:
                _check_context(context, f"{_camel(name)}.{_camel(member)}", errors)


def _check_context(value: Mapping[Any, Any], path: str, errors: list[str]) -> None:
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            errors.append(
                f"Value at '{_camel(path)}' failed to satisfy constraint: "
                "Member must be a map of string to string"
            )
            return


# The fast path of ``validate``: per operation, each member as (kind, min, max, enum,
# compiled pattern), and the required members. It answers only "certainly valid";
# anything else (a wrong type, a bound, an unsupported member, a kind it does not check
# itself) goes through the generic walker, which builds the exact errors.
_Quick = tuple[str, int | None, int | None, frozenset[str] | None, re.Pattern[str] | None]
_QUICK: dict[str, tuple[dict[str, _Quick], tuple[str, ...]]] = {
    operation: (
        {
            name: (
                field.kind,
                field.min,
                field.max,
                frozenset(field.enum) if field.enum is not None else None,
                re.compile(field.pattern) if field.pattern is not None else None,
            )
            for name, field in schema.items()
        },
        tuple(name for name, field in schema.items() if field.required),
    )
    for operation, schema in OPERATION_SCHEMAS.items()
}
_BLOB_TYPES = (bytes, bytearray, memoryview)

# Encrypt and Decrypt are most of the traffic, nearly always with the same members: for those,
# ``usual_encrypt`` and ``usual_decrypt`` are checks written out (bounds from the schema) that
# accept what the loop in ``validate`` would, in fewer steps. Anything else takes the loop.
_ABSENT: Any = object()
_INVALID: Any = object()


def _bounds(operation: str, name: str) -> tuple[int, int]:
    field = OPERATION_SCHEMAS[operation][name]
    return field.min or 0, field.max or 0


_KEY_ID_MIN, _KEY_ID_MAX = _bounds("Encrypt", "KeyId")
_PLAINTEXT_MIN, _PLAINTEXT_MAX = _bounds("Encrypt", "Plaintext")
_CIPHERTEXT_MIN, _CIPHERTEXT_MAX = _bounds("Decrypt", "CiphertextBlob")
_OPTIONAL_KEY_ID_MIN, _OPTIONAL_KEY_ID_MAX = _bounds("Decrypt", "KeyId")


def _usual_context(params: dict[str, Any]) -> Any:
    """The request's EncryptionContext copied, ``_ABSENT`` or None as given, or ``_INVALID``
    unless it is a dict of str to str."""
    context = params.get("EncryptionContext", _ABSENT)
    if context is _ABSENT or context is None:
        return context
    if type(context) is not dict:
        return _INVALID
    for key, value in context.items():
        if type(key) is not str or type(value) is not str:
            return _INVALID
    return context.copy()


def usual_encrypt(params: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A common Encrypt request, checked without the schema walk: KeyId, Plaintext, maybe
    EncryptionContext, nothing else (the member count says so), of plain types and within
    the schema's bounds. Returns what ``validate`` would return and the non-sensitive
    members in schema order, the context copied (for the audit log); None for any other
    request, which ``validate`` then checks the long way (with the exact errors)."""
    if type(params) is not dict:
        return None
    context = _usual_context(params)
    if context is _INVALID:
        return None
    key_id = params.get("KeyId")
    plaintext = params.get("Plaintext")
    if not (
        len(params) == (2 if context is _ABSENT else 3)
        and type(key_id) is str
        and _KEY_ID_MIN <= len(key_id) <= _KEY_ID_MAX
        and type(plaintext) is bytes
        and _PLAINTEXT_MIN <= len(plaintext) <= _PLAINTEXT_MAX
    ):
        return None
    logged: dict[str, Any] = {"KeyId": key_id}
    if context is not _ABSENT:
        logged["EncryptionContext"] = context
    return params.copy(), logged


def usual_decrypt(params: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``usual_encrypt`` for Decrypt: CiphertextBlob, maybe EncryptionContext and KeyId."""
    if type(params) is not dict:
        return None
    context = _usual_context(params)
    if context is _INVALID:
        return None
    blob = params.get("CiphertextBlob")
    key_id = params.get("KeyId", _ABSENT)
    if not (
        len(params) == 1 + (context is not _ABSENT) + (key_id is not _ABSENT)
        and type(blob) is bytes
        and _CIPHERTEXT_MIN <= len(blob) <= _CIPHERTEXT_MAX
        and (
            key_id is _ABSENT
            or key_id is None
            or (type(key_id) is str and _OPTIONAL_KEY_ID_MIN <= len(key_id) <= _OPTIONAL_KEY_ID_MAX)
        )
    ):
        return None
    logged = {} if context is _ABSENT else {"EncryptionContext": context}
    if key_id is not _ABSENT:
        logged["KeyId"] = key_id
    return params.copy(), logged


_USUAL = {"Encrypt": usual_encrypt, "Decrypt": usual_decrypt}


def validate(operation: str, params: Any) -> dict[str, Any]:
    """Check ``params`` against the operation's schema; return them as a plain dict.

    Unknown members are ignored, as the KMS service ignores them. Members the emulator does
    not implement (Recipient, XKS settings, ...) raise UnsupportedOperationException.
    """
    check = _USUAL.get(operation)
    usual = check(params) if check is not None else None
    if usual is not None:
        return usual[0]
    if type(params) is dict:
        # The fast path: accepts only what certainly passes (plain types, within bounds).
        fields, required = _QUICK[operation]
        valid = True
        for name, value in params.items():
            quick = fields.get(name)
            if quick is None or value is None:
                continue
            kind, low, high, enum, pattern = quick
            if kind == "string":
                valid = (
                    type(value) is str
                    and (low is None or len(value) >= low)
                    and (high is None or len(value) <= high)
                    and (enum is None or value in enum)
                    and (pattern is None or pattern.match(value) is not None)
                )
            elif kind == "blob":
                valid = (
                    type(value) in _BLOB_TYPES
                    and (low is None or len(value) >= low)
                    and (high is None or len(value) <= high)
                )
            elif kind == "context":
                valid = type(value) is dict
                if valid:
                    for key, item in value.items():
                        if type(key) is not str or type(item) is not str:
                            valid = False
                            break
            elif kind == "boolean":
                valid = type(value) is bool
            elif kind == "integer":
                valid = (
                    type(value) is int
                    and (low is None or value >= low)
                    and (high is None or value <= high)
                )
            else:  # strings, tags, constraints, unsupported: the generic walker decides
                valid = False
            if not valid:
                break
        if valid:
            for name in required:
                if params.get(name) is None:
                    break
            else:
                return params.copy()
    # The generic walker: every member in schema order, every error collected.
    if not isinstance(params, Mapping):
        raise ValidationException("The request parameters must be a JSON object.")
    schema = OPERATION_SCHEMAS[operation]
    errors: list[str] = []
    for name, field in schema.items():
        value = params.get(name)
        if field.kind == "unsupported":
            if value is not None:
                raise UnsupportedOperationException(
                    f"The {name} parameter is not supported by this emulator."
                )
            continue
        _check(name, value, field, errors)
    if errors:
        count = len(errors)
        plural = "error" if count == 1 else "errors"
        raise ValidationException(f"{count} validation {plural} detected: " + "; ".join(errors))
    return dict(params)


# --- the JSON wire format ---------------------------------------------------------------------


def decode_request(operation: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """AWS JSON request body -> engine params: base64 blob members become ``bytes``."""
    schema = OPERATION_SCHEMAS.get(operation, {})
    params = dict(body)
    for name, field in schema.items():
        value = params.get(name)
        if field.kind == "blob" and isinstance(value, str):
            try:
                params[name] = base64.b64decode(value.encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError):
                raise SerializationException(
                    f"Could not decode the base64 value of '{_camel(name)}'."
                ) from None
    return params


def encode_response(result: Any) -> Any:
    """Engine result -> AWS JSON response body: ``bytes`` become base64 strings."""
    if isinstance(result, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(result)).decode("ascii")
    if isinstance(result, dict):
        return {key: encode_response(value) for key, value in result.items()}
    if isinstance(result, list):
        return [encode_response(value) for value in result]
    return result
