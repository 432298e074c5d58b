"""Builds the engine (KMS + CloudHSM) of one sandbox account over its ORM storage.

A ``SandboxEngine`` lives for one locked transaction (see ``services.sandbox_call``); the
engine objects keep no state of their own between calls, so a new one per request sees
exactly what earlier requests stored.

Principals: the learner signs in as the account root (``arn:aws:iam::<account>:root``). The
engine has no IAM policies, so a key policy statement naming the root matches the root only
(see ``emulator.kms.policy``); the learner therefore acts as root, which the default key
policy allows, exactly as in a fresh AWS account. Lab 3's second principal is the IAM user
``analyst`` of the same account, whom the default key policy does not name.
"""

from __future__ import annotations

import hashlib
from functools import cached_property

from emulator.cloudhsm import CloudHsm, CloudHsmKeyStoreBackend, HsmError
from emulator.core import OffsetClock, SystemRandom
from emulator.kms import Kms
from emulator.kms.errors import KmsError

from .models import SandboxAccount
from .sealing import sandbox_sealer
from .storage_orm import OrmStorage

ENGINE_ERRORS: tuple[type[Exception], ...] = (KmsError, HsmError)
ZONE_SUFFIXES = ("a", "b", "c")


def principal_arn(account: SandboxAccount, user_name: str) -> str:
    """``root`` is the account root; any other name is an IAM user of the account."""
    if user_name == "root":
        return account.root_arn
    return account.principal_arn(user_name)


def sandbox_subnets(account: SandboxAccount) -> dict[str, str]:
    """The customer VPC's subnets, one per Availability Zone: subnet id -> zone.

    Learners do not build VPCs here; each account gets stable subnet ids to pass to
    ``aws cloudhsmv2 create-cluster --subnet-ids``.
    """
    subnets = {}
    for suffix in ZONE_SUFFIXES:
        zone = f"{account.region}{suffix}"
        digest = hashlib.sha256(f"{account.account_id}:{zone}".encode()).hexdigest()
        subnets[f"subnet-0{digest[:16]}"] = zone
    return subnets


class SandboxEngine:
    """KMS and CloudHSM of one account, sharing one storage, clock and sealer."""

    def __init__(
        self, account: SandboxAccount, storage: OrmStorage, *, principal_user: str = "root"
    ) -> None:
        self.account = account
        self.storage = storage
        self.clock = OffsetClock(account.clock_offset)
        self.random = SystemRandom()
        self.principal = principal_arn(account, principal_user)

    def __repr__(self) -> str:
        return f"SandboxEngine(account={self.account.account_id})"

    @cached_property
    def hsm(self) -> CloudHsm:
        return CloudHsm(
            self.storage,
            self.clock,
            self.random,
            sandbox_sealer(),
            self.account.account_id,
            self.account.region,
            max_clusters=self.account.max_clusters,
            max_hsms=self.account.max_hsms,
            caller=self.principal,
            subnet_zones=sandbox_subnets(self.account),
        )

    @cached_property
    def kms(self) -> Kms:
        return Kms(
            self.storage,
            self.clock,
            self.random,
            sandbox_sealer(),
            self.account.account_id,
            self.account.region,
            keystore_backend=CloudHsmKeyStoreBackend(self.hsm),
            max_keys=self.account.max_kms_keys,
        )

    def kms_call(self, operation: str, params: dict) -> dict:
        """One KMS operation as the engine's principal (engine params: blobs as bytes)."""
        return self.kms.call(self.principal, operation, params)
