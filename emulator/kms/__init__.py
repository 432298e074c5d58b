"""Emulated AWS KMS on ``cryptography``: keys, aliases, policies, grants, rotation, data
keys, signatures, MACs and CloudHSM custom key stores. Imports nothing from Django.

Typical use::

    kms = Kms(Host(MemoryStorage(), SystemClock(), SystemRandom(), Sealer(master_key)))
    key = kms.create_key(ROOT, {})["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(ROOT, {"KeyId": key, "Plaintext": b"hi"})["CiphertextBlob"]
    kms.call(ROOT, "Decrypt", {"CiphertextBlob": blob})["Plaintext"]  # b"hi"
"""

from __future__ import annotations

from emulator.kms import errors
from emulator.kms.access import Decision
from emulator.kms.errors import KmsError, UnknownOperationException
from emulator.kms.policy import default_key_policy
from emulator.kms.service import OPERATIONS, Kms
from emulator.kms.validation import decode_request, encode_response

__all__ = [
    "OPERATIONS",
    "Decision",
    "Kms",
    "KmsError",
    "UnknownOperationException",
    "decode_request",
    "default_key_policy",
    "encode_response",
    "errors",
]
