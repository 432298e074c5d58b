"""The engine's stored state: one dataclass per Storage kind, with ``to_dict``/``from_dict``.

Records are flat JSON-able dicts (``None`` fields are omitted when stored). Key material is
never stored in the clear: ``material`` fields hold ``Sealer`` blobs whose identity is
``kms:<key id>:<material version>``; passwords are sealed under ``kms-keystore:<id>``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Self

__all__ = [
    "ALIAS",
    "GRANT",
    "IMPORT",
    "KEY",
    "KEYSTORE",
    "MATERIAL",
    "SCHEDULE",
    "TAGS",
    "AliasRecord",
    "GrantRecord",
    "KeyRecord",
    "KeyStoreRecord",
    "MaterialRecord",
    "material_identity",
]

KEY = "kms.key"
MATERIAL = "kms.material"
ALIAS = "kms.alias"
GRANT = "kms.grant"
TAGS = "kms.tags"
KEYSTORE = "kms.keystore"
IMPORT = "kms.import"  # GetParametersForImport's wrapping key and token, per token
SCHEDULE = "kms.schedule"


def material_identity(key_id: str, version: int) -> str:
    """The Sealer identity of one version of a key's material."""
    return f"kms:{key_id}:{version}"


def _compact(values: dict[str, Any], defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Drop None and default values: smaller records are cheaper to copy and store."""
    skip = defaults or {}
    return {
        name: value
        for name, value in values.items()
        if value is not None and (name not in skip or skip[name] != value)
    }


class _Record:
    """``to_dict`` (None values left out) and ``from_dict`` for the dataclass records."""

    def to_dict(self) -> dict[str, Any]:
        return _compact(dict(vars(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(**data)


@dataclass(slots=True)
class KeyRecord:
    """A KMS key. ``state`` is Enabled, Disabled, PendingDeletion or (origin EXTERNAL
    without material) PendingImport; ``Unavailable`` is
    computed from the custom key store's connection state, never stored.

    Slotted: every key operation builds one from its stored record, and a slotted instance
    is built in about half the time."""

    key_id: str
    created: float
    key_usage: str
    key_spec: str
    origin: str
    state: str
    policy: str
    description: str = ""
    deletion_date: float | None = None
    pending_window_days: int | None = None
    custom_key_store_id: str | None = None
    hsm_key_ref: str | None = None
    material_version: int = 1
    material: str | None = None  # sealed current material (AWS_KMS origin)
    material_id: str | None = None  # KeyMaterialId of the current material (symmetric only)
    public_key: str | None = None  # base64 DER SubjectPublicKeyInfo (asymmetric keys)
    rotation_period_days: int | None = None  # None: automatic rotation is off
    next_rotation: float | None = None
    on_demand_rotations: int = 0
    # Multi-Region keys: the primary's Region and every Region holding a copy (same id and
    # material in each), kept alike on every copy.
    primary_region: str | None = None
    mrk_regions: list[str] | None = None
    xks_key_id: str | None = None  # the external key of an EXTERNAL_KEY_STORE key
    # Imported material (origin EXTERNAL): its expiry, and a SHA-256 of the first material
    # imported, so that only the same material can come back after a deletion.
    expiration_model: str | None = None
    valid_to: float | None = None
    material_digest: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _compact({name: getattr(self, name) for name in _KEY_FIELDS}, _KEY_DEFAULTS)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeyRecord:
        return cls(**data)

    @property
    def is_symmetric(self) -> bool:
        return self.key_spec == "SYMMETRIC_DEFAULT"


_KEY_DEFAULTS = {"description": "", "material_version": 1, "on_demand_rotations": 0}
_KEY_FIELDS = tuple(field.name for field in fields(KeyRecord))


@dataclass
class MaterialRecord(_Record):
    """One version of a symmetric key's material; version 1 is the original."""

    key_id: str
    version: int
    material: str  # sealed
    material_id: str
    created: float
    rotation_type: str | None = None  # AUTOMATIC or ON_DEMAND; None for the first material


@dataclass
class AliasRecord(_Record):
    alias_name: str
    target_key_id: str
    created: float
    updated: float


@dataclass
class GrantRecord(_Record):
    grant_id: str
    key_id: str
    grantee: str
    operations: list[str]
    created: float
    issuing_account: str
    name: str | None = None
    retiring: str | None = None
    constraints: dict[str, dict[str, str]] | None = None


@dataclass
class KeyStoreRecord(_Record):
    """A custom key store. CloudHSM (``store_type`` AWS_CLOUDHSM): its cluster, trust anchor
    and the sealed kmsuser ``password``. External (EXTERNAL_KEY_STORE): the XKS proxy's
    address and credential (``xks_secret`` sealed); the CloudHSM fields are empty."""

    store_id: str
    name: str
    cluster_id: str
    trust_anchor: str
    password: str
    created: float
    state: str = "DISCONNECTED"
    error_code: str | None = None
    connect_due: float | None = None  # CONNECTING settles at the first tick after this
    store_type: str = "AWS_CLOUDHSM"
    xks_endpoint: str | None = None
    xks_path: str | None = None
    xks_connectivity: str | None = None
    xks_access_key_id: str | None = None
    xks_secret: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # A CloudHSM key store's record stays as it was before external key stores existed.
        return _compact(dict(vars(self)), {"store_type": "AWS_CLOUDHSM"})
