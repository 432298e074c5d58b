"""The cryptographic primitives behind the HSM mechanisms, on ``cryptography``.

Pure functions over key bytes and key objects: no storage, no sessions, no policy. Failures are
reported as :class:`~emulator.cloudhsm.errors.Pkcs11Error` with the code a PKCS#11 token gives
(``CKR_ENCRYPTED_DATA_INVALID`` for a bad tag, ``CKR_WRAPPED_KEY_INVALID`` for a failed
integrity check ...), and any failed decryption is one opaque error with no detail.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, keywrap
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import Pkcs11Error

__all__ = [
    "CURVES",
    "HASHES",
    "aes_cbc_pad_decrypt",
    "aes_cbc_pad_encrypt",
    "aes_check_value",
    "aes_ctr",
    "aes_gcm_decrypt",
    "aes_gcm_encrypt",
    "aes_key_unwrap",
    "aes_key_unwrap_pad",
    "aes_key_wrap",
    "aes_key_wrap_pad",
    "digest",
    "ecdsa_sign",
    "ecdsa_verify",
    "hash_algorithm",
    "hmac_sign",
    "hmac_verify",
    "rsa_oaep_decrypt",
    "rsa_oaep_encrypt",
    "rsa_pkcs1_raw_sign",
    "rsa_pkcs1_raw_verify",
    "rsa_pkcs1_sign",
    "rsa_pkcs1_verify",
    "rsa_pss_sign",
    "rsa_pss_verify",
]

HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

# CloudHSM CLI curve names -> cryptography curves (prime256v1 is an alias of secp256r1).
CURVES: dict[str, type[ec.EllipticCurve]] = {
    "secp256r1": ec.SECP256R1,
    "prime256v1": ec.SECP256R1,
    "secp384r1": ec.SECP384R1,
    "secp521r1": ec.SECP521R1,
    "secp256k1": ec.SECP256K1,
}

AES_KEY_LENGTHS = (16, 24, 32)
GCM_TAG_BITS = (96, 104, 112, 120, 128)


def hash_algorithm(name: str) -> hashes.HashAlgorithm:
    """A ``cryptography`` hash from a short name ("sha256"); CKR_MECHANISM_PARAM_INVALID else."""
    try:
        return HASHES[name.lower()]()
    except KeyError:
        raise Pkcs11Error("CKR_MECHANISM_PARAM_INVALID", f"unsupported hash {name!r}") from None


# --- AES -----------------------------------------------------------------------------------------


def _check_gcm_params(iv: bytes, tag_bits: int) -> None:
    if not 1 <= len(iv) <= 128:
        raise Pkcs11Error("CKR_MECHANISM_PARAM_INVALID", "the GCM IV must be 1 to 128 bytes")
    if tag_bits not in GCM_TAG_BITS:
        raise Pkcs11Error("CKR_MECHANISM_PARAM_INVALID", "the GCM tag must be 96 to 128 bits")


def aes_gcm_encrypt(key: bytes, iv: bytes, data: bytes, aad: bytes, tag_bits: int = 128) -> bytes:
    """AES-GCM (NIST SP 800-38D): returns ciphertext followed by the tag, as PKCS#11 does."""
    _check_gcm_params(iv, tag_bits)
    if tag_bits == 128 and len(iv) >= 8:
        return AESGCM(key).encrypt(iv, data, aad)  # the fast one-shot path
    encryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
    encryptor.authenticate_additional_data(aad)
    ciphertext = encryptor.update(data) + encryptor.finalize()
    return ciphertext + encryptor.tag[: tag_bits // 8]


def aes_gcm_decrypt(key: bytes, iv: bytes, blob: bytes, aad: bytes, tag_bits: int = 128) -> bytes:
    """Inverse of :func:`aes_gcm_encrypt`; a wrong tag, AAD or IV is CKR_ENCRYPTED_DATA_INVALID."""
    _check_gcm_params(iv, tag_bits)
    tag_len = tag_bits // 8
    if len(blob) < tag_len:
        raise Pkcs11Error("CKR_ENCRYPTED_DATA_LEN_RANGE", "ciphertext shorter than the tag")
    ciphertext, tag = blob[:-tag_len], blob[-tag_len:]
    try:
        if tag_bits == 128 and len(iv) >= 8:
            return AESGCM(key).decrypt(iv, blob, aad)
        decryptor = Cipher(
            algorithms.AES(key), modes.GCM(iv, tag, min_tag_length=tag_len)
        ).decryptor()
        decryptor.authenticate_additional_data(aad)
        return decryptor.update(ciphertext) + decryptor.finalize()
    except InvalidTag:
        raise Pkcs11Error("CKR_ENCRYPTED_DATA_INVALID", "authentication failed") from None


def _check_block_iv(iv: bytes) -> None:
    if len(iv) != 16:
        raise Pkcs11Error("CKR_MECHANISM_PARAM_INVALID", "the IV must be 16 bytes")


def aes_cbc_pad_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-CBC with PKCS#7 padding (CKM_AES_CBC_PAD)."""
    _check_block_iv(iv)
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def aes_cbc_pad_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """Inverse of :func:`aes_cbc_pad_encrypt`.

    A length that is not a positive multiple of 16 is CKR_ENCRYPTED_DATA_LEN_RANGE; bad padding
    is CKR_ENCRYPTED_DATA_INVALID.
    """
    _check_block_iv(iv)
    if not data or len(data) % 16:
        raise Pkcs11Error("CKR_ENCRYPTED_DATA_LEN_RANGE", "ciphertext is not whole AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    try:
        unpadder = sym_padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise Pkcs11Error("CKR_ENCRYPTED_DATA_INVALID", "bad padding") from None


def aes_ctr(key: bytes, counter_block: bytes, data: bytes) -> bytes:
    """AES-CTR (NIST SP 800-38A) with a 16-byte initial counter block; it is its own inverse."""
    _check_block_iv(counter_block)
    encryptor = Cipher(algorithms.AES(key), modes.CTR(counter_block)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def aes_check_value(key: bytes) -> str:
    """Key check value: the first 3 bytes of AES-ECB over a zero block, as ``0x`` hex."""
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - KCV only
    return "0x" + (encryptor.update(bytes(16)) + encryptor.finalize())[:3].hex()


def aes_key_wrap(wrapping_key: bytes, key_data: bytes) -> bytes:
    """RFC 3394 key wrap (CKM_AES_KEY_WRAP); the payload must be whole 8-byte blocks, >= 16."""
    if len(key_data) < 16 or len(key_data) % 8:
        raise Pkcs11Error("CKR_KEY_SIZE_RANGE", "RFC 3394 wraps multiples of 8 bytes, >= 16")
    return keywrap.aes_key_wrap(wrapping_key, key_data)


def aes_key_unwrap(wrapping_key: bytes, wrapped: bytes) -> bytes:
    """Inverse of :func:`aes_key_wrap`; a failed integrity check is CKR_WRAPPED_KEY_INVALID."""
    return _unwrapped(keywrap.aes_key_unwrap, wrapping_key, wrapped, shortest=24)


def aes_key_wrap_pad(wrapping_key: bytes, key_data: bytes) -> bytes:
    """RFC 5649 key wrap with padding (CKM_AES_KEY_WRAP_PAD): any non-empty payload."""
    if not key_data:
        raise Pkcs11Error("CKR_KEY_SIZE_RANGE", "nothing to wrap")
    return keywrap.aes_key_wrap_with_padding(wrapping_key, key_data)


def aes_key_unwrap_pad(wrapping_key: bytes, wrapped: bytes) -> bytes:
    """Inverse of :func:`aes_key_wrap_pad`; a failed integrity check is CKR_WRAPPED_KEY_INVALID."""
    return _unwrapped(keywrap.aes_key_unwrap_with_padding, wrapping_key, wrapped, shortest=16)


def _unwrapped(
    unwrap: Callable[[bytes, bytes], bytes], wrapping_key: bytes, wrapped: bytes, *, shortest: int
) -> bytes:
    if len(wrapped) < shortest or len(wrapped) % 8:
        raise Pkcs11Error("CKR_WRAPPED_KEY_LEN_RANGE", "wrapped key length is not valid")
    try:
        return unwrap(wrapping_key, wrapped)
    except keywrap.InvalidUnwrap:
        raise Pkcs11Error("CKR_WRAPPED_KEY_INVALID", "integrity check failed") from None


# --- RSA -----------------------------------------------------------------------------------------


def _oaep(hash_name: str, label: bytes | None) -> padding.OAEP:
    algorithm = hash_algorithm(hash_name)
    return padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=label or None)


def rsa_oaep_encrypt(
    public_key: rsa.RSAPublicKey, data: bytes, hash_name: str = "sha1", label: bytes | None = None
) -> bytes:
    """RSA-OAEP (PKCS#1 v2.2) with MGF1 over the same hash; too much data is CKR_DATA_LEN_RANGE."""
    oaep = _oaep(hash_name, label)
    limit = public_key.key_size // 8 - 2 * hash_algorithm(hash_name).digest_size - 2
    if len(data) > limit:
        raise Pkcs11Error("CKR_DATA_LEN_RANGE", f"RSA-OAEP takes at most {limit} bytes here")
    return public_key.encrypt(data, oaep)


def rsa_oaep_decrypt(
    private_key: rsa.RSAPrivateKey,
    blob: bytes,
    hash_name: str = "sha1",
    label: bytes | None = None,
    *,
    failure_code: str = "CKR_ENCRYPTED_DATA_INVALID",
) -> bytes:
    """Inverse of :func:`rsa_oaep_encrypt`; any failure is one opaque ``failure_code``."""
    oaep = _oaep(hash_name, label)
    if len(blob) != private_key.key_size // 8:
        length_code = (
            "CKR_ENCRYPTED_DATA_LEN_RANGE"
            if failure_code == "CKR_ENCRYPTED_DATA_INVALID"
            else "CKR_WRAPPED_KEY_LEN_RANGE"
        )
        raise Pkcs11Error(length_code, "ciphertext length must equal the modulus length")
    try:
        return private_key.decrypt(blob, oaep)
    except ValueError:
        raise Pkcs11Error(failure_code, "decryption failed") from None


def rsa_pkcs1_sign(private_key: rsa.RSAPrivateKey, data: bytes, hash_name: str) -> bytes:
    """RSASSA-PKCS1-v1_5 over ``data`` hashed with ``hash_name``."""
    return private_key.sign(data, padding.PKCS1v15(), hash_algorithm(hash_name))


def rsa_pkcs1_verify(
    public_key: rsa.RSAPublicKey, data: bytes, signature: bytes, hash_name: str
) -> None:
    """Raise CKR_SIGNATURE_INVALID unless ``signature`` is valid."""
    try:
        public_key.verify(signature, data, padding.PKCS1v15(), hash_algorithm(hash_name))
    except InvalidSignature:
        raise Pkcs11Error("CKR_SIGNATURE_INVALID", "signature does not verify") from None


# DER DigestInfo prefixes (RFC 8017, section 9.2, note 1): what CKM_RSA_PKCS signs when a
# caller such as OpenSSL's PKCS #11 engine has hashed the data itself.
_DIGEST_INFO = {
    bytes.fromhex("3021300906052b0e03021a05000414"): "sha1",
    bytes.fromhex("302d300d06096086480165030402040500041c"): "sha224",
    bytes.fromhex("3031300d060960864801650304020105000420"): "sha256",
    bytes.fromhex("3041300d060960864801650304020205000430"): "sha384",
    bytes.fromhex("3051300d060960864801650304020305000440"): "sha512",
}


def _prehashed(data: bytes) -> tuple[bytes, str] | None:
    for prefix, name in _DIGEST_INFO.items():
        digest = data[len(prefix) :]
        if data.startswith(prefix) and len(digest) == hash_algorithm(name).digest_size:
            return digest, name
    return None


def _raw_block(key_size: int, data: bytes) -> int:
    size = (key_size + 7) // 8
    if len(data) > size - 11:
        raise Pkcs11Error("CKR_DATA_LEN_RANGE", "CKM_RSA_PKCS signs at most k - 11 bytes")
    block = b"\x00\x01" + b"\xff" * (size - 3 - len(data)) + b"\x00" + data
    return int.from_bytes(block, "big")


def rsa_pkcs1_raw_sign(private_key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """CKM_RSA_PKCS sign: EMSA-PKCS1-v1_5 padding around ``data`` as given (usually a
    DigestInfo), then the private-key operation."""
    prehashed = _prehashed(data)
    if prehashed is not None:
        digest, name = prehashed
        return private_key.sign(digest, padding.PKCS1v15(), Prehashed(hash_algorithm(name)))
    numbers = private_key.private_numbers()
    block = _raw_block(private_key.key_size, data)
    # CRT, as an HSM computes it.
    m1, m2 = pow(block, numbers.dmp1, numbers.p), pow(block, numbers.dmq1, numbers.q)
    value = m2 + numbers.q * ((numbers.iqmp * (m1 - m2)) % numbers.p)
    return value.to_bytes((private_key.key_size + 7) // 8, "big")


def rsa_pkcs1_raw_verify(public_key: rsa.RSAPublicKey, data: bytes, signature: bytes) -> None:
    """CKM_RSA_PKCS verify; CKR_SIGNATURE_INVALID unless ``signature`` pads ``data``."""
    numbers = public_key.public_numbers()
    size = (public_key.key_size + 7) // 8
    if len(signature) != size:
        raise Pkcs11Error("CKR_SIGNATURE_LEN_RANGE", "the signature has the wrong length")
    value = int.from_bytes(signature, "big")
    if value >= numbers.n or pow(value, numbers.e, numbers.n) != _raw_block(
        public_key.key_size, data
    ):
        raise Pkcs11Error("CKR_SIGNATURE_INVALID", "signature does not verify")


def _pss(hash_name: str, salt_length: int | None) -> padding.PSS:
    algorithm = hash_algorithm(hash_name)
    salt = algorithm.digest_size if salt_length is None else salt_length
    return padding.PSS(mgf=padding.MGF1(algorithm), salt_length=salt)


def rsa_pss_sign(
    private_key: rsa.RSAPrivateKey,
    data: bytes,
    hash_name: str,
    salt_length: int | None = None,
    *,
    prehashed: bool = False,
) -> bytes:
    """RSASSA-PSS with MGF1; the salt defaults to the hash length.

    With ``prehashed`` the data is already a digest (CKM_RSA_PKCS_PSS).
    """
    algorithm = hash_algorithm(hash_name)
    chosen: hashes.HashAlgorithm | Prehashed = Prehashed(algorithm) if prehashed else algorithm
    if prehashed and len(data) != algorithm.digest_size:
        raise Pkcs11Error("CKR_DATA_LEN_RANGE", "the digest length does not match the hash")
    return private_key.sign(data, _pss(hash_name, salt_length), chosen)


def rsa_pss_verify(
    public_key: rsa.RSAPublicKey,
    data: bytes,
    signature: bytes,
    hash_name: str,
    salt_length: int | None = None,
    *,
    prehashed: bool = False,
) -> None:
    """Raise CKR_SIGNATURE_INVALID unless ``signature`` is a valid PSS signature."""
    algorithm = hash_algorithm(hash_name)
    chosen: hashes.HashAlgorithm | Prehashed = Prehashed(algorithm) if prehashed else algorithm
    try:
        public_key.verify(signature, data, _pss(hash_name, salt_length), chosen)
    except (InvalidSignature, ValueError):
        raise Pkcs11Error("CKR_SIGNATURE_INVALID", "signature does not verify") from None


# --- ECDSA ---------------------------------------------------------------------------------------


def _coordinate_bytes(curve: ec.EllipticCurve) -> int:
    return (curve.key_size + 7) // 8


def ecdsa_sign(
    private_key: ec.EllipticCurvePrivateKey, data: bytes, hash_name: str | None
) -> bytes:
    """ECDSA; the signature is PKCS#11's raw ``r || s``.

    ``hash_name=None`` is CKM_ECDSA: ``data`` is already a digest (any length, as the token
    truncates it to the curve order).
    """
    if hash_name is None:
        # Prehashed needs a hash of the same length; pick one by size (the value is unused).
        algorithm: hashes.HashAlgorithm | Prehashed = Prehashed(_hash_for_length(len(data)))
    else:
        algorithm = hash_algorithm(hash_name)
    der = private_key.sign(data, ec.ECDSA(algorithm))
    r, s = decode_dss_signature(der)
    size = _coordinate_bytes(private_key.curve)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def ecdsa_verify(
    public_key: ec.EllipticCurvePublicKey, data: bytes, signature: bytes, hash_name: str | None
) -> None:
    """Raise CKR_SIGNATURE_INVALID unless ``signature`` (raw ``r || s``) verifies."""
    size = _coordinate_bytes(public_key.curve)
    if len(signature) != 2 * size:
        raise Pkcs11Error("CKR_SIGNATURE_LEN_RANGE", f"an ECDSA signature here is {2 * size} bytes")
    r = int.from_bytes(signature[:size], "big")
    s = int.from_bytes(signature[size:], "big")
    if hash_name is None:
        algorithm: hashes.HashAlgorithm | Prehashed = Prehashed(_hash_for_length(len(data)))
    else:
        algorithm = hash_algorithm(hash_name)
    try:
        public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(algorithm))
    except InvalidSignature:
        raise Pkcs11Error("CKR_SIGNATURE_INVALID", "signature does not verify") from None


def _hash_for_length(length: int) -> hashes.HashAlgorithm:
    # CKM_ECDSA signs a digest computed elsewhere; SHA-1 digests are legal input there.
    for algorithm in (hashes.SHA1(), hashes.SHA224(), hashes.SHA256(), hashes.SHA384()):  # noqa: S303
        if algorithm.digest_size == length:
            return algorithm
    if length == 64:
        return hashes.SHA512()
    raise Pkcs11Error("CKR_DATA_LEN_RANGE", "CKM_ECDSA takes a SHA-1 or SHA-2 digest")


# --- HMAC and digests ----------------------------------------------------------------------------


def hmac_sign(key: bytes, data: bytes, hash_name: str) -> bytes:
    """HMAC (RFC 2104) with a SHA-1/SHA-2 hash."""
    return hmac.new(key, data, hash_name.lower()).digest()


def hmac_verify(key: bytes, data: bytes, mac: bytes, hash_name: str) -> None:
    """Raise CKR_SIGNATURE_INVALID unless ``mac`` matches (constant-time compare)."""
    expected = hmac_sign(key, data, hash_name)
    if len(mac) != len(expected):
        raise Pkcs11Error("CKR_SIGNATURE_LEN_RANGE", "wrong MAC length")
    if not hmac.compare_digest(expected, mac):
        raise Pkcs11Error("CKR_SIGNATURE_INVALID", "MAC does not verify")


def digest(data: bytes, hash_name: str) -> bytes:
    """A SHA-1/SHA-2 digest (FIPS 180-4)."""
    return hashlib.new(hash_name.lower(), data).digest()
