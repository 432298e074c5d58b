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

import base64
import binascii
import functools
import hashlib
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from emulator.cloudhsm import (
    CliContext,
    CloudHsm,
    CloudHsmInvalidRequestException,
    CloudHsmKeyStoreBackend,
    HsmError,
    Pkcs11Error,
    key_reference,
    run_command,
)
from emulator.cloudhsm.cli import COMMANDS as HSM_COMMANDS
from emulator.cloudhsm.pkcs11.bridge import main as hsm_client_main
from emulator.cloudhsm.pkcs11.wire import execute as hsm_client_call
from emulator.cloudhsm.pkcs11.wire import from_json as wire_from_json
from emulator.cloudhsm.pkcs11.wire import to_json as wire_to_json
from emulator.cloudhsm.pki import create_ca, sign_csr
from emulator.core import EngineError, Host, OffsetClock, Sealer, SealingError, SystemRandom
from emulator.inventory import Cluster, HsmKey, Inventory, KmsKey
from emulator.kms import Decision, Kms
from emulator.kms import iam as kms_iam
from emulator.kms.errors import KmsError, UnknownOperationException
from emulator.kms.schema import OPERATION_SCHEMAS
from emulator.kms.validation import decode_request, encode_response
from emulator.s3 import S3, CustomerKey, ObjectHead, S3Error, SseRequest
from emulator.s3.service import INVOKED_BY as S3_SERVICE
from emulator.xks import MODES as XKS_MODES
from emulator.xks import PROXY_ENDPOINT as XKS_PROXY_ENDPOINT
from emulator.xks import PROXY_PATH as XKS_PROXY_PATH
from emulator.xks import ExternalKeyManager

from .models import SandboxAccount
from .storage_orm import OrmStorage

# What the rest of the sandbox may use of the engine: nothing else imports ``emulator``.
__all__ = [
    "HSM_COMMANDS",
    "OPERATION_SCHEMAS",
    "PKCS11_CLIENT",
    "S3",
    "XKS_MODES",
    "XKS_PROXY_ENDPOINT",
    "XKS_PROXY_PATH",
    "CliContext",
    "CloudHsm",
    "CloudHsmInvalidRequestException",
    "Cluster",
    "CustomerKey",
    "Decision",
    "EngineError",
    "ExternalKeyManager",
    "HsmError",
    "HsmKey",
    "Inventory",
    "KmsError",
    "KmsKey",
    "ObjectHead",
    "OffsetClock",
    "Pkcs11Error",
    "S3Error",
    "SandboxEngine",
    "Sealer",
    "SealingError",
    "SseRequest",
    "UnknownOperationException",
    "create_ca",
    "decode_request",
    "encode_response",
    "hsm_client_call",
    "hsm_client_main",
    "key_reference",
    "principal_arn",
    "regions_of",
    "run_command",
    "sandbox_regions",
    "sandbox_sealer",
    "sandbox_subnets",
    "sign_csr",
    "wire_from_json",
    "wire_to_json",
]

ZONE_SUFFIXES = ("a", "b", "c")
PKCS11_CLIENT = "CloudHSM PKCS #11 library"


