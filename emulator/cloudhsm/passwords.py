"""HSM user passwords: salted PBKDF2 records, checked in constant time. Nobody, AWS
included, can read a password back or recover a lost one."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from emulator.core import RandomSource

from .errors import Pkcs11Error
from .state import PBKDF2_ITERATIONS


def hash_password(password: str, salt: bytes) -> str:
    derived = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, PBKDF2_ITERATIONS)
    return derived.hex()


def password_record(random: RandomSource, password: str) -> dict[str, Any]:
    """A new password record; CKR_PIN_LEN_RANGE unless 7 to 32 characters."""
    if not isinstance(password, str) or not 7 <= len(password) <= 32:
        raise Pkcs11Error("CKR_PIN_LEN_RANGE", "passwords are 7 to 32 characters")
    salt = random.token_bytes(16)
    return {"salt": salt.hex(), "hash": hash_password(password, salt)}


def password_matches(user: dict[str, Any], password: str) -> bool:
    record = user.get("password")
    if not record:
        return False
    candidate = hash_password(password, bytes.fromhex(record["salt"]))
    return hmac.compare_digest(candidate, record["hash"])
