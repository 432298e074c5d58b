"""Shared fixtures and fakes for the KMS engine tests (no Django, no database).

Imported by the other ``test_kms_*`` modules; holds no tests of its own.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from emulator.core import Host, ManualClock, MemoryStorage, Sealer, SeededRandom
from emulator.keystore import ClusterInfo, HsmInfo, KeyStoreBackendError
from emulator.kms import Kms
from emulator.kms.records import KEY, material_identity

ACCOUNT = "111122223333"
REGION = "us-east-1"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
APP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
APP_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/session-1"
OTHER_ACCOUNT = "444455556666"
OUTSIDER = f"arn:aws:iam::{OTHER_ACCOUNT}:user/mallory"
OUTSIDE_ROOT = f"arn:aws:iam::{OTHER_ACCOUNT}:root"
MASTER_KEY = bytes(range(32))
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

CLUSTER_ID = "cluster-abcdefghijk"
OTHER_CLUSTER_ID = "cluster-zyxwvutsrqp"
KMSUSER_PASSWORD = "kmsPassword1"
TRUST_ANCHOR = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGUtYXV0aG9yaXR5LXRlc3QwCgYIKoZI\n"
    "zj0EAwIwHDEaMBgGA1UEAwwRQ3VzdG9tZXIgSFNNIENBIDEwHhcNMjYwMTAxMDAw\n"
    "-----END CERTIFICATE-----\n"
)
OTHER_TRUST_ANCHOR = TRUST_ANCHOR.replace("Q2VydGlm", "T3RoZXJD")


class FakeCloudHsm:
    """A ``CustomKeyStoreBackend`` in a few dicts: clusters, the kmsuser password, AES keys.

    Stands in for ``emulator.cloudhsm`` (built separately) in these tests.
    """

    def __init__(self) -> None:
        self.clusters: dict[str, ClusterInfo] = {}
        self.passwords: dict[str, str] = {}
        self.locked: set[str] = set()
        self.keys: dict[str, bytes] = {}
        self.deleted: list[str] = []
        self.failing: str | None = None  # a KeyStoreBackendError code crypto calls raise

    def add_cluster(
        self,
        cluster_id: str = CLUSTER_ID,
        *,
        state: str = "ACTIVE",
        zones: tuple[str, ...] = ("us-east-1a", "us-east-1b"),
        trust_anchor: str | None = TRUST_ANCHOR,
        password: str = KMSUSER_PASSWORD,
    ) -> None:
        hsms = [
            HsmInfo(f"hsm-{i}{cluster_id[-4:]}", zone, "ACTIVE") for i, zone in enumerate(zones)
        ]
        self.clusters[cluster_id] = ClusterInfo(cluster_id, state, hsms, trust_anchor)
        self.passwords[cluster_id] = password

    def set_state(self, cluster_id: str, state: str) -> None:
        self.clusters[cluster_id] = replace(self.clusters[cluster_id], state=state)

    def cluster_info(self, cluster_id: str) -> ClusterInfo | None:
        return self.clusters.get(cluster_id)

    def check_kmsuser(self, cluster_id: str, password: str) -> None:
        if cluster_id not in self.clusters:
            raise KeyStoreBackendError("CLUSTER_NOT_FOUND")
        if cluster_id in self.locked:
            raise KeyStoreBackendError("USER_LOCKED_OUT")
        if password != self.passwords[cluster_id]:
            raise KeyStoreBackendError("INVALID_CREDENTIALS")

    def create_key(self, cluster_id: str, password: str, label: str) -> str:
        self.check_kmsuser(cluster_id, password)
        reference = f"{cluster_id}/key-{len(self.keys) + 1}"
        self.keys[reference] = AESGCM.generate_key(bit_length=256)
        return reference

    def encrypt(
        self, cluster_id: str, password: str, key_ref: str, plaintext: bytes, aad: bytes
    ) -> bytes:
        self.check_kmsuser(cluster_id, password)
        if self.failing:
            raise KeyStoreBackendError(self.failing)
        nonce = b"\x07" * 12
        return nonce + AESGCM(self.keys[key_ref]).encrypt(nonce, plaintext, aad)

    def decrypt(
        self, cluster_id: str, password: str, key_ref: str, blob: bytes, aad: bytes
    ) -> bytes:
        self.check_kmsuser(cluster_id, password)
        if self.failing:
            raise KeyStoreBackendError(self.failing)
        try:
            return AESGCM(self.keys[key_ref]).decrypt(blob[:12], blob[12:], aad)
        except InvalidTag:
            raise KeyStoreBackendError("INTERNAL_ERROR") from None

    def delete_key(self, cluster_id: str, password: str, key_ref: str) -> None:
        self.check_kmsuser(cluster_id, password)
        self.keys.pop(key_ref)
        self.deleted.append(key_ref)


@dataclass
class Env:
    storage: MemoryStorage
    clock: ManualClock
    sealer: Sealer
    backend: FakeCloudHsm
    options: dict[str, Any] = field(default_factory=dict)

    def kms(self, **options: Any) -> Kms:
        """A fresh ``Kms`` over the same storage, as the sandbox makes one per request."""
        return Kms(
            Host(
                self.storage, self.clock, SeededRandom(len(self.storage.events("kms"))), self.sealer
            ),
            account_id=ACCOUNT,
            region=REGION,
            keystore_backend=self.backend,
            **{**self.options, **options},
        )

    def events(self) -> list[dict[str, Any]]:
        return self.storage.events("kms")

    def last_event(self) -> dict[str, Any]:
        return self.events()[-1]

    def key_record(self, key_id: str) -> dict[str, Any]:
        record = self.storage.get(KEY, f"{ACCOUNT}:{REGION}:{key_id}")
        assert record is not None
        return record

    def material(self, key_id: str, version: int | None = None) -> bytes:
        """The raw key material, opened with the Sealer: only a test may do this."""
        record = self.key_record(key_id)
        if version is None or version == record.get("material_version", 1):
            sealed = record["material"]
            version = record.get("material_version", 1)
        else:
            stored = self.storage.get("kms.material", f"{ACCOUNT}:{REGION}:{key_id}/{version:06d}")
            assert stored is not None
            sealed = stored["material"]
        return self.sealer.unseal(sealed, material_identity(key_id, version))


@pytest.fixture
def env() -> Env:
    return Env(MemoryStorage(), ManualClock(START), Sealer(MASTER_KEY), FakeCloudHsm())


@pytest.fixture
def kms(env: Env) -> Kms:
    return env.kms()


def new_key(kms: Kms, principal: str = ROOT, **params: Any) -> str:
    key_id: str = kms.create_key(principal, params)["KeyMetadata"]["KeyId"]
    return key_id


def arn_of(key_id: str) -> str:
    return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"


def statement(effect: str, principal: Any, action: Any, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Effect": effect,
        "Principal": principal if principal == "*" else {"AWS": principal},
        "Action": action,
        "Resource": "*",
    }
    body.update(extra)
    return body


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ROOT_ADMIN = statement("Allow", ROOT, "kms:*", Sid="Enable IAM User Permissions")


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Overrides tests/conftest.py's Django cache reset: engine tests never touch Django, so
    they also run with ``-p no:django`` and no settings."""
