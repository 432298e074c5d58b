"""The p11-kit RPC server with bad input, message by message and over a real pipe: every
malformed, truncated or unknown message gets a CK_RV, and the connection goes on."""

from __future__ import annotations

import struct
import subprocess
import sys

import pytest

from emulator.cloudhsm.pkcs11 import constants as c
from emulator.cloudhsm.pkcs11 import rpc
from emulator.cloudhsm.pkcs11.library import Pkcs11Library
from emulator.cloudhsm.pkcs11.server import handle
from emulator.cloudhsm.pkcs11.wire import DirectLink
from tests.emulator.conformance.hsm_world import PASSWORDS, make_world


@pytest.fixture
def library():
    world = make_world(1)
    return Pkcs11Library(DirectLink(lambda action: action(world.engine())), world.cluster_id)


def request(call: str, *parts: bytes) -> bytes:
    call_id = rpc.CALL_IDS[call]
    signature = rpc.CALLS[call_id][1].encode()
    return struct.pack(">II", call_id, len(signature)) + signature + b"".join(parts)


def ulong(value: int) -> bytes:
    return struct.pack(">Q", value)


def byte_array(data: bytes) -> bytes:
    return b"\x01" + struct.pack(">I", len(data)) + data


def answer(body: bytes) -> tuple[str, rpc.Reader]:
    reader = rpc.Reader(body)
    call_id = reader.uint32()
    reader.raw_array()  # the signature
    return rpc.CALLS[call_id][0], reader


def error_code(body: bytes) -> str:
    name, reader = answer(body)
    assert name == "ERROR"
    number = reader.ulong()
    return next(code for code, value in c.CKR.items() if value == number)


def open_session(library: Pkcs11Library) -> int:
    flags = c.CKF_SERIAL_SESSION | c.CKF_RW_SESSION
    name, reader = answer(handle(library, request("C_OpenSession", ulong(0), ulong(flags))))
    assert name == "C_OpenSession"
    return reader.ulong()


def login(library: Pkcs11Library, session: int, pin: bytes) -> bytes:
    return handle(library, request("C_Login", ulong(session), ulong(c.CKU_USER), byte_array(pin)))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00\x00",
        struct.pack(">I", 999) + b"\x00\x00\x00\x00",  # an unknown call id
        struct.pack(">I", 0) + b"\x00\x00\x00\x01u",  # ERROR is not a request
        struct.pack(">II", rpc.CALL_IDS["C_OpenSession"], 2) + b"yy",  # wrong signature
        request("C_OpenSession", ulong(0)),  # truncated: flags missing
        request("C_GetInfo") + b"extra",  # trailing bytes
        request("C_Login", ulong(1), ulong(1), b"\x01\xff\xff\xff\x7f"),  # absurd length
    ],
    ids=[
        "empty",
        "short",
        "unknown-call",
        "error-call",
        "signature",
        "truncated",
        "trailing",
        "length",
    ],
)
def test_a_malformed_message_is_a_device_error(library, body):
    assert error_code(handle(library, body)) == "CKR_DEVICE_ERROR"


def test_wrong_pin_before_login_and_unknown_session(library):
    session = open_session(library)
    assert error_code(login(library, session, b"alice:not-it")) == "CKR_PIN_INCORRECT"
    assert error_code(login(library, session, b"nobody")) == "CKR_PIN_INCORRECT"
    mechanism = struct.pack(">I", c.CKM_AES_KEY_GEN) + b"\xff\xff\xff\xff"
    template = struct.pack(">I", 1) + struct.pack(">I", c.CKA_VALUE_LEN) + b"\x01"
    template += struct.pack(">I", 8) + ulong(32)
    generate = request("C_GenerateKey", ulong(session), mechanism, template)
    assert error_code(handle(library, generate)) == "CKR_USER_NOT_LOGGED_IN"
    assert error_code(handle(library, request("C_CloseSession", ulong(4242)))) == (
        "CKR_SESSION_HANDLE_INVALID"
    )
    assert answer(login(library, session, f"alice:{PASSWORDS['alice']}".encode()))[0] == "C_Login"
    name, reader = answer(handle(library, generate))
    assert name == "C_GenerateKey" and reader.ulong() > 0


def test_nothing_is_half_written_when_a_template_is_bad(library):
    session = open_session(library)
    login(library, session, f"alice:{PASSWORDS['alice']}".encode())
    mechanism = struct.pack(">I", c.CKM_AES_KEY_GEN) + b"\xff\xff\xff\xff"
    bad = struct.pack(">I", 2)
    bad += struct.pack(">I", c.CKA_VALUE_LEN) + b"\x01" + struct.pack(">I", 8) + ulong(32)
    bad += struct.pack(">I", 0x163) + b"\x01" + struct.pack(">I", 1) + b"\x01"  # CKA_LOCAL
    outcome = handle(library, request("C_GenerateKey", ulong(session), mechanism, bad))
    assert error_code(outcome) == "CKR_ATTRIBUTE_READ_ONLY"
    assert (
        library.hsm("find_keys", session_id=library.sessions[session].engine_id, filters={}) == []
    )


