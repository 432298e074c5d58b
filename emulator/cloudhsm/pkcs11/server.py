"""The p11-kit RPC server: what ``p11-kit-client.so`` talks to over the exec transport.

``P11_KIT_SERVER_ADDRESS="|command ..."`` makes the client spawn the command at C_Initialize
and speak to its stdin and stdout: one version byte each way, then request frames answered
in order (``rpc-server.c``'s ``p11_kit_remote_serve_module``). Each request decodes by its
call's signature, runs on :class:`~.library.Pkcs11Library`, and encodes the response; an
error is answered as the ERROR call with its CK_RV. Unlike p11-kit's own server, a
malformed message is answered (CKR_DEVICE_ERROR) instead of ending the connection, and an
unexpected failure is logged and answered CKR_GENERAL_ERROR, so a client never hangs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import BinaryIO

from ..errors import Pkcs11Error
from . import constants as c
from . import operations as ops
from .library import SLOT_ID, Pkcs11Library
from .rpc import (
    CALL_IDS,
    CALLS,
    HANDSHAKE,
    PROTOCOL_VERSION,
    Reader,
    RpcProtocolError,
    Writer,
    error_body,
    parse_request,
    read_frame,
    write_frame,
)
from .templates import as_template

logger = logging.getLogger(__name__)

MANUFACTURER = "Amazon Web Services (emulated)"
Handler = Callable[[Pkcs11Library, Reader, Writer], None]
HANDLERS: dict[str, Handler] = {}


def handler(function: Handler) -> Handler:
    HANDLERS["C_" + "".join(part.title() for part in function.__name__.split("_"))] = function
    return function


def _unsupported(code: str) -> Handler:
    def refuse(_library: Pkcs11Library, _reader: Reader, _writer: Writer) -> None:
        raise Pkcs11Error(code, "not supported by the CloudHSM PKCS #11 library")

    return refuse


# --- general, slot and token ----------------------------------------------------------------


@handler
def initialize(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    if reader.byte_array() != HANDSHAKE:
        raise Pkcs11Error("CKR_GENERAL_ERROR", "wrong handshake: not a p11-kit RPC client")
    reader.byte()
    reader.byte_array()


@handler
def finalize(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    """Answered at once; ``serve`` closes the sessions after replying, because a caller may
    sit inside C_Finalize (holding what the HSMs need, as python-pkcs11 holds the GIL) until
    the answer comes."""


@handler
def get_info(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    writer.version(2, 40)
    writer.space_string(MANUFACTURER, 32)
    writer.ulong(0)
    writer.space_string("AWS CloudHSM PKCS #11 (sandbox)", 32)
    writer.version(5, 0)


@handler
def get_slot_list(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    reader.byte()
    room = reader.buffer_size()
    writer.ulong_array([SLOT_ID] if room else None, 1)


@handler
def get_slot_info(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    library.check_slot(reader.ulong())
    writer.space_string(f"CloudHSM cluster {library.cluster_id}", 64)
    writer.space_string(MANUFACTURER, 32)
    writer.ulong(c.CKF_TOKEN_PRESENT | c.CKF_HW_SLOT)
    writer.version(5, 0)
    writer.version(5, 0)


@handler
def get_token_info(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    info = library.token_info(reader.ulong())
    flags = c.CKF_RNG | c.CKF_LOGIN_REQUIRED | c.CKF_TOKEN_INITIALIZED
    if info["activated"]:
        flags |= c.CKF_USER_PIN_INITIALIZED
    writer.space_string(library.cluster_id, 32)
    writer.space_string(MANUFACTURER, 32)
    writer.space_string(str(info["hsm_type"]), 16)
    writer.space_string(library.cluster_id.removeprefix("cluster-")[-16:], 16)
    writer.ulong(flags)
    for value in (0, info["sessions"], 0, info["rw_sessions"], 96, 3):
        writer.ulong(value)  # max/open sessions, max/open RW sessions, PIN length range
    for _ in range(4):
        writer.ulong(c.UNAVAILABLE)  # public and private memory
    writer.version(5, 0)
    writer.version(5, 0)
    writer.space_string(info["utc_time"], 16)


@handler
def get_mechanism_list(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    library.check_slot(reader.ulong())
    room = reader.buffer_size()
    mechanisms = ops.mechanism_list()
    writer.ulong_array(mechanisms if room >= len(mechanisms) else None, len(mechanisms))


@handler
def get_mechanism_info(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    library.check_slot(reader.ulong())
    for value in ops.mechanism_info(reader.ulong()):
        writer.ulong(value)


# --- sessions and login ----------------------------------------------------------------------


@handler
def open_session(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    slot, flags = reader.ulong(), reader.ulong()
    writer.ulong(library.open_session(slot, flags))


@handler
def close_session(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    library.close_session(reader.ulong())


@handler
def close_all_sessions(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    library.close_all_sessions(reader.ulong())


@handler
def get_session_info(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    for value in (*library.session_info(reader.ulong()), 0):
        writer.ulong(value)


@handler
def login(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    handle, user_type = reader.ulong(), reader.ulong()
    library.login(handle, user_type, reader.byte_array())


@handler
def logout(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    library.logout(reader.ulong())


# --- objects ---------------------------------------------------------------------------------


@handler
def create_object(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    handle = reader.ulong()
    writer.ulong(library.create_object(handle, as_template(reader.attribute_array())))


@handler
def destroy_object(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    handle, key = reader.ulong(), reader.ulong()
    library.destroy_object(handle, key)


@handler
def get_attribute_value(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    handle, key = reader.ulong(), reader.ulong()
    wanted = reader.attribute_buffer()
    answers, outcome = library.get_attribute_values(handle, key, wanted)
    writer.uint32(len(answers))
    for request, (kind, value) in zip(wanted, answers, strict=True):
        writer.attribute(kind, value, with_value=request.size > 0)
    writer.ulong(c.CKR[outcome])


@handler
def set_attribute_value(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    handle, key = reader.ulong(), reader.ulong()
    library.set_attribute_values(handle, key, as_template(reader.attribute_array()))


@handler
def find_objects_init(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    handle = reader.ulong()
    library.find_objects_init(handle, as_template(reader.attribute_array()))


@handler
def find_objects(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    handle = reader.ulong()
    found = library.find_objects(handle, reader.buffer_size())
    writer.ulong_array(found, len(found))


@handler
def find_objects_final(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    library.find_objects_final(reader.ulong())


@handler
def generate_key(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    handle, mechanism = reader.ulong(), reader.mechanism()
    template = as_template(reader.attribute_array())
    writer.ulong(library.generate_key(handle, mechanism.type, template))


@handler
def generate_key_pair(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    handle, mechanism = reader.ulong(), reader.mechanism()
    public = as_template(reader.attribute_array())
    private = as_template(reader.attribute_array())
    for key in library.generate_key_pair(handle, mechanism.type, public, private):
        writer.ulong(key)


@handler
def wrap_key(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    handle, mechanism = reader.ulong(), reader.mechanism()
    wrapping, key, room = reader.ulong(), reader.ulong(), reader.buffer_size()
    writer.byte_array(*ops.wrap(library, handle, mechanism, wrapping, key, room))


@handler
def unwrap_key(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    handle, mechanism, unwrapping = reader.ulong(), reader.mechanism(), reader.ulong()
    wrapped = reader.byte_array()
    template = as_template(reader.attribute_array())
    writer.ulong(ops.unwrap(library, handle, mechanism, unwrapping, wrapped, template))


@handler
def generate_random(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
    handle, length = reader.ulong(), reader.buffer_size()
    data = library.generate_random(handle, length)
    writer.byte_array(data, len(data))


# --- cryptographic operations ----------------------------------------------------------------


def _operation_handlers(kind: str, with_key: bool) -> None:
    title = kind.title()

    def init(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
        handle, mechanism = reader.ulong(), reader.mechanism()
        key = reader.ulong() if with_key else None
        ops.begin(library, handle, kind, mechanism, key)

    has_output = CALLS[CALL_IDS[f"C_{title}Update"]][1] == "uayfy"  # encrypt, decrypt

    def update(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
        handle, data = reader.ulong(), reader.byte_array()
        if has_output:
            reader.buffer_size()
        ops.update(library, handle, kind, data)
        if has_output:
            writer.byte_array(b"", 0)  # collected until Final

    HANDLERS[f"C_{title}Init"] = init
    HANDLERS[f"C_{title}Update"] = update
    if kind == "verify":
        HANDLERS["C_Verify"] = lambda library, reader, writer: ops.verify(
            library, reader.ulong(), reader.byte_array() or b"", reader.byte_array()
        )
        HANDLERS["C_VerifyFinal"] = lambda library, reader, writer: ops.verify(
            library, reader.ulong(), None, reader.byte_array()
        )
        return

    def single(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
        handle, data, room = reader.ulong(), reader.byte_array(), reader.buffer_size()
        writer.byte_array(*ops.single(library, handle, kind, data, room))

    def final(library: Pkcs11Library, reader: Reader, writer: Writer) -> None:
        handle, room = reader.ulong(), reader.buffer_size()
        writer.byte_array(*ops.final(library, handle, kind, room))

    HANDLERS[f"C_{title}"] = single
    HANDLERS[f"C_{title}Final"] = final


for _kind in ("encrypt", "decrypt", "sign", "verify"):
    _operation_handlers(_kind, with_key=True)
_operation_handlers("digest", with_key=False)

for _name in (
    "C_InitToken",
    "C_InitPIN",
    "C_SetPIN",
    "C_GetOperationState",
    "C_SetOperationState",
    "C_CopyObject",
    "C_GetObjectSize",
    "C_DigestKey",
    "C_SignRecoverInit",
    "C_SignRecover",
    "C_VerifyRecoverInit",
    "C_VerifyRecover",
    "C_DigestEncryptUpdate",
    "C_DecryptDigestUpdate",
    "C_SignEncryptUpdate",
    "C_DecryptVerifyUpdate",
    "C_DeriveKey",
    "C_WaitForSlotEvent",
):
    HANDLERS[_name] = _unsupported("CKR_FUNCTION_NOT_SUPPORTED")
HANDLERS["C_SeedRandom"] = _unsupported("CKR_RANDOM_SEED_NOT_SUPPORTED")


# --- the connection --------------------------------------------------------------------------


def handle(library: Pkcs11Library, body: bytes) -> bytes:
    """One request body -> one response body; never raises."""
    try:
        call_id, reader = parse_request(body)
        writer = Writer(call_id)
        HANDLERS[CALLS[call_id][0]](library, reader, writer)
        reader.done()
        return writer.body()
    except Pkcs11Error as error:
        if error.code == "CKR_DEVICE_ERROR":
            # The HSMs could not be reached or refused the client: the application sees only
            # the code, so say why where its user can read it (p11-kit passes stderr through).
            logger.warning("%s", error.message)
        return error_body(c.CKR.get(error.code, c.CKR["CKR_FUNCTION_FAILED"]))
    except RpcProtocolError as error:
        logger.warning("malformed p11-kit message: %s", error)
        return error_body(c.CKR["CKR_DEVICE_ERROR"])
    except Exception:
        logger.exception("the PKCS #11 server failed on a request")
        return error_body(c.CKR["CKR_GENERAL_ERROR"])


def serve(library: Pkcs11Library, incoming: BinaryIO, outgoing: BinaryIO) -> None:
    """Answer one client until it closes the connection; then close its sessions."""
    try:
        version = incoming.read(1)
        if not version:
            return
        outgoing.write(bytes([min(version[0], PROTOCOL_VERSION)]))
        outgoing.flush()
        while True:
            try:
                frame = read_frame(incoming)
            except RpcProtocolError as error:
                logger.warning("closing a broken p11-kit connection: %s", error)
                return
            if frame is None:
                return
            code, body = frame
            write_frame(outgoing, code, handle(library, body))
            if body[:4] == CALL_IDS["C_Finalize"].to_bytes(4, "big"):
                library.finalize()
    finally:
        library.finalize()
