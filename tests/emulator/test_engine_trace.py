"""Differential guard for the engine: a seeded random walk over KMS and CloudHSM whose results,
errors, audit events and final storage are pinned by a digest per seed.

A refactoring of ``emulator/`` must leave every digest unchanged. A deliberate change of
behaviour regenerates them: ``python -m tests.emulator.test_engine_trace --write``.
Values that ``cryptography`` randomizes (RSA and EC keys, PSS, ECDSA and OAEP outputs) are
recorded by shape: bytes by length, long strings and
randomized fields masked.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emulator.cloudhsm import CliContext, CloudHsm, CloudHsmKeyStoreBackend, run_command
from emulator.cloudhsm.lab import provision_active_cluster
from emulator.core import Host, ManualClock, MemoryStorage, Sealer, SeededRandom
from emulator.kms import Kms, KmsError

GOLDEN = Path(__file__).parent / "vectors" / "engine_trace.json"
SEEDS = (1, 2, 3, 4)
STEPS = 400
ROOT = "arn:aws:iam::111122223333:root"
OTHER = "arn:aws:iam::111122223333:user/other"
STRANGER = "arn:aws:iam::444455556666:root"
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
# Randomized by cryptography: RSA and EC check values; DER ECDSA signatures vary in length.
RANDOMIZED_FIELDS = frozenset({"check-value", "Signature"})
PASSWORDS = {"alice": "alice-password", "kmsuser": "kmsuser-password"}


def _shape(value: Any) -> Any:
    if isinstance(value, bytes):  # RSA private keys vary by a few bytes: no length past 600
        return f"<{len(value)} bytes>" if len(value) <= 600 else "<long bytes>"
    if isinstance(value, str) and len(value) > 80:
        return "<text>"
    if isinstance(value, dict):
        return {
            key: "<randomized>" if key in RANDOMIZED_FIELDS else _shape(item)
            for key, item in sorted(value.items())
        }
    if isinstance(value, list | tuple):
        return [_shape(item) for item in value]
    return value


class Walk:
    """One engine world and the random choices that drive it."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.clock = ManualClock(START)
        self.storage = MemoryStorage()
        self.sealer = Sealer(bytes(32), SeededRandom(seed + 1000))
        self.hsm = CloudHsm(Host(self.storage, self.clock, SeededRandom(seed), self.sealer))
        self.cluster = provision_active_cluster(
            self.hsm,
            self.clock.advance,
            self.clock.now,
            admin_password="admin-password",
            crypto_users=PASSWORDS,
        )
        self.kms = Kms(
            Host(self.storage, self.clock, SeededRandom(seed + 1), self.sealer),
            keystore_backend=CloudHsmKeyStoreBackend(self.hsm),
        )
        self.cli = CliContext(self.cluster)
        self.keys: list[str] = []
        self.blobs: list[bytes] = []
        self.grants: list[str] = []
        self.stores: list[str] = []
        self.trace: list[Any] = []

    def pick(self, items: list[Any], fallback: Any) -> Any:
        return self.rng.choice(items) if items and self.rng.random() < 0.9 else fallback

    def kms_call(self, operation: str, params: dict[str, Any], principal: str = ROOT) -> Any:
        try:
            result = self.kms.call(principal, operation, params)
        except KmsError as error:
            self.trace.append([operation, error.code, error.message])
            return None
        self.trace.append([operation, _shape(result)])
        return result

    # --- KMS steps ---------------------------------------------------------------------------

    def create_key(self) -> None:
        spec, usage = self.rng.choice(
            [
                ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
                ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
                ("RSA_2048", "ENCRYPT_DECRYPT"),
                ("RSA_2048", "SIGN_VERIFY"),
                ("ECC_NIST_P256", "SIGN_VERIFY"),
                ("HMAC_256", "GENERATE_VERIFY_MAC"),
                ("HMAC_256", "ENCRYPT_DECRYPT"),
            ]
        )
        params: dict[str, Any] = {"KeySpec": spec, "KeyUsage": usage}
        if self.stores and spec == "SYMMETRIC_DEFAULT" and self.rng.random() < 0.3:
            params |= {"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": self.rng.choice(self.stores)}
        result = self.kms_call("CreateKey", params)
        if result:
            self.keys.append(result["KeyMetadata"]["KeyId"])

    def encrypt(self) -> None:
        context = self.rng.choice([None, {"app": "trace"}, {"a": "1", "b": "2"}])
        params: dict[str, Any] = {
            "KeyId": self.pick(self.keys, "alias/missing"),
            "Plaintext": self.rng.randbytes(self.rng.choice([1, 16, 100, 4096, 4097])),
        }
        if context:
            params["EncryptionContext"] = context
        result = self.kms_call("Encrypt", params)
        if result:
            self.blobs.append(result["CiphertextBlob"])

    def decrypt(self) -> None:
        blob = self.pick(self.blobs, self.rng.randbytes(60))
        if self.rng.random() < 0.15:
            blob = blob[:-1] + bytes([blob[-1] ^ 1])
        params: dict[str, Any] = {"CiphertextBlob": blob}
        if self.rng.random() < 0.5:
            params["EncryptionContext"] = self.rng.choice([{"app": "trace"}, {"a": "1", "b": "2"}])
        self.kms_call("Decrypt", params, self.rng.choice([ROOT, ROOT, OTHER]))

    def key_state_change(self) -> None:
        operation = self.rng.choice(
            [
                "DisableKey",
                "EnableKey",
                "ScheduleKeyDeletion",
                "CancelKeyDeletion",
                "EnableKeyRotation",
                "RotateKeyOnDemand",
                "DescribeKey",
                "GetKeyRotationStatus",
            ]
        )
        params: dict[str, Any] = {
            "KeyId": self.pick(self.keys, "1234abcd-0000-0000-0000-000000000000")
        }
        if operation == "ScheduleKeyDeletion":
            params["PendingWindowInDays"] = self.rng.choice([7, 30, 3])
        self.kms_call(operation, params)

    def data_key(self) -> None:
        operation = self.rng.choice(
            ["GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair"]
        )
        params: dict[str, Any] = {"KeyId": self.pick(self.keys, "alias/none")}
        if operation == "GenerateDataKeyPair":
            params["KeyPairSpec"] = self.rng.choice(["RSA_2048", "ECC_NIST_P256"])
        else:
            params[self.rng.choice(["KeySpec", "NumberOfBytes"])] = self.rng.choice(
                ["AES_256", 32, 0]
            )
        result = self.kms_call(operation, params)
        if result and "CiphertextBlob" in result:
            self.blobs.append(result["CiphertextBlob"])

    def sign_or_mac(self) -> None:
        key = self.pick(self.keys, "alias/none")
        message = self.rng.randbytes(20)
        if self.rng.random() < 0.5:
            algorithm = self.rng.choice(
                ["RSASSA_PKCS1_V1_5_SHA_256", "ECDSA_SHA_256", "RSASSA_PSS_SHA_256"]
            )
            result = self.kms_call(
                "Sign", {"KeyId": key, "Message": message, "SigningAlgorithm": algorithm}
            )
            if result:
                self.kms_call(
                    "Verify",
                    {
                        "KeyId": key,
                        "Message": message if self.rng.random() < 0.7 else b"other",
                        "Signature": result["Signature"],
                        "SigningAlgorithm": algorithm,
                    },
                )
        else:
            result = self.kms_call(
                "GenerateMac", {"KeyId": key, "Message": message, "MacAlgorithm": "HMAC_SHA_256"}
            )
            if result:
                self.kms_call(
                    "VerifyMac",
                    {
                        "KeyId": key,
                        "Message": message if self.rng.random() < 0.7 else b"other",
                        "Mac": result["Mac"],
                        "MacAlgorithm": "HMAC_SHA_256",
                    },
                )

    def aliases_and_grants(self) -> None:
        choice = self.rng.random()
        key = self.pick(self.keys, "alias/none")
        if choice < 0.3:
            name = f"alias/trace-{self.rng.randrange(5)}"
            self.kms_call(
                self.rng.choice(["CreateAlias", "UpdateAlias"]),
                {"AliasName": name, "TargetKeyId": key},
            )
        elif choice < 0.6:
            result = self.kms_call(
                "CreateGrant",
                {
                    "KeyId": key,
                    "GranteePrincipal": OTHER,
                    "Operations": self.rng.choice([["Decrypt"], ["Encrypt", "Decrypt"], ["Sign"]]),
                },
            )
            if result:
                self.grants.append(result["GrantId"])
        elif choice < 0.8 and self.grants:
            self.kms_call("RevokeGrant", {"KeyId": key, "GrantId": self.rng.choice(self.grants)})
        else:
            self.kms_call(
                self.rng.choice(["ListAliases", "ListKeys", "ListGrants"]),
                {"KeyId": key}
                if self.rng.random() < 0.3
                else {"Limit": self.rng.choice([1, 5, 100])},
            )

    def policy(self) -> None:
        key = self.pick(self.keys, "alias/none")
        statement = {
            "Sid": "Other",
            "Effect": self.rng.choice(["Allow", "Deny"]),
            "Principal": {"AWS": OTHER},
            "Action": self.rng.choice(["kms:Encrypt", "kms:*", "kms:Decrypt"]),
            "Resource": "*",
        }
        root = {
            "Sid": "Root",
            "Effect": "Allow",
            "Principal": {"AWS": ROOT},
            "Action": "kms:*",
            "Resource": "*",
        }
        policy = {"Version": "2012-10-17", "Statement": [root, statement]}
        self.kms_call(
            "PutKeyPolicy", {"KeyId": key, "PolicyName": "default", "Policy": json.dumps(policy)}
        )
        self.kms_call(
            "Encrypt", {"KeyId": key, "Plaintext": b"p"}, self.rng.choice([OTHER, STRANGER])
        )

    def key_store(self) -> None:
        if not self.stores:
            anchor = self.hsm.trust_anchor(self.cluster)
            result = self.kms_call(
                "CreateCustomKeyStore",
                {
                    "CustomKeyStoreName": "trace-store",
                    "CloudHsmClusterId": self.cluster,
                    "TrustAnchorCertificate": anchor,
                    "KeyStorePassword": PASSWORDS["kmsuser"],
                },
            )
            if result:
                self.stores.append(result["CustomKeyStoreId"])
            return
        operation = self.rng.choice(
            [
                "ConnectCustomKeyStore",
                "ConnectCustomKeyStore",
                "DisconnectCustomKeyStore",
                "DescribeCustomKeyStores",
            ]
        )
        self.kms_call(operation, {"CustomKeyStoreId": self.stores[0]})

    # --- CloudHSM steps ----------------------------------------------------------------------

    def hsm_cli(self) -> None:
        label = f"k{self.rng.randrange(6)}"
        line = self.rng.choice(
            [
                "login --username alice --role crypto-user --password alice-password",
                "login --username alice --role crypto-user --password wrong-password",
                "logout",
                f"key generate-symmetric aes --label {label} --key-length-bytes 32",
                f"key generate-symmetric aes --label {label} --key-length-bytes 7",
                f"key generate-asymmetric-pair ec --curve secp256r1 --public-label {label}p --private-label {label}",
                f"key list --filter attr.label={label}",
                f"key delete --filter attr.label={label}",
                f"crypto encrypt aes-gcm --key-filter attr.label={label} --data "
                + base64.b64encode(self.rng.randbytes(10)).decode(),
                "user list",
                "cluster hsm-info",
            ]
        )
        result = run_command(self.hsm, self.cli, line)
        self.trace.append(["cli", line, _shape(result)])

    def hsm_control(self) -> None:
        operation = self.rng.choice(["describe_clusters", "describe_backups", "advance"])
        if operation == "advance":
            self.clock.advance(dt.timedelta(hours=self.rng.choice([1, 25, 24 * 8])))
            self.trace.append(["advance", self.kms.tick()])
            return
        self.trace.append([operation, _shape(getattr(self.hsm, operation)({}))])

    def run(self, steps: int) -> list[Any]:
        moves: list[tuple[Callable[[], None], int]] = [
            (self.create_key, 5),
            (self.encrypt, 8),
            (self.decrypt, 8),
            (self.key_state_change, 5),
            (self.data_key, 4),
            (self.sign_or_mac, 4),
            (self.aliases_and_grants, 4),
            (self.policy, 2),
            (self.key_store, 2),
            (self.hsm_cli, 6),
            (self.hsm_control, 2),
        ]
        actions, weights = zip(*moves, strict=True)
        for _ in range(steps):
            self.rng.choices(actions, weights)[0]()
            self.clock.advance(dt.timedelta(seconds=self.rng.randrange(1, 90)))
        storage = {
            kind: [[object_id, _shape(data)] for object_id, data in sorted(self.storage.list(kind))]
            for kind in sorted(self.storage)
        }
        events = {log: _shape(self.storage.events(log)) for log in ("kms", "hsm")}
        return [self.trace, events, storage]


def trace_digest(seed: int, steps: int = STEPS) -> str:
    text = json.dumps(Walk(seed).run(steps), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("seed", SEEDS)
def test_engine_behaviour_is_unchanged(seed: int) -> None:
    golden = json.loads(GOLDEN.read_text())
    assert trace_digest(seed) == golden[str(seed)]


def test_the_walk_is_deterministic() -> None:
    assert trace_digest(9, 60) == trace_digest(9, 60)


if __name__ == "__main__" and "--write" in sys.argv:
    GOLDEN.write_text(
        json.dumps({str(seed): trace_digest(seed) for seed in SEEDS}, indent=2) + "\n"
    )
