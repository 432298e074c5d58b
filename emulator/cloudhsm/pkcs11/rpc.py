"""The p11-kit RPC wire format (p11-kit 0.24, ``p11-kit/rpc-message.[ch]``), both directions.

A frame is a 12-byte header (call code, options length, body length: big-endian uint32)
then the options and the body. A body is a uint32 call id, the call's signature as a byte
array, then the values the signature names:

``y`` byte; ``u`` CK_ULONG as uint64; ``ay`` validity byte then (if valid) a byte array, else
only its length; ``au`` validity byte, count, then (if valid) that many uint64; ``fy`` / ``fu``
a buffer the caller offers (uint32 size, 0 meaning "tell me the size"); ``aA`` an attribute
template with values; ``fA`` a template of (type, buffer size) pairs; ``M`` a mechanism;
``z`` a string; ``s`` a blank-padded string of a fixed size; ``v`` a CK_VERSION.

A byte array is a uint32 length (0xffffffff for NULL) then the bytes. An attribute is
its uint32 type, a validity byte, a uint32 length, then its value serialized by type (see
``constants.VALUE_*``). Errors travel as call id 0 with signature ``u`` and the CK_RV.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from . import constants as c

HANDSHAKE = b"PRIVATE-GNOME-KEYRING-PKCS11-PROTOCOL-V-1"
PROTOCOL_VERSION = 0  # what p11-kit 0.24 (Debian 12) speaks
MAX_FRAME = 16 * 1024 * 1024
NULL_LENGTH = 0xFFFFFFFF

# (name, request signature, response signature), indexed by call id (rpc-message.h).
CALLS: tuple[tuple[str, str | None, str], ...] = (
    ("ERROR", None, "u"),
    ("C_Initialize", "ayyay", ""),
    ("C_Finalize", "", ""),
    ("C_GetInfo", "", "vsusv"),
    ("C_GetSlotList", "yfu", "au"),
    ("C_GetSlotInfo", "u", "ssuvv"),
    ("C_GetTokenInfo", "u", "ssssuuuuuuuuuuuvvs"),
    ("C_GetMechanismList", "ufu", "au"),
    ("C_GetMechanismInfo", "uu", "uuu"),
    ("C_InitToken", "uayz", ""),
    ("C_OpenSession", "uu", "u"),
    ("C_CloseSession", "u", ""),
    ("C_CloseAllSessions", "u", ""),
    ("C_GetSessionInfo", "u", "uuuu"),
    ("C_InitPIN", "uay", ""),
    ("C_SetPIN", "uayay", ""),
    ("C_GetOperationState", "ufy", "ay"),
    ("C_SetOperationState", "uayuu", ""),
    ("C_Login", "uuay", ""),
    ("C_Logout", "u", ""),
    ("C_CreateObject", "uaA", "u"),
    ("C_CopyObject", "uuaA", "u"),
    ("C_DestroyObject", "uu", ""),
    ("C_GetObjectSize", "uu", "u"),
    ("C_GetAttributeValue", "uufA", "aAu"),
    ("C_SetAttributeValue", "uuaA", ""),
    ("C_FindObjectsInit", "uaA", ""),
    ("C_FindObjects", "ufu", "au"),
    ("C_FindObjectsFinal", "u", ""),
    ("C_EncryptInit", "uMu", ""),
    ("C_Encrypt", "uayfy", "ay"),
    ("C_EncryptUpdate", "uayfy", "ay"),
    ("C_EncryptFinal", "ufy", "ay"),
    ("C_DecryptInit", "uMu", ""),
    ("C_Decrypt", "uayfy", "ay"),
    ("C_DecryptUpdate", "uayfy", "ay"),
    ("C_DecryptFinal", "ufy", "ay"),
    ("C_DigestInit", "uM", ""),
    ("C_Digest", "uayfy", "ay"),
    ("C_DigestUpdate", "uay", ""),
    ("C_DigestKey", "uu", ""),
    ("C_DigestFinal", "ufy", "ay"),
    ("C_SignInit", "uMu", ""),
    ("C_Sign", "uayfy", "ay"),
    ("C_SignUpdate", "uay", ""),
    ("C_SignFinal", "ufy", "ay"),
    ("C_SignRecoverInit", "uMu", ""),
    ("C_SignRecover", "uayfy", "ay"),
    ("C_VerifyInit", "uMu", ""),
    ("C_Verify", "uayay", ""),
    ("C_VerifyUpdate", "uay", ""),
    ("C_VerifyFinal", "uay", ""),
    ("C_VerifyRecoverInit", "uMu", ""),
    ("C_VerifyRecover", "uayfy", "ay"),
    ("C_DigestEncryptUpdate", "uayfy", "ay"),
    ("C_DecryptDigestUpdate", "uayfy", "ay"),
    ("C_SignEncryptUpdate", "uayfy", "ay"),
    ("C_DecryptVerifyUpdate", "uayfy", "ay"),
    ("C_GenerateKey", "uMaA", "u"),
    ("C_GenerateKeyPair", "uMaAaA", "uu"),
    ("C_WrapKey", "uMuufy", "ay"),
    ("C_UnwrapKey", "uMuayaA", "u"),
    ("C_DeriveKey", "uMuaA", "u"),
    ("C_SeedRandom", "uay", ""),
    ("C_GenerateRandom", "ufy", "ay"),
    ("C_WaitForSlotEvent", "u", "u"),
)
CALL_IDS = {name: number for number, (name, _, _) in enumerate(CALLS)}


class RpcProtocolError(Exception):
    """The bytes are not a well-formed p11-kit message (answered with CKR_DEVICE_ERROR, the
    code p11-kit's own server uses for a parse failure)."""


@dataclass
class Mechanism:
    """A CK_MECHANISM as it crossed the wire: the type and its decoded parameter."""

    type: int
    parameter: bytes | None = None
    hash_alg: int | None = None  # OAEP and PSS
    mgf: int | None = None
    salt_length: int | None = None  # PSS
    source_data: bytes | None = None  # OAEP label
    aad: bytes | None = None  # GCM
    tag_bits: int | None = None  # GCM


@dataclass
class Attribute:
    """One CK_ATTRIBUTE: ``value`` is None for "no value" (length -1 on the wire); in a
    ``fA`` template ``size`` is the caller's buffer size (0: it asks for the size)."""

    type: int
    value: bytes | int | bool | None = None
    size: int = 0


class Reader:
    """Reads the values of one request body in signature order."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def _take(self, count: int) -> bytes:
        if count < 0 or self.offset + count > len(self.data):
            raise RpcProtocolError("the message is truncated")
        chunk = self.data[self.offset : self.offset + count]
        self.offset += count
        return chunk

    def byte(self) -> int:
        return self._take(1)[0]

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self._take(4))[0]
        return value

    def ulong(self) -> int:
        value: int = struct.unpack(">Q", self._take(8))[0]
        return value

    def raw_array(self) -> bytes | None:
        length = self.uint32()
        if length == NULL_LENGTH:
            return None
        if length >= 0x7FFFFFFF:
            raise RpcProtocolError("byte array too long")
        return self._take(length)

    def byte_array(self) -> bytes | None:
        """``ay``: None when the caller sent no data."""
        if not self.byte():
            self.uint32()  # only a length
            return None
        return self.raw_array()

    def buffer_size(self) -> int:
        """``fy`` and ``fu``: how much room the caller has (0: it asks for the size)."""
        return self.uint32()

    def attribute_buffer(self) -> list[Attribute]:
        """``fA``: the types the caller asks for, each with its buffer size."""
        return [Attribute(self.uint32(), size=self.uint32()) for _ in range(self._count())]

    def attribute_array(self) -> list[Attribute]:
        """``aA``: a template with values."""
        return [self._attribute() for _ in range(self._count())]

    def _count(self) -> int:
        count = self.uint32()
        if count > 4096:
            raise RpcProtocolError("too many attributes")
        return count

    def _attribute(self) -> Attribute:
        kind = self.uint32()
        if not self.byte():
            return Attribute(kind)
        self.uint32()  # the sender's native length; the value carries its own
        if kind in c.VALUE_BYTE:
            return Attribute(kind, bool(self.byte()))
        if kind in c.VALUE_ULONG:
            return Attribute(kind, self.ulong())
        if kind in c.VALUE_TEMPLATE:
            raise RpcProtocolError("nested attribute templates are not supported")
        if kind in c.VALUE_MECHANISMS:
            for _ in range(self._count()):
                self.ulong()
            return Attribute(kind, None)
        return Attribute(kind, self.raw_array() or b"")

    def mechanism(self) -> Mechanism:
        kind = self.uint32()
        if kind in (c.CKM_RSA_PKCS_OAEP, c.CKM_RSA_PKCS_PSS):
            hash_alg, mgf, third = self.ulong(), self.ulong(), self.ulong()
            if kind == c.CKM_RSA_PKCS_PSS:
                return Mechanism(kind, hash_alg=hash_alg, mgf=mgf, salt_length=third)
            source = self.raw_array()
            return Mechanism(kind, hash_alg=hash_alg, mgf=mgf, source_data=source or None)
        # p11-kit 0.25 and later also carry these (0.24's client refuses them before sending).
        if kind == c.CKM_AES_GCM:
            iv = self.raw_array()
            self.ulong()  # ulIvBits
            aad = self.raw_array()
            return Mechanism(kind, iv, aad=aad or b"", tag_bits=self.ulong())
        if kind == c.CKM_AES_CTR:
            self.ulong()  # ulCounterBits
            return Mechanism(kind, self.raw_array())
        return Mechanism(kind, self.raw_array())

    def done(self) -> None:
        if self.offset != len(self.data):
            raise RpcProtocolError("trailing bytes after the message")


class Writer:
    """Builds one response body."""

    def __init__(self, call_id: int) -> None:
        signature = CALLS[call_id][2].encode()
        self.parts: list[bytes] = [struct.pack(">II", call_id, len(signature)), signature]

    def body(self) -> bytes:
        return b"".join(self.parts)

    def byte(self, value: int) -> None:
        self.parts.append(bytes([value & 0xFF]))

    def uint32(self, value: int) -> None:
        self.parts.append(struct.pack(">I", value))

    def ulong(self, value: int) -> None:
        self.parts.append(struct.pack(">Q", value & 0xFFFFFFFFFFFFFFFF))

    def raw_array(self, data: bytes | None) -> None:
        if data is None:
            self.uint32(NULL_LENGTH)
        else:
            self.uint32(len(data))
            self.parts.append(data)

    def byte_array(self, data: bytes | None, length: int) -> None:
        """``ay``: the data, or (None) only the length the caller needs."""
        if data is None:
            self.byte(0)
            self.uint32(length)
        else:
            self.byte(1)
            self.raw_array(data)

    def ulong_array(self, values: list[int] | None, count: int) -> None:
        """``au``: the values, or (None) only how many there are."""
        self.byte(0 if values is None else 1)
        self.uint32(count)
        for value in values or ():
            self.ulong(value)

    def space_string(self, text: str, size: int) -> None:
        """``s``: blank-padded to exactly ``size`` bytes (CK_INFO, CK_TOKEN_INFO ...)."""
        self.raw_array(text.encode()[:size].ljust(size, b" "))

    def version(self, major: int, minor: int) -> None:
        self.byte(major)
        self.byte(minor)

    def attribute(self, kind: int, value: bytes | int | bool | None, *, with_value: bool) -> None:
        """One attribute of a ``aA`` response; ``with_value`` False answers a size query."""
        self.uint32(kind)
        if value is None:
            self.byte(0)
            return
        self.byte(1)
        if kind in c.VALUE_BYTE:
            self.uint32(1)
            self.byte(int(bool(value)) if with_value else 0)
        elif kind in c.VALUE_ULONG:
            self.uint32(8)
            self.ulong(int(value) if with_value else 0)
        else:
            data = value if isinstance(value, bytes) else bytes(value)
            self.uint32(len(data))
            self.raw_array(data if with_value else None)


def error_body(code: int) -> bytes:
    writer = Writer(CALL_IDS["ERROR"])
    writer.ulong(code)
    return writer.body()


def parse_request(body: bytes) -> tuple[int, Reader]:
    """The call id and a reader positioned after the signature, which must be the call's."""
    reader = Reader(body)
    call_id = reader.uint32()
    if call_id == 0 or call_id >= len(CALLS):
        raise RpcProtocolError(f"unknown call id {call_id}")
    signature = reader.raw_array()
    if signature is None or signature.decode("latin-1") != CALLS[call_id][1]:
        raise RpcProtocolError(f"signature mismatch for {CALLS[call_id][0]}")
    return call_id, reader


def read_exactly(stream: BinaryIO, count: int) -> bytes | None:
    """``count`` bytes, or None at a clean end of stream (EOF before the first byte)."""
    chunks, have = [], 0
    while have < count:
        chunk = stream.read(count - have)
        if not chunk:
            if have == 0:
                return None
            raise RpcProtocolError("the stream ended inside a frame")
        chunks.append(chunk)
        have += len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO) -> tuple[int, bytes] | None:
    """One request frame: (call code, body); None at end of stream."""
    header = read_exactly(stream, 12)
    if header is None:
        return None
    code, options_length, body_length = struct.unpack(">III", header)
    if options_length > MAX_FRAME or body_length > MAX_FRAME:
        raise RpcProtocolError("frame too large")
    read_exactly(stream, options_length)  # the client's module name; unused
    body = read_exactly(stream, body_length) if body_length else b""
    if body is None:
        raise RpcProtocolError("the stream ended inside a frame")
    return code, body


def write_frame(stream: BinaryIO, code: int, body: bytes) -> None:
    stream.write(struct.pack(">III", code, 0, len(body)) + body)
    stream.flush()
