"""Encrypt, Decrypt, ReEncrypt, data keys, random, signatures, public keys and MACs,
cross-checked with ``cryptography`` and known-answer vectors."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from emulator.core import ManualClock, MemoryStorage, Sealer
from emulator.kms import Kms
from emulator.kms.errors import (
    DisabledException,
    DryRunOperationException,
    IncorrectKeyException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
    KMSInvalidMacException,
    KMSInvalidSignatureException,
    KMSInvalidStateException,
    UnsupportedOperationException,
    ValidationException,
)
from emulator.kms.primitives import (
    HEADER_SIZE,
    aead_open,
    aead_seal,
    canonical_context,
    hmac_digest,
    parse_blob,
)
from tests.emulator.test_kms_support import (
    MASTER_KEY,
    ROOT,
    START,
    Env,
    FakeCloudHsm,
    _fresh_cache,
    arn_of,
    env,
    kms,
    new_key,
)

__all__ = ["_fresh_cache", "env", "kms"]  # fixtures used by name

VECTORS = Path(__file__).parent / "vectors"
CONTEXT = {"purpose": "test", "tenant": "t-1"}


# --- known answers for the primitives ---------------------------------------------------------


def test_aes_gcm_primitive_matches_the_nist_vector() -> None:
    for vector in json.loads((VECTORS / "kms_aes_gcm.json").read_text())["vectors"]:
        aead = AESGCM(bytes.fromhex(vector["key"]))
        header, aad = bytes.fromhex(vector["aad"]), b""
        nonce = bytes.fromhex(vector["iv"])
        plaintext = bytes.fromhex(vector["plaintext"])

        sealed = aead_seal(aead, nonce, plaintext, header, aad)

        expected = bytes.fromhex(vector["ciphertext"] + vector["tag"])
        assert sealed == header + nonce + expected
        assert aead_open(aead, header, sealed[len(header) :], aad) == plaintext
        assert aead_open(aead, header[:-1] + b"\x00", sealed[len(header) :], aad) is None


def test_hmac_primitive_matches_rfc_4231() -> None:
    for vector in json.loads((VECTORS / "kms_hmac_rfc4231.json").read_text())["vectors"]:
        mac = hmac_digest(
            bytes.fromhex(vector["key"]), vector["algorithm"], bytes.fromhex(vector["data"])
        )
        assert mac.hex() == vector["mac"]


def test_encryption_context_is_canonical() -> None:
    assert canonical_context({"b": "2", "a": "1"}) == canonical_context({"a": "1", "b": "2"})
    assert canonical_context({}) == canonical_context(None) == b""
    assert canonical_context({"é": "ü"}) == '{"é":"ü"}'.encode()


# --- Encrypt / Decrypt ----------------------------------------------------------------------------


def test_encrypt_then_decrypt_without_key_id(kms: Kms) -> None:
    key_id = new_key(kms)

    encrypted = kms.encrypt(
        ROOT, {"KeyId": key_id, "Plaintext": b"secret", "EncryptionContext": CONTEXT}
    )
    decrypted = kms.decrypt(
        ROOT,
        {
            "CiphertextBlob": encrypted["CiphertextBlob"],
            "EncryptionContext": dict(reversed(CONTEXT.items())),
        },
    )

    assert encrypted["KeyId"] == arn_of(key_id)
    assert encrypted["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert decrypted == {
        "KeyId": arn_of(key_id),
        "Plaintext": b"secret",
        "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "KeyMaterialId": kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"][
            "CurrentKeyMaterialId"
        ],
    }


def test_blob_format_is_versioned_self_describing_and_opens_with_the_sealed_material(
    env: Env, kms: Kms
) -> None:
    key_id = new_key(kms)
    blob = kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"abc", "EncryptionContext": CONTEXT})[
        "CiphertextBlob"
    ]

    parsed = parse_blob(blob)
    assert parsed is not None
    header, body = parsed
    aead = AESGCM(env.material(key_id))

    assert blob[0] == 1
    assert header.key_id == key_id and header.material_version == 1
    assert (
        aead.decrypt(body[:12], body[12:], blob[:HEADER_SIZE] + canonical_context(CONTEXT))
        == b"abc"
    )


def test_missing_or_different_context_cannot_decrypt(kms: Kms) -> None:
    key_id = new_key(kms)
    blob = kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x", "EncryptionContext": CONTEXT})[
        "CiphertextBlob"
    ]

    for context in (
        None,
        {},
        {"purpose": "test"},
        {**CONTEXT, "tenant": "t-2"},
        {**CONTEXT, "x": "y"},
    ):
        params = {"CiphertextBlob": blob} | (
            {"EncryptionContext": context} if context is not None else {}
        )
        with pytest.raises(InvalidCiphertextException):
            kms.decrypt(ROOT, params)


def test_tampered_or_random_blobs_are_invalid_ciphertext(kms: Kms) -> None:
    key_id = new_key(kms)
    blob = kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x"})["CiphertextBlob"]

    candidates = [bytes(range(80)), b"\x01" * 10, blob[:-1], blob + b"\x00"]
    for position in (0, 5, 20, 30, len(blob) - 1):
        tampered = bytearray(blob)
        tampered[position] ^= 1
        candidates.append(bytes(tampered))
    for candidate in candidates:
        with pytest.raises(InvalidCiphertextException):
            kms.decrypt(ROOT, {"CiphertextBlob": candidate})
        with pytest.raises(InvalidCiphertextException):
            kms.decrypt(ROOT, {"CiphertextBlob": candidate, "KeyId": key_id})


def test_a_blob_cannot_be_repointed_at_another_key(kms: Kms) -> None:
    first, second = new_key(kms), new_key(kms)
    blob = kms.encrypt(ROOT, {"KeyId": first, "Plaintext": b"x"})["CiphertextBlob"]
    forged = blob[:1] + bytes.fromhex(second.replace("-", "")) + blob[17:]

    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(ROOT, {"CiphertextBlob": forged})


def test_naming_another_key_is_incorrect_key(kms: Kms) -> None:
    first, second = new_key(kms), new_key(kms)
    blob = kms.encrypt(ROOT, {"KeyId": first, "Plaintext": b"x"})["CiphertextBlob"]

    with pytest.raises(IncorrectKeyException):
        kms.decrypt(ROOT, {"CiphertextBlob": blob, "KeyId": second})
    assert kms.decrypt(ROOT, {"CiphertextBlob": blob, "KeyId": first})["Plaintext"] == b"x"


@pytest.mark.parametrize("size", [0, 4097])
def test_plaintext_must_be_1_to_4096_bytes(kms: Kms, size: int) -> None:
    key_id = new_key(kms)

    with pytest.raises(ValidationException, match="'plaintext'"):
        kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x" * size})


def test_plaintext_of_4096_bytes_round_trips(kms: Kms) -> None:
    key_id = new_key(kms)
    blob = kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"y" * 4096})["CiphertextBlob"]

    assert kms.decrypt(ROOT, {"CiphertextBlob": blob})["Plaintext"] == b"y" * 4096


def test_key_usage_is_enforced(kms: Kms) -> None:
    signing = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    mac = new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    symmetric = new_key(kms)

    for key_id in (signing, mac):
        with pytest.raises(InvalidKeyUsageException):
            kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x"})
        with pytest.raises(InvalidKeyUsageException):
            kms.generate_data_key(ROOT, {"KeyId": key_id, "KeySpec": "AES_256"})
    with pytest.raises(InvalidKeyUsageException):
        kms.sign(ROOT, {"KeyId": symmetric, "Message": b"m", "SigningAlgorithm": "ECDSA_SHA_256"})
    with pytest.raises(InvalidKeyUsageException):
        kms.generate_mac(
            ROOT, {"KeyId": symmetric, "Message": b"m", "MacAlgorithm": "HMAC_SHA_256"}
        )
    with pytest.raises(InvalidKeyUsageException):
        kms.encrypt(
            ROOT,
            {"KeyId": symmetric, "Plaintext": b"x", "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"},
        )


def test_disabled_and_pending_keys_refuse_decrypt(kms: Kms) -> None:
    key_id = new_key(kms)
    blob = kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x"})["CiphertextBlob"]

    kms.disable_key(ROOT, {"KeyId": key_id})
    with pytest.raises(DisabledException):
        kms.decrypt(ROOT, {"CiphertextBlob": blob})
    kms.schedule_key_deletion(ROOT, {"KeyId": key_id, "PendingWindowInDays": 7})
    with pytest.raises(KMSInvalidStateException):
        kms.decrypt(ROOT, {"CiphertextBlob": blob})


def test_dry_run_checks_everything_and_encrypts_nothing(env: Env, kms: Kms) -> None:
    key_id = new_key(kms)
    blob = kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x"})["CiphertextBlob"]

    with pytest.raises(DryRunOperationException, match="would have succeeded"):
        kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x", "DryRun": True})
    with pytest.raises(DryRunOperationException):
        kms.decrypt(ROOT, {"CiphertextBlob": blob, "DryRun": True})
    kms.disable_key(ROOT, {"KeyId": key_id})
    with pytest.raises(DisabledException):
        kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x", "DryRun": True})
    assert env.last_event()["result"] == "DisabledException"


# --- ReEncrypt ------------------------------------------------------------------------------------


def test_re_encrypt_moves_a_ciphertext_to_another_key_and_context(kms: Kms) -> None:
    source, destination = new_key(kms), new_key(kms)
    blob = kms.encrypt(ROOT, {"KeyId": source, "Plaintext": b"data", "EncryptionContext": CONTEXT})[
        "CiphertextBlob"
    ]

    result = kms.re_encrypt(
        ROOT,
        {
            "CiphertextBlob": blob,
            "SourceEncryptionContext": CONTEXT,
            "DestinationKeyId": destination,
            "DestinationEncryptionContext": {"stage": "2"},
        },
    )

    assert result["SourceKeyId"] == arn_of(source)
    assert result["KeyId"] == arn_of(destination)
    assert (
        result["SourceEncryptionAlgorithm"]
        == result["DestinationEncryptionAlgorithm"]
        == "SYMMETRIC_DEFAULT"
    )
    assert len(result["SourceKeyMaterialId"]) == len(result["DestinationKeyMaterialId"]) == 64
    assert "Plaintext" not in result
    opened = kms.decrypt(
        ROOT, {"CiphertextBlob": result["CiphertextBlob"], "EncryptionContext": {"stage": "2"}}
    )
    assert opened["Plaintext"] == b"data" and opened["KeyId"] == arn_of(destination)


def test_re_encrypt_errors(kms: Kms) -> None:
    source, other = new_key(kms), new_key(kms)
    blob = kms.encrypt(ROOT, {"KeyId": source, "Plaintext": b"x"})["CiphertextBlob"]

    with pytest.raises(IncorrectKeyException):
        kms.re_encrypt(
            ROOT, {"CiphertextBlob": blob, "SourceKeyId": other, "DestinationKeyId": other}
        )
    with pytest.raises(InvalidCiphertextException):
        kms.re_encrypt(
            ROOT,
            {
                "CiphertextBlob": blob,
                "DestinationKeyId": other,
                "SourceEncryptionContext": {"a": "b"},
            },
        )
    kms.disable_key(ROOT, {"KeyId": other})
    with pytest.raises(DisabledException):
        kms.re_encrypt(ROOT, {"CiphertextBlob": blob, "DestinationKeyId": other})
    with pytest.raises(ValidationException, match="destinationKeyId"):
        kms.re_encrypt(ROOT, {"CiphertextBlob": blob})


# --- data keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "size"),
    [
        ({"KeySpec": "AES_256"}, 32),
        ({"KeySpec": "AES_128"}, 16),
        ({"NumberOfBytes": 1}, 1),
        ({"NumberOfBytes": 1024}, 1024),
    ],
)
def test_generate_data_key_sizes(kms: Kms, params: dict[str, object], size: int) -> None:
    key_id = new_key(kms)

    result = kms.generate_data_key(ROOT, {"KeyId": key_id, **params})

    assert len(result["Plaintext"]) == size
    assert result["KeyId"] == arn_of(key_id)
    assert (
        kms.decrypt(ROOT, {"CiphertextBlob": result["CiphertextBlob"]})["Plaintext"]
        == result["Plaintext"]
    )


def test_data_key_encrypts_locally_and_decrypt_gives_it_back(kms: Kms) -> None:
    key_id = new_key(kms)
    data_key = kms.generate_data_key(
        ROOT, {"KeyId": key_id, "KeySpec": "AES_256", "EncryptionContext": CONTEXT}
    )
    nonce = b"\x00" * 12
    local = AESGCM(data_key["Plaintext"]).encrypt(nonce, b"file contents", None)

    recovered = kms.decrypt(
        ROOT, {"CiphertextBlob": data_key["CiphertextBlob"], "EncryptionContext": CONTEXT}
    )["Plaintext"]

    assert AESGCM(recovered).decrypt(nonce, local, None) == b"file contents"


def test_generate_data_key_without_plaintext(kms: Kms) -> None:
    key_id = new_key(kms)

    result = kms.generate_data_key_without_plaintext(ROOT, {"KeyId": key_id, "NumberOfBytes": 24})

    assert set(result) == {"CiphertextBlob", "KeyId", "KeyMaterialId"}
    assert len(kms.decrypt(ROOT, {"CiphertextBlob": result["CiphertextBlob"]})["Plaintext"]) == 24


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "either number of bytes or key spec"),
        ({"KeySpec": "AES_256", "NumberOfBytes": 32}, "not both"),
        ({"NumberOfBytes": 0}, "greater than or equal to 1"),
        ({"NumberOfBytes": 1025}, "less than or equal to 1024"),
        ({"KeySpec": "AES_512"}, "enum value set"),
    ],
)
def test_generate_data_key_takes_exactly_one_of_key_spec_or_number_of_bytes(
    kms: Kms, params: dict[str, object], message: str
) -> None:
    key_id = new_key(kms)

    with pytest.raises(ValidationException, match=message):
        kms.generate_data_key(ROOT, {"KeyId": key_id, **params})


@pytest.mark.parametrize(
    "pair_spec", ["RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1"]
)
def test_generate_data_key_pair_private_matches_public(kms: Kms, pair_spec: str) -> None:
    key_id = new_key(kms)

    result = kms.generate_data_key_pair(
        ROOT, {"KeyId": key_id, "KeyPairSpec": pair_spec, "EncryptionContext": CONTEXT}
    )
    private = serialization.load_der_private_key(result["PrivateKeyPlaintext"], None)
    public = serialization.load_der_public_key(result["PublicKey"])
    decrypted = kms.decrypt(
        ROOT, {"CiphertextBlob": result["PrivateKeyCiphertextBlob"], "EncryptionContext": CONTEXT}
    )["Plaintext"]

    assert result["KeyPairSpec"] == pair_spec and result["KeyId"] == arn_of(key_id)
    assert (
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == result["PublicKey"]
    )
    assert decrypted == result["PrivateKeyPlaintext"]
    if isinstance(private, ec.EllipticCurvePrivateKey):
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(
            private.sign(b"m", ec.ECDSA(hashes.SHA256())), b"m", ec.ECDSA(hashes.SHA256())
        )
    else:
        assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 2048


def test_generate_data_key_pair_without_plaintext(kms: Kms) -> None:
    key_id = new_key(kms)

    result = kms.generate_data_key_pair_without_plaintext(
        ROOT, {"KeyId": key_id, "KeyPairSpec": "ECC_NIST_P256"}
    )
    private_der = kms.decrypt(ROOT, {"CiphertextBlob": result["PrivateKeyCiphertextBlob"]})[
        "Plaintext"
    ]

    assert "PrivateKeyPlaintext" not in result
    private = serialization.load_der_private_key(private_der, None)
    assert (
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == result["PublicKey"]
    )


def test_generate_data_key_pair_errors(kms: Kms) -> None:
    symmetric = new_key(kms)
    signing = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")

    with pytest.raises(UnsupportedOperationException):
        kms.generate_data_key_pair(ROOT, {"KeyId": symmetric, "KeyPairSpec": "SM2"})
    with pytest.raises(InvalidKeyUsageException):
        kms.generate_data_key_pair(ROOT, {"KeyId": signing, "KeyPairSpec": "RSA_2048"})
    with pytest.raises(ValidationException, match="keyPairSpec"):
        kms.generate_data_key_pair(ROOT, {"KeyId": symmetric})


def test_generate_random(kms: Kms) -> None:
    first = kms.generate_random(ROOT, {"NumberOfBytes": 32})["Plaintext"]
    second = kms.generate_random(ROOT, {"NumberOfBytes": 32})["Plaintext"]

    assert len(first) == 32 and first != second
    for size in (0, 1025, None):
        with pytest.raises(ValidationException, match="numberOfBytes"):
            kms.generate_random(ROOT, {} if size is None else {"NumberOfBytes": size})


# --- RSA encryption and GetPublicKey --------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [("RSAES_OAEP_SHA_256", hashes.SHA256), ("RSAES_OAEP_SHA_1", hashes.SHA1)],
)
def test_offline_rsa_oaep_ciphertext_decrypts_in_the_engine(
    kms: Kms, algorithm: str, digest: type[hashes.HashAlgorithm]
) -> None:
    key_id = new_key(kms, KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    public_key = kms.get_public_key(ROOT, {"KeyId": key_id})
    public = serialization.load_der_public_key(public_key["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey)
    ciphertext = public.encrypt(
        b"offline", padding.OAEP(mgf=padding.MGF1(digest()), algorithm=digest(), label=None)
    )

    result = kms.decrypt(
        ROOT, {"CiphertextBlob": ciphertext, "KeyId": key_id, "EncryptionAlgorithm": algorithm}
    )

    assert public_key["KeySpec"] == public_key["CustomerMasterKeySpec"] == "RSA_2048"
    assert public_key["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert public_key["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    assert result == {
        "KeyId": arn_of(key_id),
        "Plaintext": b"offline",
        "EncryptionAlgorithm": algorithm,
    }


def test_rsa_encrypt_round_trip_and_its_rules(kms: Kms) -> None:
    key_id = new_key(kms, KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    params = {"KeyId": key_id, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}

    blob = kms.encrypt(ROOT, {**params, "Plaintext": b"x" * 190})["CiphertextBlob"]

    assert kms.decrypt(ROOT, {**params, "CiphertextBlob": blob})["Plaintext"] == b"x" * 190
    with pytest.raises(ValidationException, match="at most 190 bytes"):
        kms.encrypt(ROOT, {**params, "Plaintext": b"x" * 191})
    with pytest.raises(InvalidKeyUsageException):
        kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x"})
    with pytest.raises(ValidationException, match="EncryptionContext"):
        kms.encrypt(ROOT, {**params, "Plaintext": b"x", "EncryptionContext": CONTEXT})
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(ROOT, {**params, "CiphertextBlob": blob[:-1] + bytes([blob[-1] ^ 1])})
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(ROOT, {"CiphertextBlob": blob})


def test_get_public_key_of_symmetric_and_hmac_keys_is_unsupported(kms: Kms) -> None:
    for key_id in (new_key(kms), new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")):
        with pytest.raises(UnsupportedOperationException):
            kms.get_public_key(ROOT, {"KeyId": key_id})


def test_get_public_key_of_a_disabled_key(kms: Kms) -> None:
    key_id = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    kms.disable_key(ROOT, {"KeyId": key_id})

    with pytest.raises(DisabledException):
        kms.get_public_key(ROOT, {"KeyId": key_id})


# --- Sign / Verify ----------------------------------------------------------------------------------

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "SHA_256": hashes.SHA256,
    "SHA_384": hashes.SHA384,
    "SHA_512": hashes.SHA512,
}


def _offline_verify(public_der: bytes, algorithm: str, message: bytes, signature: bytes) -> None:
    public = serialization.load_der_public_key(public_der)
    digest = _HASHES[algorithm[-7:]]()
    if isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(signature, message, ec.ECDSA(digest))
    elif algorithm.startswith("RSASSA_PSS"):
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(
            signature,
            message,
            padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size),
            digest,
        )
    else:
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(signature, message, padding.PKCS1v15(), digest)


@pytest.fixture(scope="module")
def signing_keys() -> tuple[Env, dict[str, str]]:
    shared = Env(MemoryStorage(), ManualClock(START), Sealer(MASTER_KEY), FakeCloudHsm())
    kms = shared.kms()
    keys = {
        spec: new_key(kms, KeySpec=spec, KeyUsage="SIGN_VERIFY")
        for spec in (
            "RSA_2048",
            "RSA_3072",
            "ECC_NIST_P256",
            "ECC_NIST_P384",
            "ECC_NIST_P521",
            "ECC_SECG_P256K1",
        )
    }
    return shared, keys


SIGNING_CASES = [
    ("RSA_2048", algorithm)
    for algorithm in (
        "RSASSA_PSS_SHA_256",
        "RSASSA_PSS_SHA_384",
        "RSASSA_PSS_SHA_512",
        "RSASSA_PKCS1_V1_5_SHA_256",
        "RSASSA_PKCS1_V1_5_SHA_384",
        "RSASSA_PKCS1_V1_5_SHA_512",
    )
] + [
    ("RSA_3072", "RSASSA_PSS_SHA_384"),
    ("ECC_NIST_P256", "ECDSA_SHA_256"),
    ("ECC_NIST_P384", "ECDSA_SHA_384"),
    ("ECC_NIST_P521", "ECDSA_SHA_512"),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
]


@pytest.mark.parametrize(("spec", "algorithm"), SIGNING_CASES)
def test_signatures_verify_offline_with_the_public_key(
    signing_keys: tuple[Env, dict[str, str]], spec: str, algorithm: str
) -> None:
    shared, keys = signing_keys
    kms = shared.kms()
    key_id = keys[spec]
    public = kms.get_public_key(ROOT, {"KeyId": key_id})["PublicKey"]

    raw = kms.sign(ROOT, {"KeyId": key_id, "Message": b"message", "SigningAlgorithm": algorithm})
    digest = hashlib.new(algorithm[-7:].replace("_", "").lower(), b"message").digest()
    prehashed = kms.sign(
        ROOT,
        {
            "KeyId": key_id,
            "Message": digest,
            "MessageType": "DIGEST",
            "SigningAlgorithm": algorithm,
        },
    )

    assert raw["KeyId"] == arn_of(key_id) and raw["SigningAlgorithm"] == algorithm
    _offline_verify(public, algorithm, b"message", raw["Signature"])
    _offline_verify(public, algorithm, b"message", prehashed["Signature"])
    verified = kms.verify(
        ROOT,
        {
            "KeyId": key_id,
            "Message": b"message",
            "Signature": prehashed["Signature"],
            "SigningAlgorithm": algorithm,
        },
    )
    assert verified == {
        "KeyId": arn_of(key_id),
        "SignatureValid": True,
        "SigningAlgorithm": algorithm,
    }
    with pytest.raises(KMSInvalidSignatureException):
        kms.verify(
            ROOT,
            {
                "KeyId": key_id,
                "Message": b"messagE",
                "Signature": raw["Signature"],
                "SigningAlgorithm": algorithm,
            },
        )


def test_offline_signature_verifies_in_the_engine(signing_keys: tuple[Env, dict[str, str]]) -> None:
    shared, keys = signing_keys
    kms = shared.kms()
    private = ec.generate_private_key(ec.SECP256R1())
    signature = private.sign(b"m", ec.ECDSA(hashes.SHA256()))

    with pytest.raises(KMSInvalidSignatureException):
        kms.verify(
            ROOT,
            {
                "KeyId": keys["ECC_NIST_P256"],
                "Message": b"m",
                "Signature": signature,
                "SigningAlgorithm": "ECDSA_SHA_256",
            },
        )


def test_digest_length_is_checked(signing_keys: tuple[Env, dict[str, str]]) -> None:
    shared, keys = signing_keys
    kms = shared.kms()

    with pytest.raises(
        ValidationException, match="Digest is invalid length for algorithm ECDSA_SHA_384"
    ):
        kms.sign(
            ROOT,
            {
                "KeyId": keys["ECC_NIST_P384"],
                "Message": b"x" * 32,
                "MessageType": "DIGEST",
                "SigningAlgorithm": "ECDSA_SHA_384",
            },
        )


def test_signing_algorithm_must_match_the_curve(signing_keys: tuple[Env, dict[str, str]]) -> None:
    shared, keys = signing_keys
    kms = shared.kms()

    for spec, algorithm in (
        ("ECC_NIST_P256", "ECDSA_SHA_384"),
        ("ECC_NIST_P521", "ECDSA_SHA_256"),
        ("RSA_2048", "ECDSA_SHA_256"),
    ):
        with pytest.raises(InvalidKeyUsageException):
            kms.sign(ROOT, {"KeyId": keys[spec], "Message": b"m", "SigningAlgorithm": algorithm})
    with pytest.raises(ValidationException):
        kms.sign(
            ROOT,
            {
                "KeyId": keys["RSA_2048"],
                "Message": b"m",
                "SigningAlgorithm": "RSASSA_PSS_SHA_256",
                "MessageType": "EXTERNAL_MU",
            },
        )
    with pytest.raises(ValidationException, match="signingAlgorithm"):
        kms.sign(ROOT, {"KeyId": keys["RSA_2048"], "Message": b"m"})


def test_signature_fields_use_the_ecdsa_der_encoding(
    signing_keys: tuple[Env, dict[str, str]],
) -> None:
    shared, keys = signing_keys
    signature = shared.kms().sign(
        ROOT, {"KeyId": keys["ECC_NIST_P256"], "Message": b"m", "SigningAlgorithm": "ECDSA_SHA_256"}
    )["Signature"]

    r, s = utils.decode_dss_signature(signature)
    assert r > 0 and s > 0


# --- MACs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "algorithm", "digest"),
    [
        ("HMAC_224", "HMAC_SHA_224", hashes.SHA224),
        ("HMAC_256", "HMAC_SHA_256", hashes.SHA256),
        ("HMAC_384", "HMAC_SHA_384", hashes.SHA384),
        ("HMAC_512", "HMAC_SHA_512", hashes.SHA512),
    ],
)
def test_generate_mac_matches_cryptography_hmac_under_the_sealed_key(
    env: Env, kms: Kms, spec: str, algorithm: str, digest: type[hashes.HashAlgorithm]
) -> None:
    key_id = new_key(kms, KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")
    material = env.material(key_id)
    reference = hmac.HMAC(material, digest())
    reference.update(b"message")

    result = kms.generate_mac(
        ROOT, {"KeyId": key_id, "Message": b"message", "MacAlgorithm": algorithm}
    )

    assert len(material) * 8 == int(spec[-3:])
    assert result == {
        "Mac": reference.finalize(),
        "MacAlgorithm": algorithm,
        "KeyId": arn_of(key_id),
    }
    assert kms.verify_mac(
        ROOT,
        {"KeyId": key_id, "Message": b"message", "MacAlgorithm": algorithm, "Mac": result["Mac"]},
    ) == {"KeyId": arn_of(key_id), "MacValid": True, "MacAlgorithm": algorithm}


def test_wrong_mac_or_algorithm(kms: Kms) -> None:
    key_id = new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    mac = kms.generate_mac(
        ROOT, {"KeyId": key_id, "Message": b"m", "MacAlgorithm": "HMAC_SHA_256"}
    )["Mac"]

    with pytest.raises(KMSInvalidMacException):
        kms.verify_mac(
            ROOT, {"KeyId": key_id, "Message": b"n", "MacAlgorithm": "HMAC_SHA_256", "Mac": mac}
        )
    with pytest.raises(KMSInvalidMacException):
        kms.verify_mac(
            ROOT,
            {"KeyId": key_id, "Message": b"m", "MacAlgorithm": "HMAC_SHA_256", "Mac": mac[:-1]},
        )
    with pytest.raises(InvalidKeyUsageException):
        kms.generate_mac(ROOT, {"KeyId": key_id, "Message": b"m", "MacAlgorithm": "HMAC_SHA_512"})