@functools.cache
def _sealer_for(master_key: str) -> Sealer:
    try:
        raw = base64.b64decode(master_key.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ImproperlyConfigured("SANDBOX_MASTER_KEY must be base64") from None
    if len(raw) != 32:
        raise ImproperlyConfigured("SANDBOX_MASTER_KEY must decode to 32 bytes")
    return Sealer(raw)


def sandbox_sealer() -> Sealer:
    """The Sealer for engine key material and access-key secrets (cached per master key)."""
    return _sealer_for(settings.SANDBOX_MASTER_KEY)


def principal_arn(account: SandboxAccount, user_name: str) -> str:
    """``root`` is the account root, ``role/<name>`` a console session of that role; any
    other name is an IAM user of the account."""
    if user_name == "root":
        return account.root_arn
    if user_name.startswith("role/"):
        role = user_name.removeprefix("role/")
        return f"arn:aws:sts::{account.account_id}:assumed-role/{role}/console"
    return account.principal_arn(user_name)


def sandbox_regions(account: SandboxAccount) -> tuple[str, str]:
    """The account's home Region and the second Region multi-Region keys can go to."""
    return regions_of(account.region)


def regions_of(home: str) -> tuple[str, str]:
    return home, ("us-west-2" if home != "us-west-2" else "us-east-1")


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
    def host(self) -> Host:
        """What every engine of the account is built over: one storage, clock, randomness
        and sealer."""
        return Host(self.storage, self.clock, self.random, sandbox_sealer())

    @property
    def _where(self) -> tuple[str, str]:
        return self.account.account_id, self.account.region

    def _cloudhsm(self, client: str | None = None) -> CloudHsm:
        return CloudHsm(
            self.host,
            *self._where,
            max_clusters=self.account.max_clusters,
            max_hsms=self.account.max_hsms,
            caller=self.principal,
            subnet_zones=sandbox_subnets(self.account),
            client=client,
        )

    @cached_property
    def hsm(self) -> CloudHsm:
        return self._cloudhsm()

    @cached_property
    def pkcs11_hsm(self) -> CloudHsm:
        """The HSMs as the CloudHSM PKCS #11 client reaches them: audit events carry
        ``source`` PKCS11_CLIENT."""
        return self._cloudhsm(PKCS11_CLIENT)

    @cached_property
    def xks(self) -> ExternalKeyManager:
        """The external key manager behind the account's XKS proxy (outside "AWS")."""
        return ExternalKeyManager(self.host.storage, self.host.sealer, self.host.random)

    @cached_property
    def kms(self) -> Kms:
        kms = Kms(
            self.host,
            *self._where,
            keystore_backend=CloudHsmKeyStoreBackend(self.hsm),
            max_keys=self.account.max_kms_keys,
            xks_proxy=self.xks,
        )
        kms.regions = sandbox_regions(self.account)
        return kms

    def kms_in(self, region: str) -> Kms:
        """KMS in one of the account's Regions (the second one holds multi-Region replicas)."""
        if region == self.account.region:
            return self.kms
        kms = Kms(self.host, self.account.account_id, region, max_keys=self.account.max_kms_keys)
        kms.regions = sandbox_regions(self.account)
        return kms

    @cached_property
    def s3_kms(self) -> Kms:
        """KMS as S3 reaches it for SSE-KMS: the calls are the principal's, with ``invokedBy``
        s3.amazonaws.com in the audit log and ``kms:ViaService`` s3.<region>.amazonaws.com."""
        for_s3 = Kms(
            self.host,
            *self._where,
            keystore_backend=CloudHsmKeyStoreBackend(self.hsm),
            max_keys=self.account.max_kms_keys,
            xks_proxy=self.xks,
        )
        for_s3._audit.invoked_by = S3_SERVICE
        for_s3.via_service = f"s3.{self.account.region}.amazonaws.com"
        return for_s3

    @cached_property
    def s3(self) -> S3:
        """S3 of the account, calling KMS through ``s3_kms``."""
        return S3(self.host, *self._where, kms=self.s3_kms, principal=self.principal)

    def iam_put_policy(self, owner_arn: str, name: str, document: str) -> None:
        kms_iam.put_policy(self.kms, owner_arn, name, document)

    def iam_get_policy(self, owner_arn: str, name: str) -> str:
        return kms_iam.get_policy(self.kms, owner_arn, name)

    def iam_list_policies(self, owner_arn: str) -> list[str]:
        return kms_iam.list_policies(self.kms, owner_arn)

    def iam_delete_policy(self, owner_arn: str, name: str) -> None:
        kms_iam.delete_policy(self.kms, owner_arn, name)

    def kms_call(
        self, operation: str, params: dict[str, Any], region: str | None = None
    ) -> dict[str, Any]:
        """One KMS operation as the engine's principal (engine params: blobs as bytes), in
        the home Region or ``region``."""
        kms = self.kms_in(region) if region else self.kms
        return kms.call(self.principal, operation, params)

    def inventory(self) -> Inventory:
        """The account's KMS and CloudHSM after the clock's due work, read without auditing
        (looking at the sandbox writes no CloudTrail events)."""
        self.hsm.process_due()
        self.kms.tick()
        return Inventory.from_records(
            self.storage.records(),
            key_state=self.kms.key_state,
            now=self.clock.now(),
            region=self.account.region,
        )
