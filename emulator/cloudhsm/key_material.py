"""Key material the HSM is handed or keeps: PKCS#8 and SubjectPublicKeyInfo parsed and
checked (RSA of 2048 bits or more, supported curves), and the memo of parsed private keys."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import primitives as prim
from .errors import Pkcs11Error

_PARSED_KEYS: OrderedDict[bytes, Any] = OrderedDict()
_PARSED_KEYS_MAX = 256


def parse_private_key(der: bytes) -> Any:
    """PKCS#8 DER -> a ``cryptography`` private key, memoized by the DER's SHA-256.

    A pure function of its input, memoized because a freshly parsed RSA key signs about 1.7x
    slower than a warm one (OpenSSL builds its Montgomery and blinding state on first use), as
    an HSM keeps its keys loaded. It holds no engine state: a miss gives the same result, the
    material was unsealed (and its binding checked) by the caller, and the cache is bounded.
    Keys were validated when generated or imported, so the slow RSA re-validation is skipped.
    """
    fingerprint = hashlib.sha256(der).digest()
    parsed = _PARSED_KEYS.get(fingerprint)
    if parsed is None:
        parsed = serialization.load_der_private_key(der, None, unsafe_skip_rsa_key_validation=True)
        _PARSED_KEYS[fingerprint] = parsed
        if len(_PARSED_KEYS) > _PARSED_KEYS_MAX:
            _PARSED_KEYS.popitem(last=False)
    else:
        _PARSED_KEYS.move_to_end(fingerprint)
    return parsed


def load_private(material: bytes, key_type: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    try:
        if material.lstrip().startswith(b"-----"):
            key = serialization.load_pem_private_key(material, None)
        else:
            key = serialization.load_der_private_key(material, None)
    except (ValueError, TypeError):
        raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", "not a PKCS#8 private key") from None
    if key_type == "rsa" and isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", "RSA keys are at least 2048 bits")
        return key
    if key_type == "ec" and isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name not in prim.CURVES:
            raise Pkcs11Error("CKR_CURVE_NOT_SUPPORTED", f"unsupported curve {key.curve.name}")
        return key
    raise Pkcs11Error("CKR_KEY_TYPE_INCONSISTENT", f"the material is not an {key_type} key")


def load_public(material: bytes, key_type: str) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    try:
        if material.lstrip().startswith(b"-----"):
            key = serialization.load_pem_public_key(material)
        else:
            key = serialization.load_der_public_key(material)
    except (ValueError, TypeError):
        raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", "not a SubjectPublicKeyInfo") from None
    if key_type == "rsa" and isinstance(key, rsa.RSAPublicKey):
        return key
    if key_type == "ec" and isinstance(key, ec.EllipticCurvePublicKey):
        return key
    raise Pkcs11Error("CKR_KEY_TYPE_INCONSISTENT", f"the material is not an {key_type} key")
