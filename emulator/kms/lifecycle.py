"""Time-based effects: what ``tick`` applies when the clock says it is due (deletions that
finish, automatic rotations, custom key stores left CONNECTING), and the shared steps behind
them (new key material, deleting a key now, settling a connection).
"""

from __future__ import annotations

import contextlib

from emulator.core import SealingError
from emulator.keystore import KeyStoreBackendError
from emulator.kms import xks_bridge
from emulator.kms.errors import KMSInternalException
from emulator.kms.records import (
    ALIAS,
    GRANT,
    IMPORT,
    KEY,
    KEYSTORE,
    MATERIAL,
    SCHEDULE,
    TAGS,
    KeyRecord,
    KeyStoreRecord,
    MaterialRecord,
    material_identity,
)
from emulator.kms.state import DAY, JSON, SERVICE_PRINCIPAL, KmsState


def schedule(kms: KmsState, when: float) -> None:
    """Make sure ``tick`` looks again no later than ``when``."""
    record = kms._get(SCHEDULE, "due")
    due = record.get("next_due") if record else None
    if due is None or when < due:
        kms._put(SCHEDULE, "due", {"next_due": when})


def tick(kms: KmsState) -> list[JSON]:
    """Apply what the clock says is due; every operation calls this first.

    Finishes deletions whose DeletionDate has passed, rotates keys whose automatic
    rotation is due (once per elapsed period; disabled keys wait until re-enabled), and
    settles custom key stores left CONNECTING. Returns the effects, also written to the
    audit log with the principal ``kms.amazonaws.com``. Cheap when nothing is due: one
    read of a single small record.
    """
    return apply_due(kms, kms._now())


def apply_due(kms: KmsState, now: float) -> list[JSON]:
    """``tick`` at the clock reading ``now``."""
    record = kms._storage.get(SCHEDULE, kms._due_id)
    due = record.get("next_due") if record else None
    if due is None or due > now:
        return []
    effects: list[JSON] = []
    next_due: float | None = None

    def later(when: float | None) -> None:
        nonlocal next_due
        if when is not None and (next_due is None or when < next_due):
            next_due = when

    # Stores first: a key deleted in this tick needs its store's settled connection.
    for _, data in kms._scan(KEYSTORE):
        store = KeyStoreRecord.from_dict(data)
        if store.connect_due is None:
            continue
        if store.connect_due <= now:
            _settle_connection(kms, store)
            detail = {"ConnectionState": store.state}
            if store.error_code is not None:
                detail["ConnectionErrorCode"] = store.error_code
            effects.append(
                {
                    "operation": "ConnectCustomKeyStore",
                    "target": store.store_id,
                    "detail": detail,
                }
            )
        else:
            later(store.connect_due)
    for _, data in kms._scan(KEY):
        key = KeyRecord.from_dict(data)
        if key.state == "PendingDeletion" and key.deletion_date is not None:
            if key.deletion_date <= now:
                _delete_key_now(kms, key)
                effects.append({"operation": "DeleteKey", "target": kms.key_arn(key.key_id)})
            else:
                later(key.deletion_date)
            continue
        if key.valid_to is not None:
            if key.valid_to <= now:
                forget_imported_material(kms, key)
                arn = kms.key_arn(key.key_id)
                effects.append({"operation": "DeleteExpiredKeyMaterial", "target": arn})
            else:
                later(key.valid_to)
            continue
        if key.state == "Enabled" and key.next_rotation is not None and key.rotation_period_days:
            rotations = 0
            while key.next_rotation <= now and rotations < 1000:
                rotate_material(kms, key, "AUTOMATIC", key.next_rotation)
                key.next_rotation += key.rotation_period_days * DAY
                rotations += 1
                effects.append({"operation": "RotateKey", "target": kms.key_arn(key.key_id)})
            if rotations:
                kms._put_key(key)
            later(key.next_rotation)
    kms._put(SCHEDULE, "due", {"next_due": next_due})
    for effect in effects:
        kms._audit.record(
            principal=SERVICE_PRINCIPAL,
            operation=effect["operation"],
            target=effect["target"],
            result="Success",
            detail=effect.get("detail"),
        )
    return effects


