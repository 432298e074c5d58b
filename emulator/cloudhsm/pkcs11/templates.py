"""PKCS #11 attribute templates <-> the engine's CloudHSM CLI attribute names and key material.

A template arrives as ``{CKA number: value}`` (booleans as bool, CK_ULONGs as int, the rest
as bytes). Going in, it becomes the engine's ``label``, ``attributes`` and ``token``; coming
out, a described key answers each CKA its PKCS #11 encoding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..errors import Pkcs11Error
from ..primitives import CURVES
from . import constants as c

Template = dict[int, Any]

# Attributes the HSM decides: a template may not set them (CKR_ATTRIBUTE_READ_ONLY).
_HSM_SET = {0x163: "local", 0x164: "never-extractable", 0x165: "always-sensitive"}
# What C_CreateObject consumes as key material rather than as attributes.
CREATE_SKIP = frozenset(
    {c.CKA_VALUE, c.CKA_MODULUS, c.CKA_PUBLIC_EXPONENT, c.CKA_PRIVATE_EXPONENT, c.CKA_PRIME_1}
    | {c.CKA_PRIME_2, c.CKA_EXPONENT_1, c.CKA_EXPONENT_2, c.CKA_COEFFICIENT, c.CKA_EC_POINT}
    | {c.CKA_EC_PARAMS}
)


def as_template(attributes: list[Any]) -> Template:
    """``rpc.Attribute`` list -> ``{type: value}``; a repeated type is inconsistent."""
    template: Template = {}
    for attribute in attributes:
        if attribute.type in template:
            raise Pkcs11Error("CKR_TEMPLATE_INCONSISTENT", "an attribute appears twice")
        template[attribute.type] = attribute.value
    return template


def id_to_engine(value: bytes) -> str:
    return "0x" + value.hex() if value else ""


def id_from_engine(text: str) -> bytes:
    if text.startswith("0x"):
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            pass
    return text.encode()


def text(value: Any, what: str) -> str:
    if not isinstance(value, bytes):
        raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", f"{what} must be bytes")
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", f"{what} must be UTF-8") from None


def engine_attributes(template: Template, *, skip: frozenset[int] = frozenset()) -> dict[str, Any]:
    """The settable attributes of a template as engine names (CKA_TOKEN included as
    ``token``); key material, class, type and length are the caller's (in ``skip``)."""
    attributes: dict[str, Any] = {}
    for kind, value in template.items():
        if kind in skip or kind in (c.CKA_CLASS, c.CKA_KEY_TYPE):
            continue
        if kind == c.CKA_LABEL:
            attributes["label"] = text(value, "CKA_LABEL")
        elif kind == c.CKA_ID:
            attributes["id"] = id_to_engine(value if isinstance(value, bytes) else b"")
        elif kind in _HSM_SET:
            raise Pkcs11Error("CKR_ATTRIBUTE_READ_ONLY", f"{_HSM_SET[kind]} is set by the HSM")
        elif kind in c.BOOLEAN_ATTRIBUTES:
            attributes[c.BOOLEAN_ATTRIBUTES[kind]] = bool(value)
        else:
            raise Pkcs11Error("CKR_ATTRIBUTE_TYPE_INVALID", f"attribute 0x{kind:x}")
    return attributes


def split_creation(template: Template, skip: frozenset[int]) -> tuple[str, dict[str, Any], bool]:
    """(label, attributes, token) for a key-creating call. PKCS #11 objects are session
    objects unless CKA_TOKEN is true."""
    attributes = engine_attributes(template, skip=skip)
    token = bool(attributes.pop("token", False))
    label = str(attributes.pop("label", ""))
    return label, attributes, token


def expect_class(template: Template, key_class: str) -> None:
    wanted = template.get(c.CKA_CLASS)
    if wanted is not None and c.CKO.get(int(wanted)) != key_class:
        raise Pkcs11Error("CKR_TEMPLATE_INCONSISTENT", f"CKA_CLASS must be {key_class}")


def expect_key_type(template: Template, key_type: str) -> None:
    wanted = template.get(c.CKA_KEY_TYPE)
    if wanted is not None and c.CKK.get(int(wanted)) != key_type:
        raise Pkcs11Error("CKR_TEMPLATE_INCONSISTENT", f"CKA_KEY_TYPE must be {key_type}")


