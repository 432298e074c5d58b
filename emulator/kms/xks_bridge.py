"""How KMS talks to the XKS proxy of an external key store, and reads its answers.

Every answer is checked before use: a response KMS cannot read is
XksProxyInvalidResponseException (when creating or connecting) or a KMSInvalidStateException
(when encrypting or decrypting), never a crash. A key in an external key store is encrypted
twice: first by KMS with key material it holds for the KMS key, then by the external key
through the proxy; decrypting needs both.
"""

from __future__ import annotations

import base64
import binascii

from emulator.keystore import XksEndpoint, XksProxy, XksProxyError
from emulator.kms.errors import (
    KeyUnavailableException,
    KMSInvalidStateException,
    XksKeyInvalidConfigurationException,
    XksKeyNotFoundException,
    XksProxyIncorrectAuthenticationCredentialException,
    XksProxyInvalidResponseException,
    XksProxyUriUnreachableException,
)
from emulator.kms.records import KeyRecord, KeyStoreRecord
from emulator.kms.state import KmsState

__all__ = ["check_health", "check_key", "connection_error", "xks_decrypt", "xks_encrypt"]


def endpoint_of(kms: KmsState, store: KeyStoreRecord) -> XksEndpoint:
    secret = kms._sealer.unseal(str(store.xks_secret), f"kms-xks:{store.store_id}").decode()
    return XksEndpoint(
        uri_endpoint=str(store.xks_endpoint),
        uri_path=str(store.xks_path),
        access_key_id=str(store.xks_access_key_id),
        secret=secret,
    )


def _proxy(kms: KmsState, store: KeyStoreRecord) -> XksProxy:
    if kms._xks is None:
        raise XksProxyUriUnreachableException(
            f"KMS cannot reach the XKS proxy at {store.xks_endpoint}."
        )
    return kms._xks


def check_health(kms: KmsState, endpoint: XksEndpoint) -> None:
    """GetHealthStatus; raise the error CreateCustomKeyStore answers with."""
    if kms._xks is None:
        raise XksProxyUriUnreachableException(f"KMS cannot reach {endpoint.uri_endpoint}.")
    try:
        health = kms._xks.health(endpoint)
    except XksProxyError as error:
        raise _configuration_error(error, endpoint) from None
    if not isinstance(health.get("ekmFleetDetails"), list):
        raise XksProxyInvalidResponseException(
            "The XKS proxy's GetHealthStatus response is not valid."
        )


def connection_error(kms: KmsState, store: KeyStoreRecord) -> str | None:
    """None when the proxy answers a health check; else AWS's ConnectionErrorCode."""
    try:
        check_health(kms, endpoint_of(kms, store))
    except XksProxyUriUnreachableException:
        return "XKS_PROXY_NOT_REACHABLE"
    except XksProxyIncorrectAuthenticationCredentialException:
        return "INVALID_CREDENTIALS"
    except XksProxyInvalidResponseException:
        return "XKS_PROXY_INVALID_RESPONSE"
    return None


def check_key(kms: KmsState, store: KeyStoreRecord, xks_key_id: str) -> None:
    """CreateKey's check of the external key: AES-256, usable to encrypt and decrypt."""
    try:
        metadata = _proxy(kms, store).key_metadata(endpoint_of(kms, store), xks_key_id)
    except XksProxyError as error:
        if error.code == "KeyNotFoundException":
            raise XksKeyNotFoundException(
                f"The external key {xks_key_id} was not found by the XKS proxy."
            ) from None
        raise _configuration_error(error, endpoint_of(kms, store)) from None
    usage = metadata.get("keyUsage")
    if metadata.get("keySpec") != "AES_256" or not isinstance(usage, list):
        raise XksKeyInvalidConfigurationException(
            f"The external key {xks_key_id} must be an AES-256 key."
        )
    if not {"ENCRYPT", "DECRYPT"} <= set(usage) or metadata.get("keyStatus") != "ENABLED":
        raise XksKeyInvalidConfigurationException(
            f"The external key {xks_key_id} must be enabled for ENCRYPT and DECRYPT."
        )


def _configuration_error(error: XksProxyError, endpoint: XksEndpoint) -> Exception:
    if error.code == "unreachable":
        return XksProxyUriUnreachableException(
            f"KMS cannot reach an XKS proxy at {endpoint.uri_endpoint}{endpoint.uri_path}."
        )
    if error.code == "AuthenticationFailedException":
        return XksProxyIncorrectAuthenticationCredentialException(
            "The XKS proxy rejected the proxy authentication credential."
        )
    return XksProxyInvalidResponseException(f"The XKS proxy answered {error.code}.")


def _store_of(kms: KmsState, key: KeyRecord) -> KeyStoreRecord:
    store = kms._get_store(str(key.custom_key_store_id))
    if store is None or store.state != "CONNECTED" or key.xks_key_id is None:
        raise KMSInvalidStateException(f"{kms.key_arn(key.key_id)} is unavailable.")
    return store


def _use_error(kms: KmsState, key: KeyRecord, error: XksProxyError) -> Exception:
    message = (
        f"{kms.key_arn(key.key_id)}: the external key manager could not complete the "
        f"operation ({error.code})."
    )
    if error.code == "unreachable":
        return KeyUnavailableException(message)
    return KMSInvalidStateException(message)


def _binary(answer: dict[str, object], name: str) -> bytes:
    value = answer.get(name)
    try:
        if not isinstance(value, str):
            raise ValueError
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise KMSInvalidStateException(
            f"The XKS proxy's response has no valid {name}: KMS cannot use it."
        ) from None


def xks_encrypt(kms: KmsState, key: KeyRecord, inner: bytes, aad: bytes) -> bytes:
    """The external key's layer over KMS's own ciphertext: iv (12) + tag (16) + ciphertext."""
    store = _store_of(kms, key)
    try:
        answer = _proxy(kms, store).encrypt(
            endpoint_of(kms, store), str(key.xks_key_id), inner, aad
        )
    except XksProxyError as error:
        raise _use_error(kms, key, error) from None
    iv, tag = _binary(answer, "initializationVector"), _binary(answer, "authenticationTag")
    if len(iv) != 12 or len(tag) != 16:
        raise KMSInvalidStateException("The XKS proxy's response has a malformed IV or tag.")
    return iv + tag + _binary(answer, "ciphertext")


def xks_decrypt(kms: KmsState, key: KeyRecord, body: bytes, aad: bytes) -> bytes | None:
    """KMS's own ciphertext back from the external layer; None when the proxy rejects it."""
    store = _store_of(kms, key)
    if len(body) < 28:
        return None
    try:
        answer = _proxy(kms, store).decrypt(
            endpoint_of(kms, store), str(key.xks_key_id), body[28:], body[:12], body[12:28], aad
        )
    except XksProxyError as error:
        if error.code == "InvalidCiphertextException":
            return None
        raise _use_error(kms, key, error) from None
    return _binary(answer, "plaintext")