def rotate_material(kms: KmsState, key: KeyRecord, rotation_type: str, when: float) -> None:
    """Give ``key`` new current material; old versions stay for decryption."""
    version = key.material_version + 1
    material = MaterialRecord(
        key_id=key.key_id,
        version=version,
        material=kms._sealer.seal(
            kms._random.token_bytes(32), material_identity(key.key_id, version)
        ),
        material_id=kms._random_hex(32),
        created=when,
        rotation_type=rotation_type,
    )
    kms._put(MATERIAL, f"{key.key_id}/{version:06d}", material.to_dict())
    key.material_version = version
    key.material = material.material
    key.material_id = material.material_id


def forget_imported_material(kms: KmsState, key: KeyRecord) -> None:
    """Imported material deleted (DeleteImportedKeyMaterial, or its ValidTo passed): the key
    waits in PendingImport; its digest stays, so only the same material comes back."""
    key.material = None
    key.valid_to = None
    key.expiration_model = None
    if key.state != "PendingDeletion":
        key.state = "PendingImport"
    kms._put_key(key)


def _delete_key_now(kms: KmsState, key: KeyRecord) -> None:
    if key.hsm_key_ref and key.custom_key_store_id and kms._backend is not None:
        store = kms._get_store(key.custom_key_store_id)
        if store is not None and store.state == "CONNECTED":
            # As in AWS, an HSM key that cannot be deleted now is left to the customer.
            with contextlib.suppress(KeyStoreBackendError):
                kms._backend.delete_key(
                    store.cluster_id, store_password(kms, store), key.hsm_key_ref
                )
    for object_id, _ in kms._scan(MATERIAL, key.key_id + "/"):
        kms._delete(MATERIAL, object_id)
    for object_id, _ in kms._scan(GRANT, key.key_id + "/"):
        kms._delete(GRANT, object_id)
    for object_id, data in kms._scan(IMPORT):
        if data["key_id"] == key.key_id:
            kms._delete(IMPORT, object_id)
    for object_id, data in kms._scan(ALIAS):
        if data["target_key_id"] == key.key_id:
            kms._delete(ALIAS, object_id)
    kms._delete(TAGS, key.key_id)
    kms._delete(KEY, key.key_id)


def _settle_connection(kms: KmsState, store: KeyStoreRecord) -> None:
    """Finish a ConnectCustomKeyStore: log kmsuser in, or record why it failed."""
    store.connect_due = None
    if store.store_type == "EXTERNAL_KEY_STORE":
        store.error_code = xks_bridge.connection_error(kms, store)
        store.state = "FAILED" if store.error_code else "CONNECTED"
        kms._put_store(store)
        return
    backend = kms._backend
    info = backend.cluster_info(store.cluster_id) if backend is not None else None
    if backend is None or info is None:
        store.state, store.error_code = "FAILED", "CLUSTER_NOT_FOUND"
    elif not any(hsm.state == "ACTIVE" for hsm in info.hsms):
        store.state, store.error_code = "FAILED", "INSUFFICIENT_CLOUDHSM_HSMS"
    else:
        try:
            backend.check_kmsuser(store.cluster_id, store_password(kms, store))
            store.state, store.error_code = "CONNECTED", None
        except KeyStoreBackendError as error:
            store.state, store.error_code = "FAILED", error.code
    kms._put_store(store)


def store_password(kms: KmsState, store: KeyStoreRecord) -> str:
    try:
        return kms._sealer.unseal(store.password, f"kms-keystore:{store.store_id}").decode()
    except SealingError:
        raise KMSInternalException("The custom key store password could not be opened.") from None
