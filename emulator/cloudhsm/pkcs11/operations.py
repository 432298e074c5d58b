"""C_EncryptInit ... C_VerifyFinal, C_Digest*, C_WrapKey and C_UnwrapKey in the client library.

An Init call checks what the client can know (the session, no operation in progress, the
mechanism) and records the operation; the HSM does the work, all of it, at the single-part
call or at Final, so multi-part calls collect the data and answer updates with no output.
A size query (no output buffer) runs the operation and keeps the result for the next call,
as PKCS #11 allows; any error other than CKR_BUFFER_TOO_SMALL ends the operation.
"""

from __future__ import annotations

from typing import Any

from ..errors import Pkcs11Error
from ..mechanisms import DIGESTS, SIGN_MECHANISMS, SYMMETRIC_ENCRYPT, WRAP_MECHANISMS
from . import constants as c
from . import templates
from .library import Operation, Pkcs11Library, Session
from .rpc import Mechanism
from .templates import Template

_ENCRYPTING = frozenset({*SYMMETRIC_ENCRYPT, "CKM_RSA_PKCS_OAEP"})
ALLOWED = {
    "encrypt": _ENCRYPTING,
    "decrypt": _ENCRYPTING,
    "sign": frozenset(SIGN_MECHANISMS),
    "verify": frozenset(SIGN_MECHANISMS),
    "digest": frozenset(DIGESTS),
    "wrap": frozenset(WRAP_MECHANISMS),
}


def engine_mechanism(mechanism: Mechanism, kind: str) -> tuple[str, dict[str, Any]]:
    """The engine's mechanism name and options for a CK_MECHANISM used to ``kind``."""
    name = c.MECHANISMS.get(mechanism.type)
    if name is None or name not in ALLOWED[kind]:
        raise Pkcs11Error("CKR_MECHANISM_INVALID", f"mechanism 0x{mechanism.type:x} for {kind}")
    options: dict[str, Any] = {}
    if name in ("CKM_RSA_PKCS_OAEP", "CKM_RSA_PKCS_PSS"):
        hash_name = c.HASH_MECHANISMS.get(mechanism.hash_alg or -1)
        if hash_name is None or c.MGF1.get(mechanism.mgf or -1) != hash_name:
            raise Pkcs11Error(
                "CKR_MECHANISM_PARAM_INVALID", "the hash and MGF1 must be one SHA, as on CloudHSM"
            )
        options["hash_name"] = hash_name
        if name == "CKM_RSA_PKCS_PSS":
            options["salt_length"] = mechanism.salt_length
        elif mechanism.source_data:
            options["oaep_label"] = mechanism.source_data
    elif name == "CKM_AES_GCM":
        if mechanism.parameter is None or mechanism.tag_bits is None:
            raise Pkcs11Error("CKR_MECHANISM_PARAM_INVALID", "CKM_AES_GCM needs CK_GCM_PARAMS")
        options.update(
            iv=mechanism.parameter, aad=mechanism.aad or b"", tag_bits=mechanism.tag_bits
        )
    elif name in ("CKM_AES_CBC_PAD", "CKM_AES_CTR") and mechanism.parameter is not None:
        options["iv"] = mechanism.parameter
    elif mechanism.parameter:
        raise Pkcs11Error("CKR_MECHANISM_PARAM_INVALID", f"{name} takes no raw parameter here")
    return name, options


def begin(
    library: Pkcs11Library, handle: int, kind: str, mechanism: Mechanism, key: int | None
) -> None:
    """C_EncryptInit, C_DecryptInit, C_SignInit, C_VerifyInit, C_DigestInit."""
    session = library.session(handle)
    if session.operation is not None:
        raise Pkcs11Error("CKR_OPERATION_ACTIVE", f"a {session.operation.kind} is in progress")
    name, options = engine_mechanism(mechanism, kind)
    session.operation = Operation(kind, name, key, options)


def _current(session: Session, kind: str) -> Operation:
    operation = session.operation
    if operation is None or operation.kind != kind:
        raise Pkcs11Error("CKR_OPERATION_NOT_INITIALIZED", f"call C_{kind.title()}Init first")
    return operation


def _run(library: Pkcs11Library, session: Session, operation: Operation, **extra: Any) -> Any:
    data = bytes(operation.data)
    if operation.kind == "digest":
        return library.hsm(
            "digest", session_id=session.engine_id, mechanism=operation.mechanism, data=data
        )
    return library.hsm(
        operation.kind,
        session_id=session.engine_id,
        handle=operation.handle,
        mechanism=operation.mechanism,
        data=data,
        **operation.options,
        **extra,
    )


def _output(
    library: Pkcs11Library, session: Session, operation: Operation, room: int
) -> tuple[bytes | None, int]:
    """The operation's output for a caller offering ``room`` bytes (0: a size query):
    (bytes, length), or (None, length) when the caller must ask again."""
    if operation.result is None:
        try:
            operation.result = _run(library, session, operation)
        except Pkcs11Error:
            session.operation = None
            raise
    result = operation.result
    if room == 0 or room < len(result):
        return None, len(result)  # CKR_BUFFER_TOO_SMALL when room > 0: the operation stays
    session.operation = None
    return result, len(result)


