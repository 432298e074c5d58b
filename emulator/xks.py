"""The sandbox's external key manager behind an XKS proxy: the "outside AWS" half of an
external key store (XKS), with its state in the host's storage like everything else.

It answers the XKS Proxy API (``emulator.keystore.XksProxy``) at one address
(``PROXY_ENDPOINT`` + ``PROXY_PATH``), checks the proxy credential KMS signs with, and keeps
AES-256 keys that never leave it: KMS sends it data to encrypt and decrypt, nothing more. A
learner manages it like an on-premises key manager (create, disable, enable keys), reads the
proxy credential to give KMS, and can make the proxy unreachable or answer malformed
responses, to see what KMS does then.
"""

from __future__ import annotations

import base64
import hmac
import re
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from emulator.core import RandomSource, Sealer, Storage
from emulator.keystore import XksEndpoint, XksProxyError

__all__ = ["MODES", "PROXY_ENDPOINT", "PROXY_PATH", "ExternalKeyManager"]

PROXY_ENDPOINT = "https://xks.sandbox.internal"
PROXY_PATH = "/kms/xks/v1"
MODES = ("healthy", "unreachable", "malformed")
KEY = "xks.key"
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
PROXY = "xks.proxy"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class ExternalKeyManager:
    """Keys, the proxy credential and the proxy's behaviour of one sandbox account."""

    def __init__(self, storage: Storage, sealer: Sealer, random: RandomSource) -> None:
        self._storage = storage
        self._sealer = sealer
        self._random = random

    # --- the key manager, as its administrator sees it -------------------------------------

    def credential(self) -> tuple[str, str]:
        """The proxy's SigV4 credential (made on first use): give it to CreateCustomKeyStore."""
        record = self._storage.get(PROXY, "proxy")
        if record is None:
            access_key_id = "XKS" + self._random.token_bytes(10).hex().upper()[:17]
            secret = base64.b64encode(self._random.token_bytes(33)).decode("ascii")
            record = {
                "access_key_id": access_key_id,
                "secret": self._sealer.seal(secret.encode(), "xks-proxy-secret"),
                "mode": "healthy",
            }
            self._storage.put(PROXY, "proxy", record)
        secret_text = self._sealer.unseal(record["secret"], "xks-proxy-secret").decode()
        return str(record["access_key_id"]), secret_text

    def mode(self) -> str:
        record = self._storage.get(PROXY, "proxy")
        return str(record["mode"]) if record else "healthy"

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode is one of {', '.join(MODES)}")
        self.credential()
        record = dict(self._storage.get(PROXY, "proxy") or {})
        record["mode"] = mode
        self._storage.put(PROXY, "proxy", record)

    def create_key(self, key_id: str) -> None:
        if not _KEY_ID.match(key_id):
            raise ValueError("an external key id is 1 to 128 letters, digits, '.', '_' or '-'")
        if self._storage.get(KEY, key_id) is not None:
            raise ValueError(f"the external key {key_id} exists already")
        material = self._random.token_bytes(32)
        self._storage.put(
            KEY,
            key_id,
            {"material": self._sealer.seal(material, f"xks-key:{key_id}"), "status": "ENABLED"},
        )

    def set_status(self, key_id: str, status: str) -> None:
        record = self._storage.get(KEY, key_id)
        if record is None:
            raise ValueError(f"there is no external key {key_id}")
        self._storage.put(KEY, key_id, {**record, "status": status})

    def keys(self) -> list[tuple[str, str]]:
        return sorted((key_id, str(data["status"])) for key_id, data in self._storage.list(KEY))

    # --- the XKS Proxy API, as KMS calls it -----------------------------------------------

    def health(self, endpoint: XksEndpoint) -> dict[str, object]:
        self._check(endpoint)
        if self.mode() == "malformed":
            return {"status": "probably fine"}
        return {
            "xksProxyFleetSize": 2,
            "xksProxyVendor": "Key Decisions sandbox",
            "ekmVendor": "Sandbox external key manager",
            "ekmFleetDetails": [{"id": "ekm-1", "model": "emulated", "healthStatus": "ACTIVE"}],
        }

    def key_metadata(self, endpoint: XksEndpoint, key_id: str) -> dict[str, object]:
        self._check(endpoint)
        record = self._key(key_id)
        return {
            "keySpec": "AES_256",
            "keyUsage": ["ENCRYPT", "DECRYPT"],
            "keyStatus": record["status"],
        }

    def encrypt(
        self, endpoint: XksEndpoint, key_id: str, plaintext: bytes, aad: bytes
    ) -> dict[str, object]:
        self._check(endpoint)
        aead = self._usable(key_id)
        if self.mode() == "malformed":
            return {"ciphertext": "not base64!"}
        iv = self._random.token_bytes(12)
        sealed = aead.encrypt(iv, plaintext, aad)
        return {
            "ciphertext": _b64(sealed[:-16]),
            "initializationVector": _b64(iv),
            "authenticationTag": _b64(sealed[-16:]),
        }

    def decrypt(
        self,
        endpoint: XksEndpoint,
        key_id: str,
        ciphertext: bytes,
        iv: bytes,
        tag: bytes,
        aad: bytes,
    ) -> dict[str, object]:
        self._check(endpoint)
        aead = self._usable(key_id)
        if self.mode() == "malformed":
            return {"plaintext": 42}
        try:
            plaintext = aead.decrypt(iv, ciphertext + tag, aad)
        except InvalidTag:
            raise XksProxyError("InvalidCiphertextException") from None
        return {"plaintext": _b64(plaintext)}

    def _check(self, endpoint: XksEndpoint) -> None:
        """Only this proxy's address answers, and only to its own credential."""
        address_ok = endpoint.uri_endpoint.rstrip("/") == PROXY_ENDPOINT and (
            endpoint.uri_path == PROXY_PATH or endpoint.uri_path.endswith(PROXY_PATH)
        )
        if not address_ok or self.mode() == "unreachable":
            raise XksProxyError("unreachable", f"No XKS proxy answers at {endpoint.uri_endpoint}.")
        access_key_id, secret = self.credential()
        if endpoint.access_key_id != access_key_id or not hmac.compare_digest(
            endpoint.secret, secret
        ):
            raise XksProxyError("AuthenticationFailedException")

    def _key(self, key_id: str) -> dict[str, Any]:
        record = self._storage.get(KEY, key_id)
        if record is None:
            raise XksProxyError("KeyNotFoundException", f"No external key {key_id}.")
        return record

    def _usable(self, key_id: str) -> AESGCM:
        record = self._key(key_id)
        if record["status"] != "ENABLED":
            raise XksProxyError("InvalidStateException", f"The external key {key_id} is disabled.")
        return AESGCM(self._sealer.unseal(record["material"], f"xks-key:{key_id}"))