def test_the_pipe_survives_garbage_and_answers_the_next_call():
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.emulator.pkcs11.direct_server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert server.stdin is not None and server.stdout is not None
    try:
        server.stdin.write(b"\x00")
        server.stdin.flush()
        assert server.stdout.read(1) == b"\x00"  # protocol version 0
        for code, body in ((1, b"garbage"), (2, request("C_GetInfo"))):
            server.stdin.write(struct.pack(">III", code, 0, len(body)) + body)
            server.stdin.flush()
            frame = rpc.read_frame(server.stdout)
            assert frame is not None and frame[0] == code
            outcome = frame[1]
        assert answer(outcome)[0] == "C_GetInfo"
        server.stdin.close()
        assert server.wait(timeout=30) == 0
    finally:
        server.kill()


def test_the_numbers_are_pkcs11s():
    # CKR numbers are checked end to end by the p11-kit conformance run, where python-pkcs11
    # names the error each number raises.
    from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

    attribute_names = {
        c.CKA_CLASS: "CLASS",
        c.CKA_TOKEN: "TOKEN",
        c.CKA_LABEL: "LABEL",
        c.CKA_VALUE: "VALUE",
        c.CKA_KEY_TYPE: "KEY_TYPE",
        c.CKA_ID: "ID",
        c.CKA_SENSITIVE: "SENSITIVE",
        c.CKA_MODULUS: "MODULUS",
        c.CKA_MODULUS_BITS: "MODULUS_BITS",
        c.CKA_PUBLIC_EXPONENT: "PUBLIC_EXPONENT",
        c.CKA_VALUE_LEN: "VALUE_LEN",
        c.CKA_EC_PARAMS: "EC_PARAMS",
        c.CKA_EC_POINT: "EC_POINT",
        c.CKA_CHECK_VALUE: "CHECK_VALUE",
        c.CKA_PRIVATE_EXPONENT: "PRIVATE_EXPONENT",
    }
    for number, name in attribute_names.items():
        assert Attribute[name] == number
    for number, name in c.BOOLEAN_ATTRIBUTES.items():
        assert Attribute[name.upper().replace("-", "_")] == number
    for number, name in c.MECHANISMS.items():
        assert Mechanism[name.removeprefix("CKM_").replace("SHA1_HMAC", "SHA_1_HMAC")] == number
    for number, name in c.CKO.items():
        assert ObjectClass[name.upper().replace("-", "_")] == number
    for number, name in c.CKK.items():
        assert KeyType[name.upper().replace("-", "_")] == number


def attribute(kind: int, value: bytes | int | bool) -> bytes:
    if isinstance(value, bool):
        return struct.pack(">IBI", kind, 1, 1) + bytes([value])
    if isinstance(value, int):
        return struct.pack(">IBI", kind, 1, 8) + ulong(value)
    return struct.pack(">IBI", kind, 1, len(value)) + struct.pack(">I", len(value)) + value


def template(*attributes: bytes) -> bytes:
    return struct.pack(">I", len(attributes)) + b"".join(attributes)


def test_aes_gcm_as_newer_p11_kit_clients_encode_it(library):
    # p11-kit 0.25+ (rpc-message.c, p11_rpc_buffer_add_aes_gcm_mechanism_value): IV as a byte
    # array, ulIvBits, AAD as a byte array, ulTagBits. Debian 12's 0.24 cannot send it.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    session = open_session(library)
    login(library, session, f"alice:{PASSWORDS['alice']}".encode())
    secret, iv = bytes(range(32)), bytes(12)
    key_template = template(
        attribute(c.CKA_CLASS, 4),
        attribute(c.CKA_KEY_TYPE, 0x1F),
        attribute(c.CKA_VALUE, secret),
        attribute(0x104, True),  # CKA_ENCRYPT
    )
    name, reader = answer(handle(library, request("C_CreateObject", ulong(session), key_template)))
    assert name == "C_CreateObject"
    key = reader.ulong()
    gcm = struct.pack(">I", c.CKM_AES_GCM) + struct.pack(">I", 12) + iv + ulong(96)
    gcm += struct.pack(">I", 3) + b"aad" + ulong(128)
    init = handle(library, request("C_EncryptInit", ulong(session), gcm, ulong(key)))
    assert answer(init)[0] == "C_EncryptInit"
    size_query = request("C_Encrypt", ulong(session), byte_array(b"hello"), struct.pack(">I", 0))
    name, reader = answer(handle(library, size_query))
    assert (name, reader.byte(), reader.uint32()) == ("C_Encrypt", 0, 5 + 16)
    encrypt = request("C_Encrypt", ulong(session), byte_array(b"hello"), struct.pack(">I", 64))
    name, reader = answer(handle(library, encrypt))
    assert reader.byte_array() == AESGCM(secret).encrypt(iv, b"hello", b"aad")
