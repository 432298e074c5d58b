"""The bridge to CloudHSM key stores, used by key creation, crypto and key store operations.

KMS reaches a cluster only through ``emulator.keystore.CustomKeyStoreBackend``.
"""

from __future__ import annotations

from emulator.keystore import ClusterInfo, CustomKeyStoreBackend, KeyStoreBackendError
from emulator.kms._base import KmsBase
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

# Backend failures that are worth a retry surface as KeyUnavailableException; the rest as
# KMSInvalidStateException, AWS's "general failure" for custom key store crypto.
_RETRYABLE = frozenset({"NETWORK_ERRORS"})


class HsmBridge(KmsBase):
    def _backend_or_not_found(self, cluster_id: str) -> CustomKeyStoreBackend:
        if self._backend is None:
            raise CloudHsmClusterNotFoundException(
                f"AWS CloudHSM cluster {cluster_id} was not found."
            )
        return self._backend

    def _cluster(self, cluster_id: str) -> ClusterInfo:
        info = self._backend_or_not_found(cluster_id).cluster_info(cluster_id)
        if info is None:
            raise CloudHsmClusterNotFoundException(
                f"AWS CloudHSM cluster {cluster_id} was not found."
            )
        return info

    @staticmethod
    def _require_active(info: ClusterInfo) -> None:
        if info.state != "ACTIVE":
            raise CloudHsmClusterNotActiveException(
                f"AWS CloudHSM cluster {info.cluster_id} is not active (its state is "
                f"{info.state}). Initialize and activate the cluster first."
            )

    @staticmethod
    def _require_two_zones(info: ClusterInfo) -> None:
        """CreateCustomKeyStore, UpdateCustomKeyStore and CreateKey need two active HSMs in
        different Availability Zones."""
        zones = {hsm.availability_zone for hsm in info.hsms if hsm.state == "ACTIVE"}
        if len(zones) < 2:
            raise CloudHsmClusterInvalidConfigurationException(
                f"AWS CloudHSM cluster {info.cluster_id} must contain at least two active HSMs, "
                "each in a different Availability Zone."
            )

    def _store_or_not_found(self, store_id: str) -> KeyStoreRecord:
        store = self._get_store(store_id)
        if store is None:
            raise CustomKeyStoreNotFoundException(
                f"Custom key store {store_id} does not exist in this account and Region."
            )
        return store

    def _connected_store(self, store_id: str) -> KeyStoreRecord:
        store = self._store_or_not_found(store_id)
        if store.state != "CONNECTED":
            raise CustomKeyStoreInvalidStateException(
                f"Custom key store {store_id} is not connected (its ConnectionState is "
                f"{store.state})."
            )
        return store

    def _backend_failure(self, key: KeyRecord, error: KeyStoreBackendError) -> Exception:
        message = (
            f"{self.key_arn(key.key_id)}: the AWS CloudHSM cluster could not complete the "
            f"operation ({error.code})."
        )
        if error.code in _RETRYABLE:
            return KeyUnavailableException(message)
        return KMSInvalidStateException(message)

    def _hsm_call_parts(self, key: KeyRecord) -> tuple[CustomKeyStoreBackend, str, str, str]:
        if key.custom_key_store_id is None or key.hsm_key_ref is None:
            raise KMSInvalidStateException(f"{self.key_arn(key.key_id)} is unavailable.")
        store = self._get_store(key.custom_key_store_id)
        if store is None or store.state != "CONNECTED" or self._backend is None:
            raise KMSInvalidStateException(f"{self.key_arn(key.key_id)} is unavailable.")
        return self._backend, store.cluster_id, self._store_password(store), key.hsm_key_ref

    def _hsm_encrypt(self, key: KeyRecord, plaintext: bytes, aad: bytes) -> bytes:
        backend, cluster_id, password, key_ref = self._hsm_call_parts(key)
        try:
            return backend.encrypt(cluster_id, password, key_ref, plaintext, aad)
        except KeyStoreBackendError as error:
            raise self._backend_failure(key, error) from None

    def _hsm_decrypt(self, key: KeyRecord, body: bytes, aad: bytes) -> bytes | None:
        """Plaintext, or None when the HSM rejects the ciphertext (bad tag or context)."""
        backend, cluster_id, password, key_ref = self._hsm_call_parts(key)
        try:
            return backend.decrypt(cluster_id, password, key_ref, body, aad)
        except KeyStoreBackendError as error:
            if error.code == "INTERNAL_ERROR":
                return None
            raise self._backend_failure(key, error) from None
