"""What the CloudHSM client asks of the HSMs: the data-plane calls, their arguments, and the
JSON form they travel in between the client (``library.Pkcs11Library``) and the sandbox.

``execute`` runs one call on a :class:`~emulator.cloudhsm.CloudHsm`; an argument that is
missing, unknown or of the wrong type is CKR_ARGUMENTS_BAD before the engine runs. Bytes
travel as ``{"b64": "..."}`` so that any JSON carrier (the sandbox's HTTP endpoint) can
take them unchanged.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ..errors import HsmError, Pkcs11Error

Text, Flag, Number, Blob, Table = str, bool, int, bytes, dict
OptionalText = (str, type(None))
OptionalBlob = (bytes, type(None))
OptionalNumber = (int, type(None))

# call -> (the engine method, {argument: accepted type(s)}, required arguments)
SIGNATURES: dict[str, tuple[str, dict[str, Any], frozenset[str]]] = {}


def _call(name: str, method: str, required: str, **optional: Any) -> None:
    arguments = dict(optional)
    needed = frozenset(required.split())
    for argument in needed:
        arguments.setdefault(argument, _REQUIRED_TYPES[argument])
    SIGNATURES[name] = (method, arguments, needed)


_REQUIRED_TYPES: dict[str, Any] = {
    "cluster_id": Text,
    "session_id": Text,
    "logged_in_session_id": Text,
    "username": Text,
    "password": Text,
    "role": Text,
    "handle": Number,
    "key_handle": Number,
    "wrapping_handle": Number,
    "unwrapping_handle": Number,
    "key_type": Text,
    "length_bytes": Number,
    "length": Number,
    "material": Blob,
    "filters": Table,
    "name": Text,
    "value": (bool, str),
    "mechanism": Text,
    "data": Blob,
    "signature": Blob,
    "wrapped": Blob,
}
_CRYPTO = {
    "iv": OptionalBlob,
    "aad": Blob,
    "tag_bits": Number,
    "hash_name": OptionalText,
    "oaep_label": OptionalBlob,
    "salt_length": OptionalNumber,
}
_TEMPLATE = {"label": Text, "attributes": Table, "token": Flag}

_call("cluster_info", "client_cluster_info", "cluster_id")
_call("open_session", "open_session", "cluster_id", read_write=Flag)
_call("close_session", "close_session", "session_id")
_call("login", "session_login", "session_id username password role")
_call("join_login", "join_login", "session_id logged_in_session_id")
_call("logout", "logout", "session_id")
_call("generate_symmetric", "generate_symmetric", "session_id key_type length_bytes", **_TEMPLATE)
_call(
    "generate_key_pair",
    "generate_key_pair",
    "session_id key_type",
    modulus_bits=Number,
    public_exponent=Number,
    curve=Text,
    label=Text,
    public_attributes=Table,
    private_attributes=Table,
    token=Flag,
)
_call("import_key", "import_key", "session_id key_type material", **_TEMPLATE)
_call("find_keys", "find_keys", "session_id filters")
_call("describe_key", "describe_key", "session_id handle")
_call("get_attribute", "get_attribute", "session_id handle name")
_call("set_attribute", "set_attribute", "session_id handle name value")
_call("destroy_key", "destroy_key", "session_id handle")
for _name in ("encrypt", "decrypt"):
    _call(_name, _name, "session_id handle mechanism data", **_CRYPTO)
_call("sign", "sign", "session_id handle mechanism data", **_CRYPTO)
_call("verify", "verify", "session_id handle mechanism data signature", **_CRYPTO)
_call("digest", "digest", "session_id mechanism data")
_call("generate_random", "generate_random", "session_id length")
_call("wrap_key", "wrap_key", "session_id wrapping_handle key_handle mechanism", **_CRYPTO)
_call(
    "unwrap_key",
    "unwrap_key",
    "session_id unwrapping_handle wrapped mechanism key_type",
    key_class=Text,
    **_TEMPLATE,
    **_CRYPTO,
)

# Which keyword arguments each engine method takes for the crypto options.
_ENGINE_OPTIONS = {
    "encrypt": ("iv", "aad", "tag_bits", "hash_name", "oaep_label"),
    "decrypt": ("iv", "aad", "tag_bits", "hash_name", "oaep_label"),
    "sign": ("hash_name", "salt_length"),
    "verify": ("hash_name", "salt_length"),
    "wrap_key": ("iv", "aad", "hash_name"),
    "unwrap_key": ("iv", "aad", "hash_name"),
}


class HsmLink(Protocol):
    """How the client reaches the HSMs: one data-plane call, raising ``HsmError``."""

    def call(self, name: str, /, **arguments: Any) -> Any: ...


def check_arguments(name: str, arguments: Mapping[str, Any]) -> str:
    """The engine method for ``name``; CKR_ARGUMENTS_BAD unless the arguments fit."""
    if name not in SIGNATURES:
        raise Pkcs11Error("CKR_FUNCTION_NOT_SUPPORTED", f"unknown client call {name[:60]!r}")
    method, accepted, required = SIGNATURES[name]
    missing = required - set(arguments)
    unknown = set(arguments) - set(accepted)
    if missing or unknown:
        raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"{name}: wrong arguments")
    for argument, value in arguments.items():
        expected = accepted[argument]
        if isinstance(value, bool) and expected in (Number, OptionalNumber):
            raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"{name}: {argument} must be a number")
        if not isinstance(value, expected):
            raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"{name}: {argument} has the wrong type")
    return method


def execute(hsm: Any, name: str, arguments: Mapping[str, Any]) -> Any:
    """Run one client call on ``hsm`` (a CloudHsm); engine errors propagate."""
    method = check_arguments(name, arguments)
    function: Callable[..., Any] = getattr(hsm, method)
    arguments = dict(arguments)
    if name in _ENGINE_OPTIONS:
        allowed = _ENGINE_OPTIONS[name]
        for option in list(arguments):
            if option in _CRYPTO and option not in allowed:
                arguments.pop(option)
    return function(**arguments)


# --- JSON form ------------------------------------------------------------------------------


def to_json(value: Any) -> Any:
    """Bytes as ``{"b64": ...}``; tuples as lists; everything else unchanged."""
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    return value


def from_json(value: Any) -> Any:
    """The inverse of :func:`to_json`; a malformed ``b64`` is CKR_ARGUMENTS_BAD."""
    if isinstance(value, dict):
        if set(value) == {"b64"} and isinstance(value["b64"], str):
            try:
                return base64.b64decode(value["b64"], validate=True)
            except (binascii.Error, ValueError):
                raise Pkcs11Error("CKR_ARGUMENTS_BAD", "malformed base64") from None
        return {str(key): from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_json(item) for item in value]
    return value


def error_json(error: HsmError) -> dict[str, str]:
    return {"error": error.code, "message": error.message}


class DirectLink:
    """The HSMs in this process (tests, benchmarks): ``run(action)`` gives ``action`` an
    engine, as the sandbox does under its row lock. Arguments and results make the JSON round
    trip an HTTP link makes, so both links carry the same values."""

    def __init__(self, run: Callable[[Callable[[Any], Any]], Any]) -> None:
        self._run = run

    def call(self, name: str, /, **arguments: Any) -> Any:
        sent = from_json(json.loads(json.dumps(to_json(arguments))))
        result = self._run(lambda hsm: execute(hsm, name, sent))
        return from_json(json.loads(json.dumps(to_json(result))))
