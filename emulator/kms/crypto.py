"""Cryptographic operations: Encrypt, Decrypt, ReEncrypt, data keys, random, signatures
and MACs. Each one: resolve the key, check grant tokens, authorize, check the key state,
check key usage and algorithm, honour DryRun, then do the cryptography.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from types import MappingProxyType

from emulator.kms import authorization, hsm_bridge, primitives, xks_bridge
from emulator.kms.errors import (
    IncorrectKeyException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
    KMSInvalidMacException,
    KMSInvalidSignatureException,
    UnsupportedOperationException,
    ValidationException,
)
from emulator.kms.primitives import (
    NONCE_SIZE,
    aead_open,
    aead_seal,
    canonical_context,
    generate_key_pair,
    hmac_digest,
    hmac_verify,
    oaep_decrypt,
    oaep_encrypt,
    pack_header,
    parse_blob,
    private_key_der,
    public_key_der,
)
from emulator.kms.records import KeyRecord
from emulator.kms.specs import (
    DATA_KEY_PAIR_SPECS,
    DIGEST_SIZES,
    ENCRYPTION_ALGORITHMS,
    KEY_SPECS,
    RSA_OAEP_MAX_PLAINTEXT,
)
from emulator.kms.state import JSON, Call, KmsState, dry_run

_DATA_KEY_SIZES = {"AES_128": 16, "AES_256": 32}
# The kms:EncryptionAlgorithm condition key per algorithm, built once (read-only).
_ALGORITHM_KEYS: dict[str, Mapping[str, tuple[str, ...]]] = {
    algorithm: MappingProxyType({"kms:encryptionalgorithm": (algorithm,)})
    for algorithm in ENCRYPTION_ALGORITHMS
}


def _algorithm_key(algorithm: str) -> Mapping[str, tuple[str, ...]]:
    """The condition key for an algorithm outside the table (then invalid: it fails later)."""
    return {"kms:encryptionalgorithm": (algorithm,)}


def _require_usage(kms: KmsState, key: KeyRecord, usage: str, operation: str) -> None:
    if key.key_usage != usage:
        raise InvalidKeyUsageException(
            f"{kms.key_arn(key.key_id)} key usage is {key.key_usage} which is not valid "
            f"for {operation}."
        )


def _require_algorithm(kms: KmsState, key: KeyRecord, algorithm: str) -> None:
    info = KEY_SPECS[key.key_spec]
    if key.key_usage == "ENCRYPT_DECRYPT":
        supported = info.encryption_algorithms
    elif key.key_usage == "SIGN_VERIFY":
        supported = info.signing_algorithms
    else:
        supported = info.mac_algorithms
    if algorithm not in supported:
        raise InvalidKeyUsageException(
            f"{algorithm} is not supported by {kms.key_arn(key.key_id)} ({key.key_spec}); "
            f"it supports {', '.join(supported)}."
        )


def _require_symmetric_encryption_key(kms: KmsState, key: KeyRecord, operation: str) -> None:
    _require_usage(kms, key, "ENCRYPT_DECRYPT", operation)
    if not key.is_symmetric:
        raise InvalidKeyUsageException(
            f"{kms.key_arn(key.key_id)} is an asymmetric KMS key; {operation} needs a "
            "symmetric encryption KMS key."
        )


def _no_context_for_asymmetric(key: KeyRecord, context: Mapping[str, str] | None) -> None:
    if context and not key.is_symmetric:
        raise ValidationException(
            "EncryptionContext is not supported by asymmetric KMS keys; omit it."
        )


def _encrypt_symmetric(
    kms: KmsState, key: KeyRecord, plaintext: bytes, context: Mapping[str, str] | None
) -> bytes:
    header = pack_header(key.key_id, key.material_version)
    aad = canonical_context(context)
    if key.custom_key_store_id is not None and key.xks_key_id is None:
        return header + hsm_bridge.hsm_encrypt(kms, key, plaintext, header + aad)
    aead = kms._materials.get((key.key_id, key.material_version, key.material))
    if aead is None:
        aead = kms._aead(key, key.material_version)
        if aead is None:
            raise InvalidCiphertextException()
    sealed = aead_seal(aead, kms._random.token_bytes(NONCE_SIZE), plaintext, header, aad)
    if key.xks_key_id is not None:  # double encryption: the external key over KMS's layer
        return header + xks_bridge.xks_encrypt(kms, key, sealed[len(header) :], header + aad)
    return sealed


def _decrypt_symmetric(
    kms: KmsState,
    call: Call,
    blob: bytes,
    context: Mapping[str, str] | None,
    named: KeyRecord | None,
    action: str,
    algorithm: str,
) -> tuple[KeyRecord, bytes, str | None]:
    """Open a symmetric blob: (key, plaintext, KeyMaterialId). The blob names its key."""
    parsed = parse_blob(blob)
    if parsed is None:
        raise InvalidCiphertextException()
    header, body = parsed
    key = named if named is not None and named.key_id == header.key_id else None
    object_id, arn = kms._key_names.get(header.key_id) or kms._name_key(header.key_id)
    if key is None:
        key = kms._read_key(object_id)  # read-only from here on
    if key is None or key.key_spec != "SYMMETRIC_DEFAULT":
        raise InvalidCiphertextException()
    if named is not None and named.key_id != key.key_id:
        raise IncorrectKeyException(
            "The key ID in the request does not identify a CMK that can perform this operation."
        )
    if call.target is None:
        call.target = arn if key.key_id == header.key_id else kms.key_arn(key.key_id)
    extra = _ALGORITHM_KEYS.get(algorithm) or _algorithm_key(algorithm)
    authorization.authorize(kms, call, key, action, context, extra)
    if key.state != "Enabled" or key.custom_key_store_id is not None:
        kms._require_usable(key)
    if algorithm != "SYMMETRIC_DEFAULT":
        _require_algorithm(kms, key, algorithm)
    aad = canonical_context(context)
    version = header.material_version
    if key.xks_key_id is not None:
        inner = xks_bridge.xks_decrypt(kms, key, body, header.header + aad)
        aead = kms._aead(key, version)
        plaintext = None
        if inner is not None and aead is not None:
            plaintext = aead_open(aead, header.header, inner, aad)
        material_id = None
    elif key.custom_key_store_id is not None:
        plaintext = hsm_bridge.hsm_decrypt(kms, key, body, header.header + aad)
        material_id = None
    elif version == key.material_version:
        aead = kms._materials.get((key.key_id, version, key.material))
        if aead is None:
            aead = kms._aead(key, version)
        plaintext = aead_open(aead, header.header, body, aad) if aead is not None else None
        material_id = key.material_id
    else:
        aead = kms._aead(key, version)
        plaintext = aead_open(aead, header.header, body, aad) if aead is not None else None
        material_id = kms._material_id(key, version)
    if plaintext is None:
        raise InvalidCiphertextException()
    return key, plaintext, material_id


def encrypt(kms: KmsState, call: Call, request: JSON) -> JSON:
    """Encrypt up to 4096 bytes under a symmetric key (AES-256-GCM, the encryption context
    as associated data) or an RSA key (RSAES-OAEP)."""
    # The checks of every key operation, in the usual order; the helpers that raise are
    # called only when a cheap test shows they have something to say (the hot path).
    key = kms._resolve(call, request["KeyId"], read_only=True)
    tokens = request.get("GrantTokens")
    if tokens:
        kms._check_grant_tokens(tokens)
    context = request.get("EncryptionContext")
    algorithm = request.get("EncryptionAlgorithm", "SYMMETRIC_DEFAULT")
    extra = _ALGORITHM_KEYS.get(algorithm) or _algorithm_key(algorithm)
    authorization.authorize(kms, call, key, "kms:Encrypt", context, extra)
    if key.state != "Enabled" or key.custom_key_store_id is not None:
        kms._require_usable(key)
    if key.key_usage != "ENCRYPT_DECRYPT":
        _require_usage(kms, key, "ENCRYPT_DECRYPT", "Encrypt")
    symmetric = key.key_spec == "SYMMETRIC_DEFAULT"
    if not symmetric or algorithm != "SYMMETRIC_DEFAULT":
        _require_algorithm(kms, key, algorithm)
    if context and not symmetric:
        _no_context_for_asymmetric(key, context)
    plaintext = bytes(request["Plaintext"])
    if not symmetric:
        limit = RSA_OAEP_MAX_PLAINTEXT[(KEY_SPECS[key.key_spec].size, algorithm)]
        if len(plaintext) > limit:
            raise ValidationException(
                f"Plaintext is too long: {algorithm} with {key.key_spec} takes at most "
                f"{limit} bytes."
            )
    if request.get("DryRun"):
        dry_run(request)
    if symmetric:
        blob = _encrypt_symmetric(kms, key, plaintext, context)
    else:
        blob = oaep_encrypt(kms._private_key(key).public_key(), algorithm, plaintext)
    return {
        "CiphertextBlob": blob,
        "KeyId": kms._arn_prefix + "key/" + key.key_id,
        "EncryptionAlgorithm": algorithm,
    }


def decrypt(kms: KmsState, call: Call, request: JSON) -> JSON:
    """Decrypt. A symmetric blob names its key, so KeyId is optional; RSA needs KeyId
    and EncryptionAlgorithm."""
    algorithm = request.get("EncryptionAlgorithm", "SYMMETRIC_DEFAULT")
    context = request.get("EncryptionContext")
    key_id = request.get("KeyId")
    named = kms._resolve(call, key_id, read_only=True) if key_id else None
    tokens = request.get("GrantTokens")
    if tokens:
        kms._check_grant_tokens(tokens)
    blob = bytes(request["CiphertextBlob"])
    if named is not None and not named.is_symmetric:
        plaintext = _decrypt_asymmetric(kms, call, named, blob, algorithm, context, request)
        return {
            "KeyId": kms.key_arn(named.key_id),
            "Plaintext": plaintext,
            "EncryptionAlgorithm": algorithm,
        }
    key, plaintext, material_id = _decrypt_symmetric(
        kms, call, blob, context, named, "kms:Decrypt", algorithm
    )
    if request.get("DryRun"):
        dry_run(request)  # everything checked, ciphertext included; nothing returned
    result: JSON = {
        "KeyId": kms._arn_prefix + "key/" + key.key_id,
        "Plaintext": plaintext,
        "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }
    if material_id is not None:
        result["KeyMaterialId"] = material_id
    return result


def _decrypt_asymmetric(
    kms: KmsState,
    call: Call,
    key: KeyRecord,
    blob: bytes,
    algorithm: str,
    context: Mapping[str, str] | None,
    request: JSON,
    action: str = "kms:Decrypt",
) -> bytes:
    authorization.authorize(kms, call, key, action, None, {"kms:encryptionalgorithm": (algorithm,)})
    kms._require_usable(key)
    _require_usage(kms, key, "ENCRYPT_DECRYPT", "Decrypt")
    _require_algorithm(kms, key, algorithm)
    _no_context_for_asymmetric(key, context)
    dry_run(request)
    plaintext = oaep_decrypt(kms._private_key(key), algorithm, blob)
    if plaintext is None:
        raise InvalidCiphertextException()
    return plaintext


def re_encrypt(kms: KmsState, call: Call, request: JSON) -> JSON:
    """ReEncrypt: decrypt under the source key and encrypt under the destination key
    without revealing the plaintext (kms:ReEncryptFrom and kms:ReEncryptTo)."""
    source_algorithm = request.get("SourceEncryptionAlgorithm", "SYMMETRIC_DEFAULT")
    source_context = request.get("SourceEncryptionContext")
    named = kms._resolve(call, request["SourceKeyId"]) if request.get("SourceKeyId") else None
    kms._check_grant_tokens(request.get("GrantTokens"))
    blob = bytes(request["CiphertextBlob"])
    source_material: str | None = None
    if named is not None and not named.is_symmetric:
        source = named
        plaintext = _decrypt_asymmetric(
            kms, call, named, blob, source_algorithm, source_context, {}, "kms:ReEncryptFrom"
        )
    else:
        source, plaintext, source_material = _decrypt_symmetric(
            kms, call, blob, source_context, named, "kms:ReEncryptFrom", source_algorithm
        )
    destination = kms._resolve(None, request["DestinationKeyId"])
    destination_algorithm = request.get("DestinationEncryptionAlgorithm", "SYMMETRIC_DEFAULT")
    destination_context = request.get("DestinationEncryptionContext")
    authorization.authorize(
        kms,
        call,
        destination,
        "kms:ReEncryptTo",
        destination_context,
        {"kms:encryptionalgorithm": (destination_algorithm,)},
    )
    kms._require_usable(destination)
    _require_usage(kms, destination, "ENCRYPT_DECRYPT", "ReEncrypt")
    _require_algorithm(kms, destination, destination_algorithm)
    _no_context_for_asymmetric(destination, destination_context)
    dry_run(request)
    if destination.is_symmetric:
        new_blob = _encrypt_symmetric(kms, destination, plaintext, destination_context)
    else:
        new_blob = oaep_encrypt(
            kms._private_key(destination).public_key(), destination_algorithm, plaintext
        )
    result: JSON = {
        "CiphertextBlob": new_blob,
        "SourceKeyId": kms.key_arn(source.key_id),
        "KeyId": kms.key_arn(destination.key_id),
        "SourceEncryptionAlgorithm": source_algorithm,
        "DestinationEncryptionAlgorithm": destination_algorithm,
    }
    if source_material is not None:
        result["SourceKeyMaterialId"] = source_material
    if destination.is_symmetric and destination.material_id is not None:
        result["DestinationKeyMaterialId"] = destination.material_id
    return result


def _data_key_target(
    kms: KmsState, call: Call, request: JSON
) -> tuple[KeyRecord, Mapping[str, str] | None]:
    """The symmetric encryption key a data key is made under, checked, and the context."""
    key = kms._resolve(call, request["KeyId"])
    kms._check_grant_tokens(request.get("GrantTokens"))
    context = request.get("EncryptionContext")
    authorization.authorize(kms, call, key, "kms:" + call.operation, context)
    kms._require_usable(key)
    _require_symmetric_encryption_key(kms, key, call.operation)
    return key, context


def generate_data_key(kms: KmsState, call: Call, request: JSON) -> JSON:
    """GenerateDataKey: a random data key, in plaintext and encrypted under the key.

    GenerateDataKeyWithoutPlaintext: only the encrypted data key."""
    operation = call.operation
    spec, size = request.get("KeySpec"), request.get("NumberOfBytes")
    if (spec is None) == (size is None):
        raise ValidationException(
            "Please specify either number of bytes or key spec."
            if spec is None
            else "Specify either KeySpec or NumberOfBytes, not both."
        )
    length = _DATA_KEY_SIZES[spec] if spec is not None else int(request["NumberOfBytes"])
    key, context = _data_key_target(kms, call, request)
    dry_run(request)
    data_key = kms._random.token_bytes(length)
    result: JSON = {
        "CiphertextBlob": _encrypt_symmetric(kms, key, data_key, context),
        "KeyId": kms.key_arn(key.key_id),
    }
    if operation == "GenerateDataKey":
        result["Plaintext"] = data_key
    if key.material_id is not None:
        result["KeyMaterialId"] = key.material_id
    return result


def generate_data_key_pair(kms: KmsState, call: Call, request: JSON) -> JSON:
    """GenerateDataKeyPair: DER SPKI public key, PKCS#8 DER private key in plaintext and
    encrypted under the (symmetric) KMS key.

    GenerateDataKeyPairWithoutPlaintext: the public key and the encrypted private key."""
    operation = call.operation
    pair_spec = request["KeyPairSpec"]
    key, context = _data_key_target(kms, call, request)
    if key.custom_key_store_id is not None:
        raise UnsupportedOperationException(
            f"{kms.key_arn(key.key_id)} is in a custom key store; {operation} does not "
            "support KMS keys in custom key stores."
        )
    if pair_spec not in DATA_KEY_PAIR_SPECS:
        raise UnsupportedOperationException(
            f"KeyPairSpec {pair_spec} is not supported by this emulator."
        )
    dry_run(request)
    private = generate_key_pair(pair_spec)
    private_der = private_key_der(private)
    result: JSON = {
        "PrivateKeyCiphertextBlob": _encrypt_symmetric(kms, key, private_der, context),
        "PublicKey": public_key_der(private),
        "KeyId": kms.key_arn(key.key_id),
        "KeyPairSpec": pair_spec,
    }
    if operation == "GenerateDataKeyPair":
        result["PrivateKeyPlaintext"] = private_der
    if key.material_id is not None:
        result["KeyMaterialId"] = key.material_id
    return result


def generate_random(kms: KmsState, call: Call, request: JSON) -> JSON:
    """GenerateRandom: 1..1024 random bytes (from the injected RandomSource)."""
    authorization.authorize_account(kms, call, "kms:GenerateRandom")
    if request.get("CustomKeyStoreId") is not None:
        # The emulator's HSMs share the injected randomness; the store must be usable.
        hsm_bridge.connected_store(kms, request["CustomKeyStoreId"])
    return {"Plaintext": kms._random.token_bytes(request["NumberOfBytes"])}


def _signing_input(
    kms: KmsState, call: Call, request: JSON, action: str
) -> tuple[KeyRecord, bytes, bool]:
    key = kms._resolve(call, request["KeyId"])
    kms._check_grant_tokens(request.get("GrantTokens"))
    algorithm = request["SigningAlgorithm"]
    message_type = request.get("MessageType", "RAW")
    authorization.authorize(
        kms,
        call,
        key,
        action,
        None,
        {"kms:signingalgorithm": (algorithm,), "kms:messagetype": (message_type,)},
    )
    kms._require_usable(key)
    _require_usage(kms, key, "SIGN_VERIFY", action[4:])
    _require_algorithm(kms, key, algorithm)
    if message_type == "EXTERNAL_MU":
        raise ValidationException("MessageType EXTERNAL_MU is valid only for ML-DSA keys.")
    message = bytes(request["Message"])
    digest_given = message_type == "DIGEST"
    if digest_given and len(message) != DIGEST_SIZES[algorithm[-7:]]:
        raise ValidationException(f"Digest is invalid length for algorithm {algorithm}.")
    dry_run(request)
    return key, message, digest_given


def sign(kms: KmsState, call: Call, request: JSON) -> JSON:
    """Sign a message (RAW) or its digest (DIGEST) with an RSA or ECC key."""
    key, message, digest_given = _signing_input(kms, call, request, "kms:Sign")
    algorithm = request["SigningAlgorithm"]
    signature = primitives.sign(kms._private_key(key), algorithm, message, digest_given)
    return {
        "KeyId": kms.key_arn(key.key_id),
        "Signature": signature,
        "SigningAlgorithm": algorithm,
    }


def verify(kms: KmsState, call: Call, request: JSON) -> JSON:
    """Verify a signature; an invalid one raises KMSInvalidSignatureException."""
    key, message, digest_given = _signing_input(kms, call, request, "kms:Verify")
    algorithm = request["SigningAlgorithm"]
    public = kms._private_key(key).public_key()
    if not primitives.verify(public, algorithm, message, bytes(request["Signature"]), digest_given):
        raise KMSInvalidSignatureException("The signature is not valid for this message.")
    return {
        "KeyId": kms.key_arn(key.key_id),
        "SignatureValid": True,
        "SigningAlgorithm": algorithm,
    }


def get_public_key(kms: KmsState, call: Call, request: JSON) -> JSON:
    """GetPublicKey: DER SubjectPublicKeyInfo of an RSA or ECC key."""
    key = kms._resolve(call, request["KeyId"])
    kms._check_grant_tokens(request.get("GrantTokens"))
    authorization.authorize(kms, call, key, "kms:GetPublicKey")
    if key.public_key is None:
        raise UnsupportedOperationException(
            f"{kms.key_arn(key.key_id)} is a {key.key_spec} key; GetPublicKey is supported "
            "only for asymmetric KMS keys."
        )
    kms._require_usable(key)
    info = KEY_SPECS[key.key_spec]
    result: JSON = {
        "KeyId": kms.key_arn(key.key_id),
        "PublicKey": base64.b64decode(key.public_key),
        "CustomerMasterKeySpec": key.key_spec,
        "KeySpec": key.key_spec,
        "KeyUsage": key.key_usage,
    }
    if key.key_usage == "ENCRYPT_DECRYPT":
        result["EncryptionAlgorithms"] = list(info.encryption_algorithms)
    else:
        result["SigningAlgorithms"] = list(info.signing_algorithms)
    return result


def _mac_input(kms: KmsState, call: Call, request: JSON, action: str) -> tuple[bytes, str, bytes]:
    key = kms._resolve(call, request["KeyId"])
    kms._check_grant_tokens(request.get("GrantTokens"))
    algorithm = request["MacAlgorithm"]
    authorization.authorize(kms, call, key, action, None, {"kms:macalgorithm": (algorithm,)})
    kms._require_usable(key)
    _require_usage(kms, key, "GENERATE_VERIFY_MAC", action[4:])
    _require_algorithm(kms, key, algorithm)
    dry_run(request)
    return kms._secret(key), algorithm, bytes(request["Message"])


def generate_mac(kms: KmsState, call: Call, request: JSON) -> JSON:
    """GenerateMac: HMAC of a message under an HMAC key."""
    secret, algorithm, message = _mac_input(kms, call, request, "kms:GenerateMac")
    return {
        "Mac": hmac_digest(secret, algorithm, message),
        "MacAlgorithm": algorithm,
        "KeyId": call.target,
    }


def verify_mac(kms: KmsState, call: Call, request: JSON) -> JSON:
    """VerifyMac: a wrong MAC raises KMSInvalidMacException."""
    secret, algorithm, message = _mac_input(kms, call, request, "kms:VerifyMac")
    if not hmac_verify(secret, algorithm, message, bytes(request["Mac"])):
        raise KMSInvalidMacException("The MAC is not valid for this message.")
    return {"KeyId": call.target, "MacValid": True, "MacAlgorithm": algorithm}
