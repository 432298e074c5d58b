"""What each KMS key spec can do: usages, algorithms, sizes. Plain tables, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DATA_KEY_PAIR_SPECS",
    "DIGEST_SIZES",
    "ENCRYPTION_ALGORITHMS",
    "GRANT_OPERATIONS",
    "KEY_SPECS",
    "MAC_ALGORITHMS",
    "RSA_OAEP_MAX_PLAINTEXT",
    "SIGNING_ALGORITHMS",
    "KeySpecInfo",
]

ENCRYPTION_ALGORITHMS = ("SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE")
SIGNING_ALGORITHMS = (
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "ECDSA_SHA_256",
    "ECDSA_SHA_384",
    "ECDSA_SHA_512",
    "SM2DSA",
    "ML_DSA_SHAKE_256",
    "ED25519_SHA_512",
    "ED25519_PH_SHA_512",
)
MAC_ALGORITHMS = ("HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512")

# Every value botocore accepts for KeySpec; the engine implements those in KEY_SPECS.
ALL_KEY_SPECS = (
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SYMMETRIC_DEFAULT",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
    "ECC_NIST_EDWARDS25519",
    "ML_KEM_512",
    "ML_KEM_768",
    "ML_KEM_1024",
)
CUSTOMER_MASTER_KEY_SPECS = ALL_KEY_SPECS[:13]
ALL_KEY_PAIR_SPECS = (
    *ALL_KEY_SPECS[:7],
    "SM2",
    "ECC_NIST_EDWARDS25519",
    "ML_KEM_512",
    "ML_KEM_768",
    "ML_KEM_1024",
)
KEY_USAGES = (
    "SIGN_VERIFY",
    "ENCRYPT_DECRYPT",
    "GENERATE_VERIFY_MAC",
    "KEY_AGREEMENT",
    "ENCAPSULATE_DECAPSULATE",
)
ORIGINS = ("AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")

GRANT_OPERATIONS = (
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
    "Encapsulate",
    "Decapsulate",
)

_RSA_SIGNING = SIGNING_ALGORITHMS[:6]
_RSA_ENCRYPTION = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")


@dataclass(frozen=True)
class KeySpecInfo:
    """One key spec: the usages it allows and the algorithms of each usage."""

    family: str  # "AES", "RSA", "EC", "HMAC"
    size: int  # bits (RSA modulus, curve order, AES or HMAC key)
    encryption_algorithms: tuple[str, ...] = ()
    signing_algorithms: tuple[str, ...] = ()
    mac_algorithms: tuple[str, ...] = ()
    curve: str | None = None  # cryptography curve name for EC keys

    @property
    def usages(self) -> tuple[str, ...]:
        found = []
        if self.encryption_algorithms:
            found.append("ENCRYPT_DECRYPT")
        if self.signing_algorithms:
            found.append("SIGN_VERIFY")
        if self.mac_algorithms:
            found.append("GENERATE_VERIFY_MAC")
        return tuple(found)


KEY_SPECS: dict[str, KeySpecInfo] = {
    "SYMMETRIC_DEFAULT": KeySpecInfo("AES", 256, encryption_algorithms=("SYMMETRIC_DEFAULT",)),
    "RSA_2048": KeySpecInfo("RSA", 2048, _RSA_ENCRYPTION, _RSA_SIGNING),
    "RSA_3072": KeySpecInfo("RSA", 3072, _RSA_ENCRYPTION, _RSA_SIGNING),
    "RSA_4096": KeySpecInfo("RSA", 4096, _RSA_ENCRYPTION, _RSA_SIGNING),
    # AWS pairs each curve with one ECDSA digest (P-521 with SHA-512, secp256k1 with SHA-256).
    "ECC_NIST_P256": KeySpecInfo("EC", 256, signing_algorithms=("ECDSA_SHA_256",), curve="P-256"),
    "ECC_NIST_P384": KeySpecInfo("EC", 384, signing_algorithms=("ECDSA_SHA_384",), curve="P-384"),
    "ECC_NIST_P521": KeySpecInfo("EC", 521, signing_algorithms=("ECDSA_SHA_512",), curve="P-521"),
    "ECC_SECG_P256K1": KeySpecInfo(
        "EC", 256, signing_algorithms=("ECDSA_SHA_256",), curve="secp256k1"
    ),
    "HMAC_224": KeySpecInfo("HMAC", 224, mac_algorithms=("HMAC_SHA_224",)),
    "HMAC_256": KeySpecInfo("HMAC", 256, mac_algorithms=("HMAC_SHA_256",)),
    "HMAC_384": KeySpecInfo("HMAC", 384, mac_algorithms=("HMAC_SHA_384",)),
    "HMAC_512": KeySpecInfo("HMAC", 512, mac_algorithms=("HMAC_SHA_512",)),
}

# Data key pairs the engine generates (GenerateDataKeyPair).
DATA_KEY_PAIR_SPECS = tuple(spec for spec in ALL_KEY_PAIR_SPECS if spec in KEY_SPECS)

# Digest length in bytes for MessageType=DIGEST, by the hash named in the algorithm.
DIGEST_SIZES = {"SHA_256": 32, "SHA_384": 48, "SHA_512": 64}

# Largest plaintext RSAES-OAEP takes: modulus bytes - 2 * hash bytes - 2 (AWS's table).
RSA_OAEP_MAX_PLAINTEXT = {
    (bits, algorithm): bits // 8 - 2 * hash_bytes - 2
    for bits in (2048, 3072, 4096)
    for algorithm, hash_bytes in (("RSAES_OAEP_SHA_1", 20), ("RSAES_OAEP_SHA_256", 32))
}
