"""Key attributes with CloudHSM CLI names, their defaults and the rules for changing them.

Source: "Supported attributes for CloudHSM CLI" (AWS CloudHSM User Guide): usage attributes
default to false except sign/verify on AES keys; extractable defaults to true; sensitive is
true for secret and private keys and false for public keys; token defaults to false (a CLI
key is a session key unless ``--session`` is absent, which the CLI layer decides).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import Pkcs11Error

__all__ = [
    "BOOLEAN_ATTRIBUTES",
    "CREATION_ATTRIBUTES",
    "KEY_CLASSES",
    "KEY_TYPES",
    "OUTPUT_ORDER",
    "apply_template",
    "check_change",
    "coerce",
    "defaults",
    "matches",
]

KEY_CLASSES = ("secret-key", "public-key", "private-key")
KEY_TYPES = ("aes", "generic-secret", "rsa", "ec")

# What a key may be used for (each one a boolean attribute).
USAGE_ATTRIBUTES = frozenset({"encrypt", "decrypt", "sign", "verify", "wrap", "unwrap", "derive"})
BOOLEAN_ATTRIBUTES = USAGE_ATTRIBUTES | {
    "token",
    "private",
    "sensitive",
    "extractable",
    "trusted",
    "wrap-with-trusted",
    "modifiable",
    "destroyable",
    "local",
    "always-sensitive",
    "never-extractable",
}

# What a key template may set when a key is generated, imported or unwrapped. ``trusted`` is
# missing on purpose: only an admin can mark a key trusted, with key set-attribute; the HSM
# itself sets local, always-sensitive and never-extractable.
CREATION_ATTRIBUTES = (
    BOOLEAN_ATTRIBUTES - {"trusted", "local", "always-sensitive", "never-extractable"}
) | {"label", "id"}

# Attributes key set-attribute may change, and the only direction allowed where there is one.
_ONE_WAY: dict[str, bool] = {
    "sensitive": True,  # false -> true only
    "extractable": False,  # true -> false only
    "modifiable": False,
    "wrap-with-trusted": True,
    "token": True,  # session key -> token key only
}
_FREELY_SETTABLE = USAGE_ATTRIBUTES | {"label", "id", "destroyable", "trusted"}

# Order of CloudHSM CLI's output.
OUTPUT_ORDER = (
    "key-type",
    "label",
    "id",
    "check-value",
    "class",
    "encrypt",
    "decrypt",
    "token",
    "always-sensitive",
    "derive",
    "destroyable",
    "extractable",
    "local",
    "modifiable",
    "never-extractable",
    "private",
    "sensitive",
    "sign",
    "trusted",
    "unwrap",
    "verify",
    "wrap",
    "wrap-with-trusted",
    "key-length-bytes",
    "modulus",
    "modulus-size-bits",
    "public-exponent",
    "ec-point",
    "curve",
)

_KNOWN = frozenset(OUTPUT_ORDER)


def defaults(key_class: str, key_type: str) -> dict[str, Any]:
    """CloudHSM CLI defaults for a new key of this class and type."""
    is_public = key_class == "public-key"
    is_aes = key_type == "aes"
    return {
        "key-type": key_type,
        "label": "",
        "id": "",
        "class": key_class,
        "encrypt": False,
        "decrypt": False,
        "token": False,
        "derive": False,
        "destroyable": True,
        "extractable": True,
        "local": True,
        "modifiable": True,
        "private": True,
        "sensitive": not is_public,
        "sign": is_aes,
        "trusted": False,
        "unwrap": False,
        "verify": is_aes,
        "wrap": False,
        "wrap-with-trusted": False,
    }


def coerce(name: str, value: object) -> bool | str:
    """Validate one attribute value (Python bool/str, or CLI text such as "true")."""
    if name not in _KNOWN:
        raise Pkcs11Error("CKR_ATTRIBUTE_TYPE_INVALID", f"unknown attribute {name!r}")
    if name in BOOLEAN_ATTRIBUTES:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", f"{name} must be true or false")
    if name in ("label", "id"):
        if not isinstance(value, str) or len(value) > 127:
            raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", f"{name} must be text up to 127")
        return value
    raise Pkcs11Error("CKR_ATTRIBUTE_READ_ONLY", f"{name} cannot be set")


def apply_template(
    attributes: dict[str, Any], template: Mapping[str, object] | None, *, key_class: str
) -> None:
    """Apply a creation template onto ``attributes`` (the defaults), checking each entry."""
    for name, raw in (template or {}).items():
        if name not in CREATION_ATTRIBUTES:
            coerce(name, raw)  # unknown names are TYPE_INVALID, known ones fall through
            raise Pkcs11Error("CKR_ATTRIBUTE_READ_ONLY", f"{name} cannot be set at creation")
        value = coerce(name, raw)
        if (
            key_class == "public-key"
            and name in ("sensitive", "extractable")
            and value != (name == "extractable")
        ):
            raise Pkcs11Error(
                "CKR_ATTRIBUTE_VALUE_INVALID", f"{name} does not apply to public keys"
            )
        attributes[name] = value


def check_change(attributes: Mapping[str, Any], name: str, raw: object) -> bool | str:
    """Validate ``key set-attribute``; return the new value.

    One-way attributes only tighten (sensitive and wrap-with-trusted only become true,
    extractable and modifiable only become false, a session key may become a token key);
    anything else is CKR_ATTRIBUTE_READ_ONLY, as on SoftHSM2 and CloudHSM.
    """
    value = coerce(name, raw)
    if name in _ONE_WAY:
        if value != attributes.get(name) and value != _ONE_WAY[name]:
            raise Pkcs11Error("CKR_ATTRIBUTE_READ_ONLY", f"{name} can only change one way")
        return value
    if name not in _FREELY_SETTABLE:
        raise Pkcs11Error("CKR_ATTRIBUTE_READ_ONLY", f"{name} cannot be changed")
    not_derivable = attributes.get("class") == "public-key" or attributes.get("key-type") == "rsa"
    if name == "derive" and value and not_derivable:
        raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", "derive is not for this key")
    return value


def matches(attributes: Mapping[str, Any], filters: Mapping[str, object]) -> bool:
    """Whether a key's attributes satisfy every ``name=value`` filter (text compared loosely)."""
    for name, wanted in filters.items():
        have = attributes.get(name)
        if have is None:
            return False
        if isinstance(have, bool):
            try:
                if coerce(name, wanted) != have:
                    return False
            except Pkcs11Error:
                return False
        elif str(have).lower() != str(wanted).lower():
            return False
    return True
