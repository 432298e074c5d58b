"""CloudHSM as a KMS custom key store backend (:class:`emulator.keystore.CustomKeyStoreBackend`).

KMS logs in as the crypto user ``kmsuser`` with the password the key store holds, does one
operation and logs out, exactly like the real service, so every call here is a short session.
Login failures map to AWS ``ConnectionErrorCode`` values.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from emulator.keystore import ClusterInfo, HsmInfo, KeyStoreBackendError

from .engine import CloudHsm, key_reference, parse_key_reference
from .errors import CloudHsmResourceNotFoundException, HsmAvailabilityError, Pkcs11Error

__all__ = ["KMS_USER", "CloudHsmKeyStoreBackend"]

KMS_USER = "kmsuser"

_LOGIN_FAILURES = {
    "CKR_PIN_INCORRECT": "INVALID_CREDENTIALS",
    "CKR_PIN_LEN_RANGE": "INVALID_CREDENTIALS",
    "CKR_PIN_LOCKED": "USER_LOCKED_OUT",
    "CKR_USER_TYPE_INVALID": "USER_NOT_FOUND",
    "CKR_USER_PIN_NOT_INITIALIZED": "INVALID_CREDENTIALS",
    "CKR_TOKEN_NOT_PRESENT": "INSUFFICIENT_CLOUDHSM_HSMS",
}


class CloudHsmKeyStoreBackend:
    """The bridge KMS uses to reach clusters of one :class:`CloudHsm` engine."""

    def __init__(self, engine: CloudHsm) -> None:
        self._engine = engine

    def __repr__(self) -> str:
        return f"CloudHsmKeyStoreBackend({self._engine!r})"

    def cluster_info(self, cluster_id: str) -> ClusterInfo | None:
        """The cluster's state, HSMs and trust anchor, or None when it does not exist."""
        try:
            described = self._engine.describe_clusters({"Filters": {"clusterIds": [cluster_id]}})
        except CloudHsmResourceNotFoundException:
            return None
        if not described["Clusters"]:
            return None
        cluster = described["Clusters"][0]
        anchor = self._engine.trust_anchor(cluster_id)
        return ClusterInfo(
            cluster_id=cluster["ClusterId"],
            state=cluster["State"],
            hsms=[
                HsmInfo(
                    hsm_id=h["HsmId"], availability_zone=h["AvailabilityZone"], state=h["State"]
                )
                for h in cluster["Hsms"]
            ],
            trust_anchor_pem=anchor,
        )

    def _login(self, cluster_id: str, password: str) -> str:
        if self.cluster_info(cluster_id) is None:
            raise KeyStoreBackendError("CLUSTER_NOT_FOUND", f"no cluster {cluster_id}")
        if not self._engine.user_exists(cluster_id, KMS_USER, "crypto-user"):
            raise KeyStoreBackendError("USER_NOT_FOUND", "the cluster has no crypto user kmsuser")
        try:
            return self._engine.login(cluster_id, KMS_USER, password, "crypto-user")
        except Pkcs11Error as exc:
            code = _LOGIN_FAILURES.get(exc.code, "INTERNAL_ERROR")
            raise KeyStoreBackendError(code, exc.message) from None

    def _logout(self, session_id: str) -> None:
        # A session that is already gone needs no cleanup.
        with contextlib.suppress(Pkcs11Error):
            self._engine.close_session(session_id)

    @staticmethod
    def _translate(exc: Pkcs11Error) -> KeyStoreBackendError:
        if isinstance(exc, HsmAvailabilityError):
            return KeyStoreBackendError("INSUFFICIENT_CLOUDHSM_HSMS", exc.message)
        return KeyStoreBackendError("INTERNAL_ERROR", exc.message)

    @contextlib.contextmanager
    def _as_kmsuser(self, cluster_id: str, password: str) -> Iterator[str]:
        """A session logged in as kmsuser, closed afterwards; PKCS#11 errors translated."""
        session_id = self._login(cluster_id, password)
        try:
            yield session_id
        except Pkcs11Error as exc:
            raise self._translate(exc) from None
        finally:
            self._logout(session_id)

    def check_kmsuser(self, cluster_id: str, password: str) -> None:
        """Log in as kmsuser and out again (what ConnectCustomKeyStore does)."""
        self._logout(self._login(cluster_id, password))

    def create_key(self, cluster_id: str, password: str, label: str) -> str:
        """A token AES-256 key owned by kmsuser, non-extractable; returns its key reference."""
        with self._as_kmsuser(cluster_id, password) as session_id:
            handle = self._engine.generate_symmetric(
                session_id,
                "aes",
                32,
                label=label,
                attributes={"encrypt": True, "decrypt": True, "extractable": False},
                token=True,
            )
            return key_reference(handle)

    def encrypt(
        self, cluster_id: str, password: str, key_ref: str, plaintext: bytes, aad: bytes
    ) -> bytes:
        """AES-GCM under the HSM key: nonce (12) + ciphertext + tag (16)."""
        with self._as_kmsuser(cluster_id, password) as session_id:
            return self._engine.encrypt(
                session_id, parse_key_reference(key_ref), "CKM_AES_GCM", plaintext, aad=aad
            )

    def decrypt(
        self, cluster_id: str, password: str, key_ref: str, blob: bytes, aad: bytes
    ) -> bytes:
        """Inverse of :meth:`encrypt`; a bad tag is KeyStoreBackendError("INTERNAL_ERROR")."""
        with self._as_kmsuser(cluster_id, password) as session_id:
            return self._engine.decrypt(
                session_id, parse_key_reference(key_ref), "CKM_AES_GCM", blob, aad=aad
            )

    def delete_key(self, cluster_id: str, password: str, key_ref: str) -> None:
        """Destroy the HSM key."""
        with self._as_kmsuser(cluster_id, password) as session_id:
            self._engine.destroy_key(session_id, parse_key_reference(key_ref))
