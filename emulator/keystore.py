"""The narrow bridge between KMS custom key stores and a CloudHSM cluster.

KMS (``emulator.kms``) depends only on this protocol; CloudHSM (``emulator.cloudhsm``)
implements it. Errors carry AWS's ``ConnectionErrorCode`` values so KMS can report them the
way DescribeCustomKeyStores does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "ClusterInfo",
    "CustomKeyStoreBackend",
    "HsmInfo",
    "KeyStoreBackendError",
    "XksEndpoint",
    "XksProxy",
    "XksProxyError",
]


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


# --- external key stores --------------------------------------------------------------------


class XksProxyError(Exception):
    """What went wrong talking to an XKS proxy: ``unreachable``, ``malformed`` (a response
    KMS cannot read), or the proxy's own error name (``AuthenticationFailedException``,
    ``KeyNotFoundException``, ``InvalidCiphertextException``, ``InvalidStateException``)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


@dataclass(frozen=True)
class XksEndpoint:
    """Where KMS reaches an XKS proxy and how it signs (the proxy's SigV4 credential)."""

    uri_endpoint: str
    uri_path: str
    access_key_id: str
    secret: str


class XksProxy(Protocol):
    """The XKS Proxy API as KMS calls it (AWS's "External Key Store Proxy API"): JSON in and
    out, binary members base64. Raises XksProxyError."""

    def health(self, endpoint: XksEndpoint) -> dict[str, object]:
        """GetHealthStatus: {"xksProxyFleetSize": n, "ekmVendor": ..., "ekmFleetDetails": [...]}."""
        ...

    def key_metadata(self, endpoint: XksEndpoint, key_id: str) -> dict[str, object]:
        """GetKeyMetadata: {"keySpec": "AES_256", "keyUsage": [...], "keyStatus": "ENABLED"}."""
        ...

    def encrypt(
        self, endpoint: XksEndpoint, key_id: str, plaintext: bytes, aad: bytes
    ) -> dict[str, object]:
        """Encrypt (AES_GCM): {"ciphertext", "initializationVector", "authenticationTag"}."""
        ...

    def decrypt(
        self,
        endpoint: XksEndpoint,
        key_id: str,
        ciphertext: bytes,
        iv: bytes,
        tag: bytes,
        aad: bytes,
    ) -> dict[str, object]:
        """Decrypt: {"plaintext"}."""
        ...