def find_filters(template: Template) -> dict[str, Any] | None:
    """C_FindObjectsInit's template as engine filters; None when nothing can match (an
    attribute no CloudHSM key has, such as a certificate type)."""
    filters: dict[str, Any] = {}
    for kind, value in template.items():
        if kind == c.CKA_CLASS:
            if int(value) not in c.CKO:
                return None
            filters["class"] = c.CKO[int(value)]
        elif kind == c.CKA_KEY_TYPE:
            if int(value) not in c.CKK:
                return None
            filters["key-type"] = c.CKK[int(value)]
        elif kind == c.CKA_LABEL:
            filters["label"] = value.decode(errors="replace") if value is not None else ""
        elif kind == c.CKA_ID:
            filters["id"] = id_to_engine(value or b"")
        elif kind in c.BOOLEAN_ATTRIBUTES:
            filters[c.BOOLEAN_ATTRIBUTES[kind]] = bool(value)
        else:
            return None
    return filters


# --- key material in, for C_CreateObject -------------------------------------------------


def _integer(template: Template, kind: int, what: str) -> int:
    value = template.get(kind)
    if not isinstance(value, bytes) or not value:
        raise Pkcs11Error("CKR_TEMPLATE_INCOMPLETE", f"{what} is missing")
    return int.from_bytes(value, "big")


def _curve(template: Template) -> ec.EllipticCurve:
    params = template.get(c.CKA_EC_PARAMS)
    if not isinstance(params, bytes):
        raise Pkcs11Error("CKR_TEMPLATE_INCOMPLETE", "CKA_EC_PARAMS is missing")
    name = c.CURVE_OIDS.get(params)
    if name is None:
        raise Pkcs11Error("CKR_CURVE_NOT_SUPPORTED", "unsupported EC parameters")
    return CURVES[name]()


def _ec_point(value: Any) -> bytes:
    """CKA_EC_POINT: a DER OCTET STRING around the X9.62 point (also accepted raw)."""
    if not isinstance(value, bytes) or not value:
        raise Pkcs11Error("CKR_TEMPLATE_INCOMPLETE", "CKA_EC_POINT is missing")
    if value[0] == 0x04 and len(value) > 2:
        length, start = value[1], 2
        if length & 0x80:
            start = 2 + (length & 0x7F)
            length = int.from_bytes(value[2:start], "big")
        if start + length == len(value) and value[start] in (2, 3, 4):
            return value[start:]
    return value


