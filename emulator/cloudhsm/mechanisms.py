"""PKCS#11 mechanisms on HSM keys: encrypt, decrypt, sign, verify, digest, random, wrap and
unwrap, with CKR_* codes for every misuse.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any, TypedDict, Unpack

from cryptography.hazmat.primitives import serialization

from . import key_material, keys, sessions
from . import primitives as prim
from .errors import Pkcs11Error
from .state import JSON, Context, HsmState, KeyHandle, key_reference, unb64

SYMMETRIC_ENCRYPT = ("CKM_AES_GCM", "CKM_AES_CBC_PAD", "CKM_AES_CTR")
WRAP_MECHANISMS = ("CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD", "CKM_AES_GCM", "CKM_RSA_PKCS_OAEP")
DIGESTS = {
    "CKM_SHA_1": "sha1",
    "CKM_SHA224": "sha224",
    "CKM_SHA256": "sha256",
    "CKM_SHA384": "sha384",
    "CKM_SHA512": "sha512",
}
HASH_SUFFIX = {"SHA1": "sha1", "SHA224": "sha224", "SHA256": "sha256", "SHA384": "sha384"}
HASH_SUFFIX["SHA512"] = "sha512"


@dataclasses.dataclass(frozen=True)
class SignSpec:
    key_type: str  # rsa, ec, generic-secret
    scheme: str  # pkcs1, pss, ecdsa, hmac
    hash_name: str | None  # None: the data is already a digest


def _sign_mechanisms() -> dict[str, SignSpec]:
    table: dict[str, SignSpec] = {
        "CKM_RSA_PKCS": SignSpec("rsa", "pkcs1-raw", None),  # over a DigestInfo (OpenSSL)
        "CKM_RSA_PKCS_PSS": SignSpec("rsa", "pss", None),
        "CKM_ECDSA": SignSpec("ec", "ecdsa", None),
    }
    for suffix, name in HASH_SUFFIX.items():
        table[f"CKM_{suffix}_RSA_PKCS"] = SignSpec("rsa", "pkcs1", name)
        table[f"CKM_{suffix}_RSA_PKCS_PSS"] = SignSpec("rsa", "pss", name)
        table[f"CKM_ECDSA_{suffix}"] = SignSpec("ec", "ecdsa", name)
        table[f"CKM_{suffix}_HMAC"] = SignSpec("generic-secret", "hmac", name)
    return table


SIGN_MECHANISMS = _sign_mechanisms()
KNOWN_MECHANISMS = frozenset(
    {*SYMMETRIC_ENCRYPT, *WRAP_MECHANISMS, *DIGESTS, *SIGN_MECHANISMS, "CKM_RSA_PKCS_OAEP"}
)


def _mechanism_for(mechanism: str, allowed: tuple[str, ...] | Mapping[str, Any]) -> str:
    if mechanism not in KNOWN_MECHANISMS:
        raise Pkcs11Error("CKR_MECHANISM_INVALID", f"unknown mechanism {mechanism!r}")
    if mechanism not in allowed:
        raise Pkcs11Error("CKR_MECHANISM_INVALID", f"{mechanism} cannot do this")
    return mechanism


def _expect(key: JSON, key_type: str, classes: tuple[str, ...], attribute: str) -> None:
    attributes = key["attributes"]
    if attributes["key-type"] != key_type or attributes["class"] not in classes:
        raise Pkcs11Error("CKR_KEY_TYPE_INCONSISTENT", "the key does not fit the mechanism")
    if not attributes.get(attribute, False):
        raise Pkcs11Error("CKR_KEY_FUNCTION_NOT_PERMITTED", f"the key's {attribute} is false")


def _private_key(engine: HsmState, key: JSON) -> Any:
    # Unsealed on every call (so the sealing checks always run); only the parsing is
    # memoized, see parse_private_key.
    return key_material.parse_private_key(engine._unseal(key))


def _public_key(key: JSON) -> Any:
    return serialization.load_der_public_key(unb64(key["public"]))


class SignOptions(TypedDict, total=False):
    """Parameters of C_Sign / C_Verify, as keywords: ``hash_name`` (CKM_RSA_PKCS_PSS over a
    digest) and ``salt_length`` (RSA-PSS)."""

    hash_name: str | None
    salt_length: int | None


class CipherOptions(TypedDict, total=False):
    """Parameters of C_Encrypt / C_Decrypt, as keywords: ``iv`` (GCM: optional, the HSM picks
    and prefixes one; CBC-PAD and CTR: 16 bytes), ``aad`` and ``tag_bits`` (GCM),
    ``hash_name`` and ``oaep_label`` (OAEP; sha1 ... sha512 for the hash and MGF1)."""

    iv: bytes | None
    aad: bytes
    tag_bits: int
    hash_name: str
    oaep_label: bytes | None


def encrypt(
    engine: HsmState,
    session_id: str,
    handle: KeyHandle,
    mechanism: str,
    data: bytes,
    **options: Unpack[CipherOptions],
) -> bytes:
    """C_Encrypt with CKM_AES_GCM, CKM_AES_CBC_PAD, CKM_AES_CTR or CKM_RSA_PKCS_OAEP.

    GCM returns ciphertext || tag; without ``iv`` the HSM picks a 12-byte IV and prefixes it
    (CloudHSM's behaviour).
    """
    return _crypt(engine, "Encrypt", session_id, handle, mechanism, data, options)


def decrypt(
    engine: HsmState,
    session_id: str,
    handle: KeyHandle,
    mechanism: str,
    data: bytes,
    **options: Unpack[CipherOptions],
) -> bytes:
    """C_Decrypt, the inverse of :func:`encrypt`. A wrong tag, AAD or OAEP blob is
    CKR_ENCRYPTED_DATA_INVALID; a CBC ciphertext of bad length is
    CKR_ENCRYPTED_DATA_LEN_RANGE. GCM without ``iv`` reads the IV from the first 12 bytes.
    """
    return _crypt(engine, "Decrypt", session_id, handle, mechanism, data, options)


def _crypt(
    engine: HsmState,
    call: str,
    session_id: str,
    handle: KeyHandle,
    mechanism: str,
    data: bytes,
    options: CipherOptions,
) -> bytes:
    encrypting = call == "Encrypt"
    iv, aad, tag_bits = options.get("iv"), options.get("aad", b""), options.get("tag_bits", 128)
    with sessions.key_call(engine, call, session_id, handle) as (ctx, audit):
        audit.detail = {"mechanism": mechanism, "bytes": len(data)}
        mech = _mechanism_for(mechanism, (*SYMMETRIC_ENCRYPT, "CKM_RSA_PKCS_OAEP"))
        key = keys.use_key(engine, ctx, handle)
        if mech == "CKM_RSA_PKCS_OAEP":
            return _oaep(engine, key, encrypting, data, options)
        _expect(key, "aes", ("secret-key",), call.lower())
        secret = engine._unseal(key)
        if mech == "CKM_AES_GCM" and encrypting:
            prefix = b""
            if iv is None:
                iv = prefix = engine._random.token_bytes(12)
            return prefix + prim.aes_gcm_encrypt(secret, iv, data, aad, tag_bits)
        if mech == "CKM_AES_GCM":
            if iv is None:
                if len(data) < 12:
                    raise Pkcs11Error("CKR_ENCRYPTED_DATA_LEN_RANGE", "no IV prefix")
                iv, data = data[:12], data[12:]
            return prim.aes_gcm_decrypt(secret, iv, data, aad, tag_bits)
        if iv is None:
            raise Pkcs11Error("CKR_MECHANISM_PARAM_INVALID", f"{mech} needs a 16-byte IV")
        if mech == "CKM_AES_CBC_PAD":
            cbc = prim.aes_cbc_pad_encrypt if encrypting else prim.aes_cbc_pad_decrypt
            return cbc(secret, iv, data)
        return prim.aes_ctr(secret, iv, data)


def _oaep(
    engine: HsmState, key: JSON, encrypting: bool, data: bytes, options: CipherOptions
) -> bytes:
    hash_name, label = options.get("hash_name", "sha1"), options.get("oaep_label")
    if encrypting:
        _expect(key, "rsa", ("public-key",), "encrypt")
        return prim.rsa_oaep_encrypt(_public_key(key), data, hash_name, label)
    _expect(key, "rsa", ("private-key",), "decrypt")
    return prim.rsa_oaep_decrypt(_private_key(engine, key), data, hash_name, label)


@contextlib.contextmanager
def _signing(
    engine: HsmState,
    operation: str,
    session_id: str,
    handle: KeyHandle,
    mechanism: str,
    data: bytes,
) -> Iterator[tuple[SignSpec, JSON]]:
    """The audited key call of C_Sign and C_Verify: the mechanism's spec and the key."""
    with sessions.key_call(engine, operation, session_id, handle) as (ctx, audit):
        audit.detail = {"mechanism": mechanism, "bytes": len(data)}
        spec = SIGN_MECHANISMS[_mechanism_for(mechanism, SIGN_MECHANISMS)]
        yield spec, keys.use_key(engine, ctx, handle)


def _pss_hash(spec: SignSpec, hash_name: str | None) -> str:
    """The hash of an RSA-PSS signature: the mechanism's, or the caller's for CKM_RSA_PKCS_PSS."""
    chosen = spec.hash_name or hash_name
    if chosen is None:
        raise Pkcs11Error("CKR_MECHANISM_PARAM_INVALID", "CKM_RSA_PKCS_PSS needs a hash")
    return chosen


def sign(
    engine: HsmState,
    session_id: str,
    handle: KeyHandle,
    mechanism: str,
    data: bytes,
    **options: Unpack[SignOptions],
) -> bytes:
    """C_Sign: RSA PKCS#1 v1.5 (CKM_SHA256_RSA_PKCS ..., or CKM_RSA_PKCS over data the
    caller hashed, as a DigestInfo), RSA-PSS (CKM_SHA256_RSA_PKCS_PSS,
    or CKM_RSA_PKCS_PSS over a digest with ``hash_name``), ECDSA (CKM_ECDSA over a digest,
    CKM_ECDSA_SHA256 ...; raw r||s) and HMAC (CKM_SHA256_HMAC ... with generic secrets)."""
    with _signing(engine, "Sign", session_id, handle, mechanism, data) as (spec, key):
        if spec.scheme == "hmac":
            _expect(key, "generic-secret", ("secret-key",), "sign")
            return prim.hmac_sign(engine._unseal(key), data, str(spec.hash_name))
        _expect(key, spec.key_type, ("private-key",), "sign")
        private_key = _private_key(engine, key)
        if spec.scheme == "pkcs1-raw":
            return prim.rsa_pkcs1_raw_sign(private_key, data)
        if spec.scheme == "pkcs1":
            return prim.rsa_pkcs1_sign(private_key, data, str(spec.hash_name))
        if spec.scheme == "pss":
            prehashed = spec.hash_name is None
            chosen = _pss_hash(spec, options.get("hash_name"))
            salt_length = options.get("salt_length")
            return prim.rsa_pss_sign(private_key, data, chosen, salt_length, prehashed=prehashed)
        return prim.ecdsa_sign(private_key, data, spec.hash_name)


def verify(
    engine: HsmState,
    session_id: str,
    handle: KeyHandle,
    mechanism: str,
    data: bytes,
    signature: bytes,
    **options: Unpack[SignOptions],
) -> None:
    """C_Verify: returns None when valid, raises CKR_SIGNATURE_INVALID otherwise."""
    with _signing(engine, "Verify", session_id, handle, mechanism, data) as (spec, key):
        if spec.scheme == "hmac":
            _expect(key, "generic-secret", ("secret-key",), "verify")
            prim.hmac_verify(engine._unseal(key), data, signature, str(spec.hash_name))
            return
        _expect(key, spec.key_type, ("public-key",), "verify")
        public_key = _public_key(key)
        if spec.scheme == "pkcs1-raw":
            prim.rsa_pkcs1_raw_verify(public_key, data, signature)
        elif spec.scheme == "pkcs1":
            prim.rsa_pkcs1_verify(public_key, data, signature, str(spec.hash_name))
        elif spec.scheme == "pss":
            prehashed = spec.hash_name is None
            chosen = _pss_hash(spec, options.get("hash_name"))
            salt_length = options.get("salt_length")
            prim.rsa_pss_verify(
                public_key, data, signature, chosen, salt_length, prehashed=prehashed
            )
        else:
            prim.ecdsa_verify(public_key, data, signature, spec.hash_name)


def digest(engine: HsmState, session_id: str, mechanism: str, data: bytes) -> bytes:
    """C_Digest with CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384 or CKM_SHA512 (no login
    needed)."""
    with sessions.key_call(engine, "Digest", session_id) as (_ctx, audit):
        audit.detail = {"mechanism": mechanism, "bytes": len(data)}
        return prim.digest(data, DIGESTS[_mechanism_for(mechanism, DIGESTS)])


def generate_random(engine: HsmState, session_id: str, length: int) -> bytes:
    """C_GenerateRandom: ``length`` bytes (1 to 65536)."""
    with sessions.key_call(engine, "GenerateRandom", session_id) as (_ctx, audit):
        if not isinstance(length, int) or not 1 <= length <= 65536:
            raise Pkcs11Error("CKR_ARGUMENTS_BAD", "ask for 1 to 65536 bytes")
        audit.detail = {"bytes": length}
        return engine._random.token_bytes(length)


def wrap_key(
    engine: HsmState,
    session_id: str,
    wrapping_handle: KeyHandle,
    key_handle: KeyHandle,
    mechanism: str,
    *,
    iv: bytes | None = None,
    aad: bytes = b"",
    hash_name: str = "sha1",
) -> bytes:
    """C_WrapKey / ``key wrap``: export a key encrypted under a wrapping key.

    CKM_AES_KEY_WRAP (RFC 3394), CKM_AES_KEY_WRAP_PAD (RFC 5649), CKM_AES_GCM (IV prefixed
    when not given) and CKM_RSA_PKCS_OAEP (secret keys). Secret keys wrap as raw bytes,
    private keys as PKCS#8 DER. Only the payload's owner may wrap it; it must be extractable
    (CKR_KEY_UNEXTRACTABLE), and a wrap-with-trusted key only under a trusted wrapping key
    (CKR_KEY_NOT_WRAPPABLE).
    """
    with sessions.key_call(engine, "KeyWrap", session_id, key_handle) as (ctx, audit):
        audit.detail = {"mechanism": mechanism, "wrapping_key": key_reference(wrapping_handle)}
        mech = _mechanism_for(mechanism, WRAP_MECHANISMS)
        wrapping = keys.use_key(engine, ctx, wrapping_handle)
        if mech == "CKM_RSA_PKCS_OAEP":
            _expect(wrapping, "rsa", ("public-key",), "wrap")
        else:
            _expect(wrapping, "aes", ("secret-key",), "wrap")
        payload = keys.load_key(engine, ctx, key_handle)
        attributes = payload["attributes"]
        if attributes["class"] == "public-key":
            raise Pkcs11Error("CKR_KEY_NOT_WRAPPABLE", "public keys are not wrapped")
        if not attributes["extractable"]:
            raise Pkcs11Error("CKR_KEY_UNEXTRACTABLE", "the key is not extractable")
        if attributes["wrap-with-trusted"] and not wrapping["attributes"]["trusted"]:
            raise Pkcs11Error(
                "CKR_KEY_NOT_WRAPPABLE", "the key can be wrapped only by a trusted key"
            )
        payload = keys.own_key(engine, ctx, key_handle, "wrap (export) it")
        plain = engine._unseal(payload)
        if mech == "CKM_RSA_PKCS_OAEP":
            if attributes["class"] != "secret-key":
                raise Pkcs11Error("CKR_KEY_NOT_WRAPPABLE", "RSA-OAEP wraps secret keys only")
            return prim.rsa_oaep_encrypt(_public_key(wrapping), plain, hash_name)
        wrapping_secret = engine._unseal(wrapping)
        if mech == "CKM_AES_KEY_WRAP":
            return prim.aes_key_wrap(wrapping_secret, plain)
        if mech == "CKM_AES_KEY_WRAP_PAD":
            return prim.aes_key_wrap_pad(wrapping_secret, plain)
        prefix = b""
        if iv is None:
            iv = prefix = engine._random.token_bytes(12)
        return prefix + prim.aes_gcm_encrypt(wrapping_secret, iv, plain, aad)


def unwrap_key(
    engine: HsmState,
    session_id: str,
    unwrapping_handle: KeyHandle,
    wrapped: bytes,
    mechanism: str,
    *,
    key_type: str,
    key_class: str = "secret-key",
    label: str = "",
    attributes: Mapping[str, object] | None = None,
    token: bool = True,
    iv: bytes | None = None,
    aad: bytes = b"",
    hash_name: str = "sha1",
) -> KeyHandle:
    """C_UnwrapKey / ``key unwrap``: a new key from wrapped material, owned by the caller.
    A failed integrity check is CKR_WRAPPED_KEY_INVALID."""
    with sessions.key_call(engine, "KeyUnwrap", session_id, unwrapping_handle) as (ctx, audit):
        audit.detail = {"mechanism": mechanism, "key_type": key_type}
        mech = _mechanism_for(mechanism, WRAP_MECHANISMS)
        unwrapping = keys.use_key(engine, ctx, unwrapping_handle)
        plain = _unwrapped_material(engine, unwrapping, mech, wrapped, iv, aad, hash_name)
        template = {"label": label, **(attributes or {})}
        handle = _store_unwrapped(engine, ctx, key_class, key_type, plain, template, token)
        audit.target = sessions.key_target(ctx, handle)
        return handle


def _unwrapped_material(
    engine: HsmState,
    unwrapping: JSON,
    mech: str,
    wrapped: bytes,
    iv: bytes | None,
    aad: bytes,
    hash_name: str,
) -> bytes:
    """The wrapped key's material; a failed integrity check is CKR_WRAPPED_KEY_INVALID."""
    if mech == "CKM_RSA_PKCS_OAEP":
        _expect(unwrapping, "rsa", ("private-key",), "unwrap")
        return prim.rsa_oaep_decrypt(
            _private_key(engine, unwrapping),
            wrapped,
            hash_name,
            failure_code="CKR_WRAPPED_KEY_INVALID",
        )
    _expect(unwrapping, "aes", ("secret-key",), "unwrap")
    secret = engine._unseal(unwrapping)
    if mech == "CKM_AES_KEY_WRAP":
        return prim.aes_key_unwrap(secret, wrapped)
    if mech == "CKM_AES_KEY_WRAP_PAD":
        return prim.aes_key_unwrap_pad(secret, wrapped)
    if iv is None:
        iv, wrapped = wrapped[:12], wrapped[12:]
    try:
        return prim.aes_gcm_decrypt(secret, iv, wrapped, aad)
    except Pkcs11Error:
        raise Pkcs11Error("CKR_WRAPPED_KEY_INVALID", "integrity check failed") from None


def _store_unwrapped(
    engine: HsmState,
    ctx: Context,
    key_class: str,
    key_type: str,
    plain: bytes,
    template: dict[str, object],
    token: bool,
) -> KeyHandle:
    """Keep unwrapped material as a new key of the class and type asked for."""
    if key_class == "secret-key" and key_type in ("aes", "generic-secret"):
        ok = len(plain) in prim.AES_KEY_LENGTHS if key_type == "aes" else 1 <= len(plain) <= 800
        if not ok:
            raise Pkcs11Error("CKR_WRAPPED_KEY_INVALID", "wrong key length for the type")
        return keys.store_new_key(
            engine,
            ctx,
            key_class="secret-key",
            key_type=key_type,
            material=plain,
            public_der=None,
            template=template,
            token=token,
            extra=keys.secret_extras(key_type, plain),
            local=False,
        )
    if key_class == "private-key" and key_type in ("rsa", "ec"):
        try:
            private_key = key_material.load_private(plain, key_type)
        except Pkcs11Error:
            raise Pkcs11Error("CKR_WRAPPED_KEY_INVALID", "not a PKCS#8 key") from None
        return keys.store_new_key(
            engine,
            ctx,
            key_class="private-key",
            key_type=key_type,
            material=plain,
            public_der=private_key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            template=template,
            token=token,
            extra=keys.public_extras(private_key.public_key()),
            local=False,
        )
    raise Pkcs11Error("CKR_TEMPLATE_INCONSISTENT", f"cannot unwrap a {key_type} {key_class}")
