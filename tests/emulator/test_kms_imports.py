"""Imported key material (origin EXTERNAL): parameters, import, expiry, deletion, re-import,
and AWS's errors for each way it goes wrong."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from emulator.kms import Kms
from emulator.kms.errors import (
    ExpiredImportTokenException,
    IncorrectKeyMaterialException,
    InvalidCiphertextException,
    InvalidImportTokenException,
    KMSInvalidStateException,
    UnsupportedOperationException,
    ValidationException,
)
from tests.emulator.test_kms_support import (
    DAY,
    ROOT,
    START,
    Env,
    _fresh_cache,
    env,
    kms,
    new_key,
)

__all__ = ["_fresh_cache", "env", "kms"]  # fixtures used by name


def wrap(parameters: dict, material: bytes, algorithm: str) -> bytes:
    """What the customer does with openssl: wrap their material under the public key."""
    public = serialization.load_der_public_key(parameters["PublicKey"])
    digest = hashes.SHA256 if algorithm.endswith("SHA_256") else hashes.SHA1
    oaep = padding.OAEP(mgf=padding.MGF1(digest()), algorithm=digest(), label=None)
    if algorithm.startswith("RSA_AES_KEY_WRAP"):
        aes_key = os.urandom(32)
        return public.encrypt(aes_key, oaep) + keywrap.aes_key_wrap_with_padding(aes_key, material)
    return public.encrypt(material, oaep)


def parameters_for(kms: Kms, key_id: str, algorithm: str = "RSAES_OAEP_SHA_256") -> dict:
    return kms.get_parameters_for_import(
        ROOT, {"KeyId": key_id, "WrappingAlgorithm": algorithm, "WrappingKeySpec": "RSA_2048"}
    )


def import_material(kms: Kms, key_id: str, material: bytes, **extra) -> dict:
    parameters = parameters_for(kms, key_id)
    return kms.import_key_material(
        ROOT,
        {
            "KeyId": key_id,
            "ImportToken": parameters["ImportToken"],
            "EncryptedKeyMaterial": wrap(parameters, material, "RSAES_OAEP_SHA_256"),
            "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
            **extra,
        },
    )


def state_of(kms: Kms, key_id: str) -> str:
    return kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]["KeyState"]


def test_an_external_key_waits_for_material_and_cannot_be_used_until_then(kms: Kms) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    metadata = kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]
    assert (metadata["Origin"], metadata["KeyState"], metadata["Enabled"]) == (
        "EXTERNAL",
        "PendingImport",
        False,
    )
    with pytest.raises(KMSInvalidStateException, match="pending import"):
        kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x"})
    with pytest.raises(KMSInvalidStateException):
        kms.enable_key(ROOT, {"KeyId": key_id})
    with pytest.raises(UnsupportedOperationException):
        kms.enable_key_rotation(ROOT, {"KeyId": key_id})


@pytest.mark.parametrize(
    "algorithm",
    [
        "RSAES_OAEP_SHA_1",
        "RSAES_OAEP_SHA_256",
        "RSA_AES_KEY_WRAP_SHA_1",
        "RSA_AES_KEY_WRAP_SHA_256",
    ],
)
def test_material_wrapped_each_supported_way_imports_and_encrypts(kms: Kms, algorithm) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    parameters = parameters_for(kms, key_id, algorithm)
    assert parameters["ParametersValidTo"] == START.timestamp() + DAY.total_seconds()
    material = os.urandom(32)
    kms.import_key_material(
        ROOT,
        {
            "KeyId": key_id,
            "ImportToken": parameters["ImportToken"],
            "EncryptedKeyMaterial": wrap(parameters, material, algorithm),
            "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
        },
    )
    assert state_of(kms, key_id) == "Enabled"
    blob = kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"byok"})["CiphertextBlob"]
    assert kms.decrypt(ROOT, {"CiphertextBlob": blob})["Plaintext"] == b"byok"


def test_deleted_material_comes_back_only_as_the_same_material(env: Env, kms: Kms) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    material = os.urandom(32)
    import_material(kms, key_id, material)
    blob = kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"kept"})["CiphertextBlob"]

    kms.delete_imported_key_material(ROOT, {"KeyId": key_id})
    assert state_of(kms, key_id) == "PendingImport"
    assert "material" not in env.key_record(key_id)  # KMS keeps no copy
    with pytest.raises(KMSInvalidStateException):
        kms.decrypt(ROOT, {"CiphertextBlob": blob})

    with pytest.raises(IncorrectKeyMaterialException):
        import_material(kms, key_id, os.urandom(32))
    assert state_of(kms, key_id) == "PendingImport"  # nothing half-written
    import_material(kms, key_id, material)
    assert kms.decrypt(ROOT, {"CiphertextBlob": blob})["Plaintext"] == b"kept"


def test_material_expires_at_valid_to_and_kms_logs_the_deletion(env: Env, kms: Kms) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    valid_to = (START + 2 * DAY).timestamp()
    import_material(kms, key_id, os.urandom(32), ExpirationModel=None, ValidTo=valid_to)
    metadata = kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]
    assert metadata["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert metadata["ValidTo"] == valid_to

    env.clock.advance(3 * DAY)
    later = env.kms()
    assert state_of(later, key_id) == "PendingImport"
    deleted = [e for e in env.events() if e["operation"] == "DeleteExpiredKeyMaterial"]
    assert deleted and deleted[0]["principal"] == "kms.amazonaws.com"


def test_tokens_that_expired_or_belong_to_another_key_are_refused(env: Env, kms: Kms) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    other_id = new_key(kms, Origin="EXTERNAL")
    material = os.urandom(32)
    other = parameters_for(kms, other_id)
    with pytest.raises(InvalidImportTokenException):
        kms.import_key_material(
            ROOT,
            {
                "KeyId": key_id,
                "ImportToken": other["ImportToken"],
                "EncryptedKeyMaterial": wrap(other, material, "RSAES_OAEP_SHA_256"),
                "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
            },
        )
    mine = parameters_for(kms, key_id)
    env.clock.advance(DAY * 1.01)
    with pytest.raises(ExpiredImportTokenException):
        env.kms().import_key_material(
            ROOT,
            {
                "KeyId": key_id,
                "ImportToken": mine["ImportToken"],
                "EncryptedKeyMaterial": wrap(mine, material, "RSAES_OAEP_SHA_256"),
                "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
            },
        )
    assert state_of(env.kms(), key_id) == "PendingImport"


def test_bad_wrapping_and_bad_parameters_get_aws_errors(kms: Kms) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    parameters = parameters_for(kms, key_id)
    base = {"KeyId": key_id, "ImportToken": parameters["ImportToken"]}
    with pytest.raises(InvalidCiphertextException):
        kms.import_key_material(
            ROOT,
            {
                **base,
                "EncryptedKeyMaterial": b"\x00" * 256,
                "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
            },
        )
    with pytest.raises(IncorrectKeyMaterialException, match="32 bytes"):
        kms.import_key_material(
            ROOT,
            {
                **base,
                "EncryptedKeyMaterial": wrap(parameters, os.urandom(16), "RSAES_OAEP_SHA_256"),
                "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
            },
        )
    with pytest.raises(ValidationException, match="ValidTo"):
        kms.import_key_material(
            ROOT,
            {
                **base,
                "EncryptedKeyMaterial": wrap(parameters, os.urandom(32), "RSAES_OAEP_SHA_256"),
            },
        )
    with pytest.raises(UnsupportedOperationException):
        kms.get_parameters_for_import(
            ROOT,
            {
                "KeyId": key_id,
                "WrappingAlgorithm": "RSAES_PKCS1_V1_5",
                "WrappingKeySpec": "RSA_2048",
            },
        )
    with pytest.raises(ValidationException):
        kms.get_parameters_for_import(
            ROOT, {"KeyId": key_id, "WrappingAlgorithm": "ROT13", "WrappingKeySpec": "RSA_2048"}
        )
    aws_key = new_key(kms)
    with pytest.raises(UnsupportedOperationException, match="origin is AWS_KMS"):
        parameters_for(kms, aws_key)
    with pytest.raises(UnsupportedOperationException):
        kms.delete_imported_key_material(ROOT, {"KeyId": aws_key})
