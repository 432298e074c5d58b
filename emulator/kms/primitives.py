"""The cryptography under KMS: ciphertext blob format, AEAD, RSA, ECDSA, HMAC.

Small functions over ``cryptography``; no storage, no policy, no AWS names beyond the
algorithm identifiers. The service layer decides which key to use and whether it may.
"""

from __future__ import annotations

import hashlib
import hmac as std_hmac
import json
import struct
from collections.abc import Callable, Mapping
from typing import Final

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from emulator.kms.specs import KEY_SPECS

__all__ = [
    "BLOB_VERSION",
    "HEADER_SIZE",
    "BlobHeader",
    "aead_open",
    "aead_seal",
    "canonical_context",
    "generate_key_pair",
    "hmac_digest",
    "hmac_verify",
    "load_private_key",
    "load_public_key",
    "oaep_decrypt",
    "oaep_encrypt",
    "pack_header",
    "parse_blob",
    "private_key_der",
    "public_key_der",
    "sign",
    "verify",
]

# Symmetric ciphertext blob, version 1:
#   version (1) | key id as UUID bytes (16) | key material version (4, big endian)
#   | AES-GCM nonce (12) | ciphertext | tag (16)
# The 21-byte header plus the canonical encryption context is the GCM associated data, so the
# key id and material version are authenticated: a blob cannot be re-pointed at another key.
# Keys in a CloudHSM key store use the same header; the body is what the HSM returned.
BLOB_VERSION: Final = 1
MRK_BLOB_VERSION: Final = 2  # the same layout, for a multi-Region key ("mrk-" + 32 hex)
HEADER_SIZE: Final = 21
_HEADER = struct.Struct(">B16sI")
_VERSIONS = (BLOB_VERSION, MRK_BLOB_VERSION)
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16


class BlobHeader:
    """The parsed, not yet authenticated, header of a symmetric ciphertext blob. Immutable
    (``parse_blob`` hands out one object per distinct header)."""

    __slots__ = ("header", "key_id", "material_version")
    key_id: str
    material_version: int
    header: bytes

    def __init__(self, key_id: str, material_version: int, header: bytes) -> None:
        object.__setattr__(self, "key_id", key_id)
        object.__setattr__(self, "material_version", material_version)
        object.__setattr__(self, "header", header)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"BlobHeader is immutable: cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"BlobHeader is immutable: cannot delete {name}")

    def __repr__(self) -> str:
        return f"BlobHeader(key_id={self.key_id!r}, material_version={self.material_version})"


# Process-wide memos of pure functions of their keys (bounded: cleared when full).
_MEMO_LIMIT = 256
_HEADERS: dict[tuple[str, int], bytes] = {}
_PARSED_HEADERS: dict[bytes, BlobHeader] = {}
_CONTEXTS: dict[tuple[tuple[str, str], ...], bytes] = {}


def pack_header(key_id: str, material_version: int) -> bytes:
    memo = (key_id, material_version)
    header = _HEADERS.get(memo)
    if header is None:
        if key_id.startswith("mrk-"):
            header = _HEADER.pack(MRK_BLOB_VERSION, bytes.fromhex(key_id[4:]), material_version)
        else:
            key_bytes = bytes.fromhex(key_id.replace("-", ""))
            header = _HEADER.pack(BLOB_VERSION, key_bytes, material_version)
        if len(_HEADERS) >= _MEMO_LIMIT:
            _HEADERS.clear()
        _HEADERS[memo] = header
    return header


def parse_blob(blob: bytes) -> tuple[BlobHeader, bytes] | None:
    """Split a blob into header and body; None when it cannot be one of ours.

    The parsed header (immutable) is memoised by its bytes: one object per distinct header.
    """
    if len(blob) < HEADER_SIZE + NONCE_SIZE + TAG_SIZE or blob[0] not in _VERSIONS:
        return None
    header = blob[:HEADER_SIZE]
    parsed = _PARSED_HEADERS.get(header) if type(header) is bytes else None
    if parsed is None:
        blob_version, key_bytes, version = _HEADER.unpack_from(blob)
        hex_id = key_bytes.hex()
        if blob_version == MRK_BLOB_VERSION:
            key_id = "mrk-" + hex_id
        else:
            key_id = f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"
        parsed = BlobHeader(key_id, version, header)
        if type(header) is bytes:
            if len(_PARSED_HEADERS) >= _MEMO_LIMIT:
                _PARSED_HEADERS.clear()
            _PARSED_HEADERS[header] = parsed
    return parsed, blob[HEADER_SIZE:]


_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# The string encoder JSONEncoder uses with ensure_ascii=False (the C one when available).
_JSON_STRING: Callable[[str], str] = json.encoder.encode_basestring


def canonical_context(context: Mapping[str, str] | None) -> bytes:
    """The encryption context as associated data: order-independent, exact bytes.

    ``json.dumps(context, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` in
    UTF-8. A plain dict of plain strings (what every validated request holds) is memoised by
    its items and otherwise joined directly: the same bytes without the encoder's setup.
    """
    if not context:
        return b""
    if type(context) is dict:
        items = tuple(context.items())
        for key, value in items:
            if type(key) is not str or type(value) is not str:
                break
        else:
            found = _CONTEXTS.get(items)
            if found is None:
                # Unique keys: sorting the pairs sorts by key, as sort_keys does.
                body = ",".join([f"{_JSON_STRING(k)}:{_JSON_STRING(v)}" for k, v in sorted(items)])
                found = ("{" + body + "}").encode("utf-8")
                if len(_CONTEXTS) >= _MEMO_LIMIT:
                    _CONTEXTS.clear()
                _CONTEXTS[items] = found
            return found
    return _CANONICAL_JSON.encode(context).encode("utf-8")


