"""Imported key material (keys of origin EXTERNAL, "bring your own key"):
GetParametersForImport, ImportKeyMaterial and DeleteImportedKeyMaterial.

A key made with ``Origin=EXTERNAL`` has no material and waits in PendingImport. The customer
asks for a wrapping public key and an import token (valid 24 hours), wraps 32 bytes of their
own material under it and imports it, optionally with an expiry (``ValidTo``) after which KMS
deletes the material again. Only the same material can be imported again later, which is why a
ciphertext made before a deletion decrypts once it is back. KMS keeps a SHA-256 of the first
material imported for that check, never the material itself once it is deleted.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from emulator.kms import authorization, lifecycle
from emulator.kms.errors import (
    ExpiredImportTokenException,
    IncorrectKeyMaterialException,
    InvalidCiphertextException,
    InvalidImportTokenException,
    UnsupportedOperationException,
    ValidationException,
)
from emulator.kms.records import IMPORT, KeyRecord, material_identity
from emulator.kms.state import JSON, Call, KmsState

__all__ = [
    "WRAPPING_ALGORITHMS",
    "WRAPPING_KEY_SPECS",
    "delete_imported_key_material",
    "get_parameters_for_import",
    "import_key_material",
]

TOKEN_SECONDS = 24 * 3600
#: WrappingAlgorithm -> (the OAEP hash, whether the material is under an AES key wrap too).
WRAPPING_ALGORITHMS = {
    "RSAES_OAEP_SHA_1": (hashes.SHA1, False),
    "RSAES_OAEP_SHA_256": (hashes.SHA256, False),
    "RSA_AES_KEY_WRAP_SHA_1": (hashes.SHA1, True),
    "RSA_AES_KEY_WRAP_SHA_256": (hashes.SHA256, True),
}
WRAPPING_KEY_SPECS = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
_TOKEN_PREFIX = b"kms-import-token:1:"


def _external_key(kms: KmsState, call: Call, request: JSON, action: str) -> KeyRecord:
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, action)
    if key.origin != "EXTERNAL":
        raise UnsupportedOperationException(
            f"{kms.key_arn(key.key_id)} origin is {key.origin} which is not valid for this "
            "operation."
        )
    kms._reject_pending_deletion(key)
    return key


def get_parameters_for_import(kms: KmsState, call: Call, request: JSON) -> JSON:
    """GetParametersForImport: a fresh RSA wrapping key pair and the token that goes with it."""
    key = _external_key(kms, call, request, "kms:GetParametersForImport")
    algorithm = request["WrappingAlgorithm"]
    if algorithm not in WRAPPING_ALGORITHMS:
        raise UnsupportedOperationException(
            f"WrappingAlgorithm {algorithm} is not supported by this emulator."
        )
    size = WRAPPING_KEY_SPECS.get(request["WrappingKeySpec"])
    if size is None:
        raise UnsupportedOperationException(
            f"WrappingKeySpec {request['WrappingKeySpec']} is not supported by this emulator."
        )
    private = rsa.generate_private_key(public_exponent=65537, key_size=size)
    token_id = kms._random_hex(32)
    now = kms._now()
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    kms._put(
        IMPORT,
        token_id,
        {
            "key_id": key.key_id,
            "algorithm": algorithm,
            "wrapping_key": kms._sealer.seal(der, f"kms-import:{token_id}"),
            "valid_to": now + TOKEN_SECONDS,
        },
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "KeyId": kms.key_arn(key.key_id),
        "ImportToken": _TOKEN_PREFIX + token_id.encode("ascii"),
        "PublicKey": public,
        "ParametersValidTo": now + TOKEN_SECONDS,
    }


def import_key_material(kms: KmsState, call: Call, request: JSON) -> JSON:
    """ImportKeyMaterial: unwrap the customer's material with the token's private key."""
    key = _external_key(kms, call, request, "kms:ImportKeyMaterial")
    model = request.get("ExpirationModel") or "KEY_MATERIAL_EXPIRES"
    valid_to = request.get("ValidTo")
    if model == "KEY_MATERIAL_EXPIRES" and valid_to is None:
        raise ValidationException(
            "A ValidTo date is required when ExpirationModel is KEY_MATERIAL_EXPIRES."
        )
    if model == "KEY_MATERIAL_DOES_NOT_EXPIRE" and valid_to is not None:
        raise ValidationException(
            "ValidTo must not be set when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE."
        )
    now = kms._now()
    if valid_to is not None and valid_to <= now:
        raise ValidationException("ValidTo must be in the future.")
    token_id, parameters = _parameters_of(kms, key, request["ImportToken"], now)
    material = _unwrapped(kms, token_id, parameters, request["EncryptedKeyMaterial"])
    digest = hashlib.sha256(material).hexdigest()
    if key.material_digest is not None and key.material_digest != digest:
        raise IncorrectKeyMaterialException(
            "The key material being imported is different from the key material that was "
            f"previously imported into {kms.key_arn(key.key_id)}."
        )
    key.material = kms._sealer.seal(material, material_identity(key.key_id, 1))
    key.material_digest = digest
    key.expiration_model = model
    key.valid_to = valid_to
    if key.state == "PendingImport":
        key.state = "Enabled"
    kms._put_key(key)
    if valid_to is not None:
        lifecycle.schedule(kms, valid_to)
    return {}


def _parameters_of(kms: KmsState, key: KeyRecord, token: bytes, now: float) -> tuple[str, JSON]:
    token_id = token[len(_TOKEN_PREFIX) :].decode("ascii", "replace")
    parameters = kms._get(IMPORT, token_id) if token.startswith(_TOKEN_PREFIX) else None
    if parameters is None or parameters["key_id"] != key.key_id:
        raise InvalidImportTokenException(
            f"The import token is not valid for {kms.key_arn(key.key_id)}: use the token "
            "that GetParametersForImport returned for this key."
        )
    if parameters["valid_to"] <= now:
        raise ExpiredImportTokenException(
            "The import token has expired: call GetParametersForImport again."
        )
    return token_id, parameters


def _unwrapped(kms: KmsState, token_id: str, parameters: JSON, wrapped: bytes) -> bytes:
    der = kms._sealer.unseal(parameters["wrapping_key"], f"kms-import:{token_id}")
    private = serialization.load_der_private_key(der, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    algorithm, with_key_wrap = WRAPPING_ALGORITHMS[parameters["algorithm"]]
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm()), algorithm=algorithm(), label=None)
    split = private.key_size // 8
    try:
        if with_key_wrap:
            aes_key = private.decrypt(wrapped[:split], oaep)
            material = keywrap.aes_key_unwrap_with_padding(aes_key, wrapped[split:])
        else:
            material = private.decrypt(wrapped, oaep)
    except (ValueError, keywrap.InvalidUnwrap):
        raise InvalidCiphertextException(
            "The wrapped key material could not be unwrapped with the import parameters: "
            "check the wrapping algorithm and the public key it was wrapped under."
        ) from None
    if len(material) != 32:
        raise IncorrectKeyMaterialException("Symmetric key material must be 32 bytes (256 bits).")
    return material


def delete_imported_key_material(kms: KmsState, call: Call, request: JSON) -> JSON:
    """DeleteImportedKeyMaterial: the key waits in PendingImport again."""
    key = _external_key(kms, call, request, "kms:DeleteImportedKeyMaterial")
    lifecycle.forget_imported_material(kms, key)
    return {"KeyId": kms.key_arn(key.key_id)}