def import_material(template: Template, key_class: str, key_type: str) -> tuple[str, bytes]:
    """(engine key type, material) for C_CreateObject: raw secret bytes, PKCS#8 or SPKI DER."""
    der = serialization.Encoding.DER
    if key_class == "secret-key":
        value = template.get(c.CKA_VALUE)
        if not isinstance(value, bytes):
            raise Pkcs11Error("CKR_TEMPLATE_INCOMPLETE", "CKA_VALUE is missing")
        return key_type, value
    try:
        if key_type == "rsa" and key_class == "public-key":
            numbers = rsa.RSAPublicNumbers(
                _integer(template, c.CKA_PUBLIC_EXPONENT, "CKA_PUBLIC_EXPONENT"),
                _integer(template, c.CKA_MODULUS, "CKA_MODULUS"),
            )
            spki = numbers.public_key().public_bytes(
                der, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            return "rsa-public", spki
        if key_type == "rsa":
            return "rsa-private", _rsa_private(template)
        if key_class == "public-key":
            point = _ec_point(template.get(c.CKA_EC_POINT))
            public = ec.EllipticCurvePublicKey.from_encoded_point(_curve(template), point)
            spki = public.public_bytes(der, serialization.PublicFormat.SubjectPublicKeyInfo)
            return "ec-public", spki
        scalar = _integer(template, c.CKA_VALUE, "CKA_VALUE")
        private = ec.derive_private_key(scalar, _curve(template))
        return "ec-private", _pkcs8(private)
    except ValueError as error:
        raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", str(error)) from None


def _rsa_private(template: Template) -> bytes:
    n = _integer(template, c.CKA_MODULUS, "CKA_MODULUS")
    e = _integer(template, c.CKA_PUBLIC_EXPONENT, "CKA_PUBLIC_EXPONENT")
    d = _integer(template, c.CKA_PRIVATE_EXPONENT, "CKA_PRIVATE_EXPONENT")
    if isinstance(template.get(c.CKA_PRIME_1), bytes) and isinstance(
        template.get(c.CKA_PRIME_2), bytes
    ):
        p = _integer(template, c.CKA_PRIME_1, "CKA_PRIME_1")
        q = _integer(template, c.CKA_PRIME_2, "CKA_PRIME_2")
    else:
        p, q = rsa.rsa_recover_prime_factors(n, e, d)
    numbers = rsa.RSAPrivateNumbers(
        p,
        q,
        d,
        rsa.rsa_crt_dmp1(d, p),
        rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(e, n),
    )
    return _pkcs8(numbers.private_key())


def _pkcs8(private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


# --- described keys out, for C_GetAttributeValue -------------------------------------------


def _big_endian(number: int) -> bytes:
    return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")


def _octet_string(data: bytes) -> bytes:
    if len(data) < 0x80:
        return bytes([0x04, len(data)]) + data
    size = _big_endian(len(data))
    return bytes([0x04, 0x80 | len(size)]) + size + data


_GENERATED_BY = {"aes": 0x1080, "generic-secret": 0x350, "rsa": 0x0, "ec": 0x1040}


def public_value(kind: int, attributes: Mapping[str, Any]) -> Any:
    """The PKCS #11 value of ``kind`` from a described key's attributes; ``KeyError`` when
    the key has no such attribute. Key material (CKA_VALUE ...) is the caller's."""
    key_type = attributes["key-type"]
    if kind == c.CKA_CLASS:
        return c.CKO_NUMBER[attributes["class"]]
    if kind == c.CKA_KEY_TYPE:
        return c.CKK_NUMBER[key_type]
    if kind == c.CKA_LABEL:
        return str(attributes.get("label", "")).encode()
    if kind == c.CKA_ID:
        return id_from_engine(str(attributes.get("id", "")))
    if kind in c.BOOLEAN_ATTRIBUTES:
        return bool(attributes[c.BOOLEAN_ATTRIBUTES[kind]])
    if kind == c.CKA_VALUE_LEN and "key-length-bytes" in attributes:
        return int(attributes["key-length-bytes"])
    if kind == c.CKA_CHECK_VALUE and "check-value" in attributes:
        return bytes.fromhex(str(attributes["check-value"])[2:])
    if kind == c.CKA_ALWAYS_AUTHENTICATE and attributes["class"] == "private-key":
        return False  # CloudHSM keys never ask for a second login per operation
    if kind == c.CKA_KEY_GEN_MECHANISM:
        return _GENERATED_BY[key_type] if attributes.get("local") else c.UNAVAILABLE
    if kind == c.CKA_MODULUS and "modulus" in attributes:
        return _big_endian(int(attributes["modulus"], 16))
    if kind == c.CKA_MODULUS_BITS and "modulus-size-bits" in attributes:
        return int(attributes["modulus-size-bits"])
    if kind == c.CKA_PUBLIC_EXPONENT and "public-exponent" in attributes:
        return _big_endian(int(attributes["public-exponent"], 16))
    if kind == c.CKA_EC_PARAMS and "curve" in attributes:
        return c.CURVE_PARAMS[str(attributes["curve"])]
    if kind == c.CKA_EC_POINT and "ec-point" in attributes and attributes["class"] != "private-key":
        return _octet_string(bytes.fromhex(str(attributes["ec-point"])[2:]))
    raise KeyError(kind)


PRIVATE_COMPONENTS = {
    c.CKA_PRIVATE_EXPONENT: "d",
    c.CKA_PRIME_1: "p",
    c.CKA_PRIME_2: "q",
    c.CKA_EXPONENT_1: "dmp1",
    c.CKA_EXPONENT_2: "dmq1",
    c.CKA_COEFFICIENT: "iqmp",
}


def private_component(kind: int, pkcs8: bytes) -> bytes:
    """CKA_PRIVATE_EXPONENT and friends (RSA) or CKA_VALUE (EC) of an exportable private key."""
    private = serialization.load_der_private_key(pkcs8, None)
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return _big_endian(private.private_numbers().private_value)
    assert isinstance(private, rsa.RSAPrivateKey)
    return _big_endian(getattr(private.private_numbers(), PRIVATE_COMPONENTS[kind]))