def aead_seal(aead: AESGCM, nonce: bytes, plaintext: bytes, header: bytes, aad: bytes) -> bytes:
    """Header + nonce + AES-GCM(plaintext) with header + aad authenticated."""
    return header + nonce + aead.encrypt(nonce, plaintext, header + aad)


def aead_open(aead: AESGCM, header: bytes, body: bytes, aad: bytes) -> bytes | None:
    """Inverse of ``aead_seal`` given the parsed header; None on any failure."""
    try:
        return aead.decrypt(body[:NONCE_SIZE], body[NONCE_SIZE:], header + aad)
    except InvalidTag:
        return None


# --- asymmetric keys --------------------------------------------------------------------------

_CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
    "secp256k1": ec.SECP256K1(),
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA_1": hashes.SHA1,
    "SHA_256": hashes.SHA256,
    "SHA_384": hashes.SHA384,
    "SHA_512": hashes.SHA512,
}
_HMAC_HASHES = {
    "HMAC_SHA_224": hashlib.sha224,
    "HMAC_SHA_256": hashlib.sha256,
    "HMAC_SHA_384": hashlib.sha384,
    "HMAC_SHA_512": hashlib.sha512,
}


def _hash_for(algorithm: str) -> hashes.HashAlgorithm:
    """The hash named at the end of an algorithm id (``..._SHA_256``, ``..._SHA_1``)."""
    return _HASHES["SHA_" + algorithm.rsplit("_", 1)[1]]()


def generate_key_pair(key_spec: str) -> PrivateKeyTypes:
    """A fresh RSA or EC private key for a KMS key spec (cryptography's own CSPRNG)."""
    info = KEY_SPECS[key_spec]
    if info.family == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=info.size)
    if info.family == "EC" and info.curve is not None:
        return ec.generate_private_key(_CURVES[info.curve])
    raise ValueError(f"{key_spec} is not an asymmetric key spec")


def private_key_der(key: PrivateKeyTypes) -> bytes:
    """PKCS#8 DER, unencrypted (what GenerateDataKeyPair returns as PrivateKeyPlaintext)."""
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_der(key: PrivateKeyTypes) -> bytes:
    """X.509 SubjectPublicKeyInfo DER (what GetPublicKey returns)."""
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_key(der: bytes) -> PrivateKeyTypes:
    return serialization.load_der_private_key(der, password=None)


def load_public_key(der: bytes) -> PublicKeyTypes:
    return serialization.load_der_public_key(der)


def _oaep(algorithm: str) -> padding.OAEP:
    digest = _hash_for(algorithm)
    return padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)


def oaep_encrypt(public_key: PublicKeyTypes, algorithm: str, plaintext: bytes) -> bytes:
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise TypeError("RSAES-OAEP needs an RSA key")
    return public_key.encrypt(plaintext, _oaep(algorithm))


def oaep_decrypt(private_key: PrivateKeyTypes, algorithm: str, ciphertext: bytes) -> bytes | None:
    """RSAES-OAEP decryption; None on any failure (one opaque error, no padding oracle)."""
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise TypeError("RSAES-OAEP needs an RSA key")
    try:
        return private_key.decrypt(ciphertext, _oaep(algorithm))
    except ValueError:
        return None


def _signature_scheme(
    algorithm: str, digest_given: bool
) -> tuple[hashes.HashAlgorithm | utils.Prehashed, padding.AsymmetricPadding | None]:
    digest = _hash_for(algorithm)
    chosen: hashes.HashAlgorithm | utils.Prehashed = (
        utils.Prehashed(digest) if digest_given else digest
    )
    if algorithm.startswith("RSASSA_PSS"):
        # AWS KMS uses a salt as long as the digest.
        return chosen, padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
    if algorithm.startswith("RSASSA_PKCS1_V1_5"):
        return chosen, padding.PKCS1v15()
    return chosen, None


def sign(private_key: PrivateKeyTypes, algorithm: str, message: bytes, digest_given: bool) -> bytes:
    """RSASSA-PSS / PKCS#1 v1.5 or ECDSA (DER signature), over a message or its digest."""
    chosen, pad = _signature_scheme(algorithm, digest_given)
    if isinstance(private_key, rsa.RSAPrivateKey) and pad is not None:
        return private_key.sign(message, pad, chosen)
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return private_key.sign(message, ec.ECDSA(chosen))
    raise TypeError(f"{algorithm} does not fit this key")


def verify(
    public_key: PublicKeyTypes,
    algorithm: str,
    message: bytes,
    signature: bytes,
    digest_given: bool,
) -> bool:
    chosen, pad = _signature_scheme(algorithm, digest_given)
    try:
        if isinstance(public_key, rsa.RSAPublicKey) and pad is not None:
            public_key.verify(signature, message, pad, chosen)
            return True
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, message, ec.ECDSA(chosen))
            return True
    except (InvalidSignature, ValueError):
        return False
    raise TypeError(f"{algorithm} does not fit this key")


def hmac_digest(key: bytes, algorithm: str, message: bytes) -> bytes:
    return std_hmac.new(key, message, _HMAC_HASHES[algorithm]).digest()


def hmac_verify(key: bytes, algorithm: str, message: bytes, mac: bytes) -> bool:
    return std_hmac.compare_digest(hmac_digest(key, algorithm, message), mac)
