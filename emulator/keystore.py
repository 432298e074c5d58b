"""The narrow bridge between KMS custom key stores and a CloudHSM cluster.

KMS (``emulator.kms``) depends only on this protocol; CloudHSM (``emulator.cloudhsm``)
implements it. Errors carry AWS's ``ConnectionErrorCode`` values so KMS can report them the
way DescribeCustomKeyStores does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["ClusterInfo", "CustomKeyStoreBackend", "HsmInfo", "KeyStoreBackendError"]


@dataclass(frozen=True)
class HsmInfo:
    hsm_id: str
    availability_zone: str
    state: str  # CloudHSM HSM state: ACTIVE, DEGRADED, ...


@dataclass(frozen=True)
class ClusterInfo:
    cluster_id: str
    state: str  # CloudHSM cluster state: ACTIVE, DEGRADED, UNINITIALIZED, ...
    hsms: list[HsmInfo] = field(default_factory=list)
    trust_anchor_pem: str | None = None  # the customer CA certificate given at initialize


class KeyStoreBackendError(Exception):
    """A failure talking to the cluster, named by AWS ConnectionErrorCode.

    Codes: CLUSTER_NOT_FOUND, INSUFFICIENT_CLOUDHSM_HSMS, INVALID_CREDENTIALS,
    USER_LOCKED_OUT, USER_NOT_FOUND, USER_LOGGED_IN, NETWORK_ERRORS, INTERNAL_ERROR.
    """

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


class CustomKeyStoreBackend(Protocol):
    def cluster_info(self, cluster_id: str) -> ClusterInfo | None:
        """The cluster as KMS sees it, or None when it does not exist."""
        ...

    def check_kmsuser(self, cluster_id: str, password: str) -> None:
        """Log in as the crypto user ``kmsuser`` and out again; raise KeyStoreBackendError."""
        ...

    def create_key(self, cluster_id: str, password: str, label: str) -> str:
        """Create a token AES-256 key owned by kmsuser, non-extractable; return its reference."""
        ...

    def encrypt(
        self, cluster_id: str, password: str, key_ref: str, plaintext: bytes, aad: bytes
    ) -> bytes:
        """AES-GCM under the HSM key: returns nonce (12) + ciphertext + tag (16)."""
        ...

    def decrypt(
        self, cluster_id: str, password: str, key_ref: str, blob: bytes, aad: bytes
    ) -> bytes:
        """Inverse of ``encrypt``; raise KeyStoreBackendError("INTERNAL_ERROR") on a bad tag."""
        ...

    def delete_key(self, cluster_id: str, password: str, key_ref: str) -> None:
        """Destroy the HSM key (when KMS finishes deleting the KMS key)."""
        ...