def single(
    library: Pkcs11Library, handle: int, kind: str, data: bytes | None, room: int
) -> tuple[bytes | None, int]:
    """C_Encrypt, C_Decrypt, C_Sign, C_Digest."""
    session = library.session(handle)
    operation = _current(session, kind)
    if operation.result is None:
        operation.data[:] = data or b""
    return _output(library, session, operation, room)


def update(library: Pkcs11Library, handle: int, kind: str, data: bytes | None) -> None:
    """C_*Update: collected until Final."""
    operation = _current(library.session(handle), kind)
    operation.data += data or b""


def final(library: Pkcs11Library, handle: int, kind: str, room: int) -> tuple[bytes | None, int]:
    """C_EncryptFinal, C_DecryptFinal, C_SignFinal, C_DigestFinal."""
    session = library.session(handle)
    return _output(library, session, _current(session, kind), room)


def verify(
    library: Pkcs11Library, handle: int, data: bytes | None, signature: bytes | None
) -> None:
    """C_Verify (``data`` given) or C_VerifyFinal (``data`` None: what updates collected)."""
    session = library.session(handle)
    operation = _current(session, "verify")
    if data is not None:
        operation.data[:] = data
    session.operation = None
    _run(library, session, operation, signature=signature or b"")


def wrap(
    library: Pkcs11Library, handle: int, mechanism: Mechanism, wrapping: int, key: int, room: int
) -> tuple[bytes | None, int]:
    """C_WrapKey; a size query wraps once and keeps the blob for the call that follows."""
    session = library.session(handle)
    name, options = engine_mechanism(mechanism, "wrap")
    request = (name, tuple(sorted(options.items())), wrapping, key)
    if session.pending_wrap is not None and session.pending_wrap[0] == request:
        blob = session.pending_wrap[1]
    else:
        blob = library.hsm(
            "wrap_key",
            session_id=session.engine_id,
            wrapping_handle=wrapping,
            key_handle=key,
            mechanism=name,
            **options,
        )
    if room == 0 or room < len(blob):
        session.pending_wrap = (request, blob)
        return None, len(blob)
    session.pending_wrap = None
    return blob, len(blob)


def unwrap(
    library: Pkcs11Library,
    handle: int,
    mechanism: Mechanism,
    unwrapping: int,
    wrapped: bytes | None,
    template: Template,
) -> int:
    """C_UnwrapKey: CKA_CLASS (secret by default) and CKA_KEY_TYPE say what the blob is."""
    session = library.session(handle)
    name, options = engine_mechanism(mechanism, "wrap")
    key_class = c.CKO.get(int(template.get(c.CKA_CLASS, 4)))
    key_type = c.CKK.get(int(template.get(c.CKA_KEY_TYPE, -1)))
    if key_class is None or key_type is None:
        raise Pkcs11Error("CKR_TEMPLATE_INCOMPLETE", "CKA_CLASS and CKA_KEY_TYPE are needed")
    label, attributes, token = templates.split_creation(template, frozenset())
    result: int = library.hsm(
        "unwrap_key",
        session_id=session.engine_id,
        unwrapping_handle=unwrapping,
        wrapped=wrapped or b"",
        mechanism=name,
        key_type=key_type,
        key_class=key_class,
        label=label,
        attributes=attributes,
        token=token,
        **options,
    )
    return result


def mechanism_list() -> list[int]:
    """What C_GetMechanismList offers: generation plus every mechanism the engine runs."""
    return sorted({*c.KEY_GENERATION, *c.MECHANISMS})


def mechanism_info(number: int) -> tuple[int, int, int]:
    """(min key size, max key size, flags) in the units PKCS #11 uses for the key type."""
    if number in (c.CKM_RSA_PKCS_KEY_PAIR_GEN,):
        return 2048, 8192, c.CKF_HW | c.CKF_GENERATE_KEY_PAIR
    if number == c.CKM_EC_KEY_PAIR_GEN:
        curve_flags = c.CKF_EC_NAMED_CURVE | c.CKF_EC_UNCOMPRESS
        return 256, 521, c.CKF_HW | c.CKF_GENERATE_KEY_PAIR | curve_flags
    if number == c.CKM_AES_KEY_GEN:
        return 16, 32, c.CKF_HW | c.CKF_GENERATE
    if number == c.CKM_GENERIC_SECRET_KEY_GEN:
        return 1, 800, c.CKF_HW | c.CKF_GENERATE
    name = c.MECHANISMS.get(number)
    if name is None:
        raise Pkcs11Error("CKR_MECHANISM_INVALID", f"mechanism 0x{number:x}")
    flags = c.CKF_HW
    if name in _ENCRYPTING:
        flags |= c.CKF_ENCRYPT | c.CKF_DECRYPT
    if name in SIGN_MECHANISMS:
        flags |= c.CKF_SIGN | c.CKF_VERIFY
    if name in DIGESTS:
        flags |= c.CKF_DIGEST
    if name in WRAP_MECHANISMS:
        flags |= c.CKF_WRAP | c.CKF_UNWRAP
    spec = SIGN_MECHANISMS.get(name)
    if name.startswith("CKM_AES"):
        return 16, 32, flags
    if spec is not None and spec.key_type == "ec":
        return 256, 521, flags
    if spec is not None and spec.key_type == "generic-secret":
        return 1, 800, flags
    if name in DIGESTS:
        return 0, 0, flags
    return 2048, 8192, flags
