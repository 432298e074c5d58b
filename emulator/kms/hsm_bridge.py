"""The bridge to CloudHSM key stores, used by key creation, crypto and key store operations.

KMS reaches a cluster only through ``emulator.keystore.CustomKeyStoreBackend``.
"""

from __future__ import annotations

from emulator.keystore import ClusterInfo, CustomKeyStoreBackend, KeyStoreBackendError
from emulator.kms import lifecycle
from emulator.kms.errors import (
    CloudHsmClusterInvalidConfigurationException,
    CloudHsmClusterNotActiveException,
    CloudHsmClusterNotFoundException,
    CustomKeyStoreInvalidStateException,
    CustomKeyStoreNotFoundException,
    KeyUnavailableException,
    KMSInvalidStateException,
)
from emulator.kms.records import KeyRecord, KeyStoreRecord
from emulator.kms.state import KmsState

# Backend failures that are worth a retry surface as KeyUnavailableException; the rest as
# KMSInvalidStateException, AWS's "general failure" for custom key store crypto.
_RETRYABLE = frozenset({"NETWORK_ERRORS"})


def backend_or_not_found(kms: KmsState, cluster_id: str) -> CustomKeyStoreBackend:
    if kms._backend is None:
        raise CloudHsmClusterNotFoundException(f"AWS CloudHSM cluster {cluster_id} was not found.")
    return kms._backend


def cluster(kms: KmsState, cluster_id: str) -> ClusterInfo:
    info = backend_or_not_found(kms, cluster_id).cluster_info(cluster_id)
    if info is None:
        raise CloudHsmClusterNotFoundException(f"AWS CloudHSM cluster {cluster_id} was not found.")
    return info


def require_active(info: ClusterInfo) -> None:
    if info.state != "ACTIVE":
        raise CloudHsmClusterNotActiveException(
            f"AWS CloudHSM cluster {info.cluster_id} is not active (its state is "
            f"{info.state}). Initialize and activate the cluster first."
        )


def require_two_zones(info: ClusterInfo) -> None:
    """CreateCustomKeyStore, UpdateCustomKeyStore and CreateKey need two active HSMs in
    different Availability Zones."""
    zones = {hsm.availability_zone for hsm in info.hsms if hsm.state == "ACTIVE"}
    if len(zones) < 2:
        raise CloudHsmClusterInvalidConfigurationException(
            f"AWS CloudHSM cluster {info.cluster_id} must contain at least two active HSMs, "
            "each in a different Availability Zone."
        )


def store_or_not_found(kms: KmsState, store_id: str) -> KeyStoreRecord:
    store = kms._get_store(store_id)
    if store is None:
        raise CustomKeyStoreNotFoundException(
            f"Custom key store {store_id} does not exist in this account and Region."
        )
    return store


def connected_store(kms: KmsState, store_id: str) -> KeyStoreRecord:
    store = store_or_not_found(kms, store_id)
    if store.state != "CONNECTED":
        raise CustomKeyStoreInvalidStateException(
            f"Custom key store {store_id} is not connected (its ConnectionState is {store.state})."
        )
    return store


def _backend_failure(kms: KmsState, key: KeyRecord, error: KeyStoreBackendError) -> Exception:
    message = (
        f"{kms.key_arn(key.key_id)}: the AWS CloudHSM cluster could not complete the "
        f"operation ({error.code})."
    )
    if error.code in _RETRYABLE:
        return KeyUnavailableException(message)
    return KMSInvalidStateException(message)


def _hsm_call_parts(kms: KmsState, key: KeyRecord) -> tuple[CustomKeyStoreBackend, str, str, str]:
    if key.custom_key_store_id is None or key.hsm_key_ref is None:
        raise KMSInvalidStateException(f"{kms.key_arn(key.key_id)} is unavailable.")
    store = kms._get_store(key.custom_key_store_id)
    if store is None or store.state != "CONNECTED" or kms._backend is None:
        raise KMSInvalidStateException(f"{kms.key_arn(key.key_id)} is unavailable.")
    return kms._backend, store.cluster_id, lifecycle.store_password(kms, store), key.hsm_key_ref


def hsm_encrypt(kms: KmsState, key: KeyRecord, plaintext: bytes, aad: bytes) -> bytes:
    backend, cluster_id, password, key_ref = _hsm_call_parts(kms, key)
    try:
        return backend.encrypt(cluster_id, password, key_ref, plaintext, aad)
    except KeyStoreBackendError as error:
        raise _backend_failure(kms, key, error) from None


def hsm_decrypt(kms: KmsState, key: KeyRecord, body: bytes, aad: bytes) -> bytes | None:
    """Plaintext, or None when the HSM rejects the ciphertext (bad tag or context)."""
    backend, cluster_id, password, key_ref = _hsm_call_parts(kms, key)
    try:
        return backend.decrypt(cluster_id, password, key_ref, body, aad)
    except KeyStoreBackendError as error:
        if error.code == "INTERNAL_ERROR":
            return None
        raise _backend_failure(kms, key, error) from None
