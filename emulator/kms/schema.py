"""Request shapes: field types and bounds per operation, as the KMS service checks them
(:mod:`.validation` does the checking).

botocore checks most of this client side; the engine checks again because the learner
console and raw HTTP clients skip botocore.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.kms.specs import (
    ALL_KEY_PAIR_SPECS,
    ALL_KEY_SPECS,
    CUSTOMER_MASTER_KEY_SPECS,
    ENCRYPTION_ALGORITHMS,
    GRANT_OPERATIONS,
    KEY_USAGES,
    MAC_ALGORITHMS,
    ORIGINS,
    SIGNING_ALGORITHMS,
)

__all__ = ["OPERATION_SCHEMAS", "Field"]


@dataclass(frozen=True)
class Field:
    """One request member. ``kind``: string, integer, boolean, blob, timestamp (epoch
    seconds), context, strings, tags, constraints, or unsupported (accepted by AWS, not by
    the emulator)."""

    kind: str
    required: bool = False
    min: int | None = None
    max: int | None = None
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    sensitive: bool = False  # never echo the value in an error message


def _key_id(required: bool = True) -> Field:
    return Field("string", required, 1, 2048)


_ALIAS = Field("string", True, 1, 256, pattern=r"^[a-zA-Z0-9:/_-]+$")
_GRANT_TOKENS = Field("strings", min=0, max=10)
_CONTEXT = Field("context")
_DRY_RUN = Field("boolean")
_MARKER = Field("string", min=1, max=1024)
_PRINCIPAL = Field("string", min=1, max=256, pattern=r"^[\w+=,.@:/-]+$")
_GRANT_ID = Field("string", min=1, max=128)
_KEYSTORE_ID = Field("string", min=1, max=64)
_KEYSTORE_NAME = Field("string", min=1, max=256)
_CLUSTER_ID = Field("string", min=19, max=24, pattern=r"^cluster-[2-7a-zA-Z]{11,16}$")
_PASSWORD = Field("string", min=7, max=32, sensitive=True)
_UNSUPPORTED = Field("unsupported")
# As AWS lists them; the engine answers UnsupportedOperationException for the SM2 ones.
WRAPPING_ALGORITHMS = (
    "RSAES_PKCS1_V1_5",
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "RSA_AES_KEY_WRAP_SHA_1",
    "RSA_AES_KEY_WRAP_SHA_256",
    "SM2PKE",
)


def _limit(maximum: int) -> Field:
    return Field("integer", min=1, max=maximum)


def _enum(values: tuple[str, ...], required: bool = False) -> Field:
    return Field("string", required, enum=values)


def _blob(maximum: int, required: bool = True) -> Field:
    return Field("blob", required, 1, maximum, sensitive=True)


_XKS = {
    "XksProxyUriEndpoint": Field("string", min=10, max=128),
    "XksProxyUriPath": Field("string", min=10, max=128),
    "XksProxyVpcEndpointServiceName": _UNSUPPORTED,
    "XksProxyVpcEndpointServiceOwner": _UNSUPPORTED,
    # {"AccessKeyId": ..., "RawSecretAccessKey": ...}: never logged, never echoed.
    "XksProxyAuthenticationCredential": Field("context", sensitive=True),
    "XksProxyConnectivity": _enum(("PUBLIC_ENDPOINT", "VPC_ENDPOINT_SERVICE")),
}

OPERATION_SCHEMAS: dict[str, dict[str, Field]] = {
    "CreateKey": {
        "Policy": Field("string", min=1, max=131072),
        "Description": Field("string", min=0, max=8192),
        "KeyUsage": _enum(KEY_USAGES),
        "CustomerMasterKeySpec": _enum(CUSTOMER_MASTER_KEY_SPECS),
        "KeySpec": _enum(ALL_KEY_SPECS),
        "Origin": _enum(ORIGINS),
        "CustomKeyStoreId": _KEYSTORE_ID,
        "BypassPolicyLockoutSafetyCheck": Field("boolean"),
        "Tags": Field("tags"),
        "MultiRegion": Field("boolean"),
        "XksKeyId": Field("string", min=1, max=128),
    },
    "DescribeKey": {"KeyId": _key_id(), "GrantTokens": _GRANT_TOKENS},
    "ListKeys": {"Limit": _limit(1000), "Marker": _MARKER, "ResourceOwners": _UNSUPPORTED},
    "UpdateKeyDescription": {
        "KeyId": _key_id(),
        "Description": Field("string", True, 0, 8192),
    },
    "EnableKey": {"KeyId": _key_id()},
    "DisableKey": {"KeyId": _key_id()},
    "ScheduleKeyDeletion": {"KeyId": _key_id(), "PendingWindowInDays": Field("integer")},
    "CancelKeyDeletion": {"KeyId": _key_id()},
    "CreateAlias": {"AliasName": _ALIAS, "TargetKeyId": _key_id()},
    "UpdateAlias": {"AliasName": _ALIAS, "TargetKeyId": _key_id()},
    "DeleteAlias": {"AliasName": _ALIAS},
    "ListAliases": {"KeyId": _key_id(False), "Limit": _limit(100), "Marker": _MARKER},
    "Encrypt": {
        "KeyId": _key_id(),
        "Plaintext": _blob(4096),
        "EncryptionContext": _CONTEXT,
        "GrantTokens": _GRANT_TOKENS,
        "EncryptionAlgorithm": _enum(ENCRYPTION_ALGORITHMS),
        "DryRun": _DRY_RUN,
    },
    "Decrypt": {
        "CiphertextBlob": _blob(6144),
        "EncryptionContext": _CONTEXT,
        "GrantTokens": _GRANT_TOKENS,
        "KeyId": _key_id(False),
        "EncryptionAlgorithm": _enum(ENCRYPTION_ALGORITHMS),
        "Recipient": _UNSUPPORTED,
        "DryRun": _DRY_RUN,
        "DryRunModifiers": _UNSUPPORTED,
    },
    "ReEncrypt": {
        "CiphertextBlob": _blob(6144),
        "SourceEncryptionContext": _CONTEXT,
        "SourceKeyId": _key_id(False),
        "DestinationKeyId": _key_id(),
        "DestinationEncryptionContext": _CONTEXT,
        "SourceEncryptionAlgorithm": _enum(ENCRYPTION_ALGORITHMS),
        "DestinationEncryptionAlgorithm": _enum(ENCRYPTION_ALGORITHMS),
        "GrantTokens": _GRANT_TOKENS,
        "DryRun": _DRY_RUN,
        "DryRunModifiers": _UNSUPPORTED,
    },
    "GenerateDataKey": {
        "KeyId": _key_id(),
        "EncryptionContext": _CONTEXT,
        "NumberOfBytes": Field("integer", min=1, max=1024),
        "KeySpec": _enum(("AES_256", "AES_128")),
        "GrantTokens": _GRANT_TOKENS,
        "Recipient": _UNSUPPORTED,
        "DryRun": _DRY_RUN,
    },
    "GenerateDataKeyWithoutPlaintext": {
        "KeyId": _key_id(),
        "EncryptionContext": _CONTEXT,
        "KeySpec": _enum(("AES_256", "AES_128")),
        "NumberOfBytes": Field("integer", min=1, max=1024),
        "GrantTokens": _GRANT_TOKENS,
        "DryRun": _DRY_RUN,
    },
    "GenerateDataKeyPair": {
        "EncryptionContext": _CONTEXT,
        "KeyId": _key_id(),
        "KeyPairSpec": _enum(ALL_KEY_PAIR_SPECS, required=True),
        "GrantTokens": _GRANT_TOKENS,
        "Recipient": _UNSUPPORTED,
        "DryRun": _DRY_RUN,
    },
    "GenerateDataKeyPairWithoutPlaintext": {
        "EncryptionContext": _CONTEXT,
        "KeyId": _key_id(),
        "KeyPairSpec": _enum(ALL_KEY_PAIR_SPECS, required=True),
        "GrantTokens": _GRANT_TOKENS,
        "DryRun": _DRY_RUN,
    },
    "GenerateRandom": {
        "NumberOfBytes": Field("integer", True, 1, 1024),
        "CustomKeyStoreId": _KEYSTORE_ID,
        "Recipient": _UNSUPPORTED,
    },
    "Sign": {
        "KeyId": _key_id(),
        "Message": _blob(4096),
        "MessageType": _enum(("RAW", "DIGEST", "EXTERNAL_MU")),
        "GrantTokens": _GRANT_TOKENS,
        "SigningAlgorithm": _enum(SIGNING_ALGORITHMS, required=True),
        "DryRun": _DRY_RUN,
    },
    "Verify": {
        "KeyId": _key_id(),
        "Message": _blob(4096),
        "MessageType": _enum(("RAW", "DIGEST", "EXTERNAL_MU")),
        "Signature": _blob(6144),
        "SigningAlgorithm": _enum(SIGNING_ALGORITHMS, required=True),
        "GrantTokens": _GRANT_TOKENS,
        "DryRun": _DRY_RUN,
    },
    "GetPublicKey": {"KeyId": _key_id(), "GrantTokens": _GRANT_TOKENS},
    "GenerateMac": {
        "Message": _blob(4096),
        "KeyId": _key_id(),
        "MacAlgorithm": _enum(MAC_ALGORITHMS, required=True),
        "GrantTokens": _GRANT_TOKENS,
        "DryRun": _DRY_RUN,
    },
    "VerifyMac": {
        "Message": _blob(4096),
        "KeyId": _key_id(),
        "MacAlgorithm": _enum(MAC_ALGORITHMS, required=True),
        "Mac": _blob(6144),
        "GrantTokens": _GRANT_TOKENS,
        "DryRun": _DRY_RUN,
    },
    "EnableKeyRotation": {
        "KeyId": _key_id(),
        "RotationPeriodInDays": Field("integer", min=90, max=2560),
    },
    "DisableKeyRotation": {"KeyId": _key_id()},
    "GetKeyRotationStatus": {"KeyId": _key_id()},
    "RotateKeyOnDemand": {"KeyId": _key_id()},
    "ListKeyRotations": {
        "KeyId": _key_id(),
        "IncludeKeyMaterial": _enum(("ALL_KEY_MATERIAL", "ROTATIONS_ONLY")),
        "Limit": _limit(1000),
        "Marker": _MARKER,
    },
    "TagResource": {"KeyId": _key_id(), "Tags": Field("tags", True)},
    "UntagResource": {"KeyId": _key_id(), "TagKeys": Field("strings", True, min=0)},
    "ListResourceTags": {"KeyId": _key_id(), "Limit": _limit(50), "Marker": _MARKER},
    "GetKeyPolicy": {"KeyId": _key_id(), "PolicyName": Field("string", min=1, max=128)},
    "PutKeyPolicy": {
        "KeyId": _key_id(),
        "PolicyName": Field("string", min=1, max=128),
        "Policy": Field("string", True, 1, 131072),
        "BypassPolicyLockoutSafetyCheck": Field("boolean"),
    },
    "ListKeyPolicies": {"KeyId": _key_id(), "Limit": _limit(1000), "Marker": _MARKER},
    "CreateGrant": {
        "KeyId": _key_id(),
        "GranteePrincipal": _PRINCIPAL,
        "RetiringPrincipal": _PRINCIPAL,
        "Operations": Field("strings", True, min=1, enum=GRANT_OPERATIONS),
        "Constraints": Field("constraints"),
        "GrantTokens": _GRANT_TOKENS,
        "Name": Field("string", min=1, max=256, pattern=r"^[a-zA-Z0-9:/_-]+$"),
        "DryRun": _DRY_RUN,
        "GranteeServicePrincipal": _UNSUPPORTED,
        "RetiringServicePrincipal": _UNSUPPORTED,
    },
    "ListGrants": {
        "Limit": _limit(100),
        "Marker": _MARKER,
        "KeyId": _key_id(),
        "GrantId": _GRANT_ID,
        "GranteePrincipal": _PRINCIPAL,
        "GranteeServicePrincipal": _UNSUPPORTED,
    },
    "ListRetirableGrants": {
        "Limit": _limit(100),
        "Marker": _MARKER,
        "RetiringPrincipal": Field("string", True, 1, 256, pattern=r"^[\w+=,.@:/-]+$"),
        "RetiringServicePrincipal": _UNSUPPORTED,
    },
    "RetireGrant": {
        "GrantToken": Field("string", min=1, max=8192),
        "KeyId": _key_id(False),
        "GrantId": _GRANT_ID,
        "DryRun": _DRY_RUN,
    },
    "RevokeGrant": {
        "KeyId": _key_id(),
        "GrantId": Field("string", True, 1, 128),
        "DryRun": _DRY_RUN,
    },
    "CreateCustomKeyStore": {
        "CustomKeyStoreName": Field("string", True, 1, 256),
        "CloudHsmClusterId": _CLUSTER_ID,
        "TrustAnchorCertificate": Field("string", min=1, max=5000),
        "KeyStorePassword": _PASSWORD,
        "CustomKeyStoreType": _enum(("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")),
        **_XKS,
    },
    "ConnectCustomKeyStore": {"CustomKeyStoreId": Field("string", True, 1, 64)},
    "DisconnectCustomKeyStore": {"CustomKeyStoreId": Field("string", True, 1, 64)},
    "DescribeCustomKeyStores": {
        "CustomKeyStoreId": _KEYSTORE_ID,
        "CustomKeyStoreName": _KEYSTORE_NAME,
        "Limit": _limit(1000),
        "Marker": _MARKER,
    },
    "UpdateCustomKeyStore": {
        "CustomKeyStoreId": Field("string", True, 1, 64),
        "NewCustomKeyStoreName": _KEYSTORE_NAME,
        "KeyStorePassword": _PASSWORD,
        "CloudHsmClusterId": _CLUSTER_ID,
        **_XKS,
    },
    "DeleteCustomKeyStore": {"CustomKeyStoreId": Field("string", True, 1, 64)},
    "GetParametersForImport": {
        "KeyId": _key_id(),
        "WrappingAlgorithm": _enum(WRAPPING_ALGORITHMS, required=True),
        "WrappingKeySpec": _enum(("RSA_2048", "RSA_3072", "RSA_4096", "SM2"), required=True),
    },
    "ImportKeyMaterial": {
        "KeyId": _key_id(),
        "ImportToken": _blob(6144),
        "EncryptedKeyMaterial": _blob(6144),
        "ValidTo": Field("timestamp"),
        "ExpirationModel": _enum(("KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_DOES_NOT_EXPIRE")),
        "ImportType": _UNSUPPORTED,
        "KeyMaterialDescription": _UNSUPPORTED,
        "KeyMaterialId": _UNSUPPORTED,
    },
    "DeleteImportedKeyMaterial": {"KeyId": _key_id(), "KeyMaterialId": _UNSUPPORTED},
    "ReplicateKey": {
        "KeyId": _key_id(),
        "ReplicaRegion": Field("string", True, 1, 32, pattern=r"^([a-z]+-){2,3}\d+$"),
        "Policy": Field("string", min=1, max=131072),
        "BypassPolicyLockoutSafetyCheck": Field("boolean"),
        "Description": Field("string", min=0, max=8192),
        "Tags": Field("tags"),
    },
    "UpdatePrimaryRegion": {
        "KeyId": _key_id(),
        "PrimaryRegion": Field("string", True, 1, 32, pattern=r"^([a-z]+-){2,3}\d+$"),
    },
}
