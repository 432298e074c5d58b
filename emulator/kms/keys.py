"""Key lifecycle operations: create, describe, list, enable/disable, deletion, rotation,
tags and key policies.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from emulator.keystore import KeyStoreBackendError
from emulator.kms import authorization, hsm_bridge, lifecycle, xks_bridge
from emulator.kms.access import ConditionContext
from emulator.kms.errors import (
    CustomKeyStoreInvalidStateException,
    DisabledException,
    KMSInvalidStateException,
    LimitExceededException,
    MalformedPolicyDocumentException,
    NotFoundException,
    TagException,
    UnsupportedOperationException,
    ValidationException,
    XksKeyAlreadyInUseException,
)
from emulator.kms.policy import AccessRequest, KeyPolicy, default_key_policy
from emulator.kms.primitives import generate_key_pair, private_key_der, public_key_der
from emulator.kms.records import KEY, MATERIAL, TAGS, KeyRecord, MaterialRecord, material_identity
from emulator.kms.specs import KEY_SPECS
from emulator.kms.state import DAY, JSON, Call, KmsState, listing, page_of

MAX_TAGS = 50
MAX_ON_DEMAND_ROTATIONS = 25
DEFAULT_ROTATION_DAYS = 365


def key_metadata(kms: KmsState, key: KeyRecord) -> JSON:
    """KeyMetadata exactly as DescribeKey returns it."""
    state = kms.key_state(key)
    info = KEY_SPECS[key.key_spec]
    metadata: JSON = {
        "AWSAccountId": kms.account_id,
        "KeyId": key.key_id,
        "Arn": kms.key_arn(key.key_id),
        "CreationDate": key.created,
        "Enabled": state == "Enabled",
        "Description": key.description,
        "KeyUsage": key.key_usage,
        "KeyState": state,
    }
    if state == "PendingDeletion":
        metadata["DeletionDate"] = key.deletion_date
    metadata["Origin"] = key.origin
    if key.expiration_model is not None:
        metadata["ExpirationModel"] = key.expiration_model
    if key.valid_to is not None:
        metadata["ValidTo"] = key.valid_to
    if key.custom_key_store_id is not None:
        metadata["CustomKeyStoreId"] = key.custom_key_store_id
        store = kms._get_store(key.custom_key_store_id)
        if store is not None and store.store_type == "AWS_CLOUDHSM":
            metadata["CloudHsmClusterId"] = store.cluster_id
    if key.xks_key_id is not None:
        metadata["XksKeyConfiguration"] = {"Id": key.xks_key_id}
    metadata["KeyManager"] = "CUSTOMER"
    metadata["CustomerMasterKeySpec"] = key.key_spec
    metadata["KeySpec"] = key.key_spec
    if key.key_usage == "ENCRYPT_DECRYPT":
        metadata["EncryptionAlgorithms"] = list(info.encryption_algorithms)
    elif key.key_usage == "SIGN_VERIFY":
        metadata["SigningAlgorithms"] = list(info.signing_algorithms)
    elif key.key_usage == "GENERATE_VERIFY_MAC":
        metadata["MacAlgorithms"] = list(info.mac_algorithms)
    metadata["MultiRegion"] = key.primary_region is not None
    if key.primary_region is not None:
        metadata["MultiRegionConfiguration"] = multi_region_configuration(kms, key)
    if state == "PendingDeletion" and key.pending_window_days is not None:
        metadata["PendingDeletionWindowInDays"] = key.pending_window_days
    if key.is_symmetric and key.origin == "AWS_KMS" and key.material_id:
        metadata["CurrentKeyMaterialId"] = key.material_id
    return metadata


def create_key(kms: KmsState, call: Call, request: JSON) -> JSON:
    """CreateKey: a symmetric, RSA, ECC or HMAC key, or a key in a CloudHSM key store."""
    authorization.authorize_account(kms, call, "kms:CreateKey")
    if request.get("KeySpec") and request.get("CustomerMasterKeySpec"):
        raise ValidationException(
            "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
            "CustomerMasterKeySpec parameter is deprecated. Use KeySpec parameter instead."
        )
    spec = request.get("KeySpec") or request.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    usage = request.get("KeyUsage") or "ENCRYPT_DECRYPT"
    origin = request.get("Origin") or "AWS_KMS"
    if spec not in KEY_SPECS:
        raise UnsupportedOperationException(f"KeySpec {spec} is not supported by this emulator.")
    if usage in ("KEY_AGREEMENT", "ENCAPSULATE_DECAPSULATE"):
        raise UnsupportedOperationException(f"KeyUsage {usage} is not supported by this emulator.")
    if usage not in KEY_SPECS[spec].usages:
        raise ValidationException(
            f"KeyUsage {usage} is not compatible with KeySpec {spec}. Valid key usages for "
            f"{spec}: {', '.join(KEY_SPECS[spec].usages)}."
        )
    if origin == "EXTERNAL" and spec != "SYMMETRIC_DEFAULT":
        raise UnsupportedOperationException(
            f"KeySpec {spec} with Origin EXTERNAL is not supported by this emulator; "
            "import symmetric key material (SYMMETRIC_DEFAULT)."
        )
    multi_region = bool(request.get("MultiRegion"))
    if multi_region and (origin != "AWS_KMS" or spec != "SYMMETRIC_DEFAULT"):
        raise UnsupportedOperationException(
            "This emulator makes multi-Region keys of KeySpec SYMMETRIC_DEFAULT and Origin "
            "AWS_KMS only (AWS also allows asymmetric, HMAC and imported ones; never in a "
            "custom key store)."
        )
    store_id = request.get("CustomKeyStoreId")
    in_store = origin in ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")
    if in_store and store_id is None:
        raise ValidationException(f"CustomKeyStoreId is required when Origin is {origin}.")
    if store_id is not None and not in_store:
        raise ValidationException(
            "A KMS key in a custom key store must have Origin AWS_CLOUDHSM or EXTERNAL_KEY_STORE."
        )
    if (origin == "EXTERNAL_KEY_STORE") != (request.get("XksKeyId") is not None):
        raise ValidationException("XksKeyId goes with Origin EXTERNAL_KEY_STORE, and only there.")
    if in_store and spec != "SYMMETRIC_DEFAULT":
        raise UnsupportedOperationException(
            f"KeySpec {spec} is not supported for KMS keys in a custom key store; only "
            "SYMMETRIC_DEFAULT is."
        )
    tags = _checked_tags(request.get("Tags") or [], {})
    key_id = kms._new_key_id(multi_region)
    policy_text = request.get("Policy")
    if policy_text is None:
        policy_text = default_key_policy(kms.account_id)
    else:
        _check_lockout(kms, call, key_id, policy_text, request, spec, usage, origin)
    if sum(1 for _ in kms._scan(KEY)) >= kms.max_keys:
        raise LimitExceededException(
            f"You have reached the limit of {kms.max_keys} KMS keys in this account and Region."
        )
    now = kms._now()
    key = KeyRecord(
        key_id=key_id,
        created=now,
        key_usage=usage,
        key_spec=spec,
        origin=origin,
        state="PendingImport" if origin == "EXTERNAL" else "Enabled",
        policy=policy_text,
        description=request.get("Description") or "",
    )
    if multi_region:
        key.primary_region, key.mrk_regions = kms.region, [kms.region]
    call.target = kms.key_arn(key_id)
    if origin == "AWS_CLOUDHSM":
        _create_hsm_material(kms, key, str(store_id))
    elif origin == "EXTERNAL_KEY_STORE":
        _link_external_key(kms, key, str(store_id), str(request["XksKeyId"]))
        _create_material(kms, key, now)  # KMS's own layer of the double encryption
    elif origin == "AWS_KMS":
        _create_material(kms, key, now)  # EXTERNAL: the customer imports it later
    kms._put_key(key)
    if tags:
        kms._put(TAGS, key_id, {"tags": tags})
    return {"KeyMetadata": key_metadata(kms, key)}


def multi_region_configuration(kms: KmsState, key: KeyRecord) -> JSON:
    def arn_in(region: str) -> str:
        return f"arn:aws:kms:{region}:{kms.account_id}:key/{key.key_id}"

    primary = str(key.primary_region)
    return {
        "MultiRegionKeyType": "PRIMARY" if kms.region == primary else "REPLICA",
        "PrimaryKey": {"Arn": arn_in(primary), "Region": primary},
        "ReplicaKeys": [
            {"Arn": arn_in(region), "Region": region}
            for region in key.mrk_regions or []
            if region != primary
        ],
    }


def _check_lockout(
    kms: KmsState,
    call: Call,
    key_id: str,
    policy_text: str,
    request: JSON,
    spec: str,
    usage: str,
    origin: str,
) -> None:
    """The new policy must let the caller call PutKeyPolicy later, unless bypassed."""
    policy = KeyPolicy.parse(policy_text)
    if request.get("BypassPolicyLockoutSafetyCheck"):
        return
    probe = KeyRecord(key_id, 0.0, usage, spec, origin, "Enabled", policy_text)
    _require_can_put_policy(kms, call, probe, policy)


def _require_can_put_policy(kms: KmsState, call: Call, key: KeyRecord, policy: KeyPolicy) -> None:
    context = ConditionContext(call.caller, key, None, None)
    request = AccessRequest(call.caller, "kms:PutKeyPolicy", kms.key_arn(key.key_id), context)
    if policy.evaluate(request).effect != "Allow":
        raise MalformedPolicyDocumentException(
            "The new key policy will not allow you to update the key policy in the future."
        )


def _create_material(kms: KmsState, key: KeyRecord, now: float) -> None:
    info = KEY_SPECS[key.key_spec]
    identity = material_identity(key.key_id, 1)
    if info.family == "AES":
        material = MaterialRecord(
            key_id=key.key_id,
            version=1,
            material=kms._sealer.seal(kms._random.token_bytes(32), identity),
            material_id=kms._random_hex(32),
            created=now,
        )
        kms._put(MATERIAL, f"{key.key_id}/{1:06d}", material.to_dict())
        key.material = material.material
        key.material_id = material.material_id
    elif info.family == "HMAC":
        key.material = kms._sealer.seal(kms._random.token_bytes(info.size // 8), identity)
    else:
        private = generate_key_pair(key.key_spec)
        key.material = kms._sealer.seal(private_key_der(private), identity)
        key.public_key = base64.b64encode(public_key_der(private)).decode("ascii")


def _link_external_key(kms: KmsState, key: KeyRecord, store_id: str, xks_key_id: str) -> None:
    store = hsm_bridge.store_or_not_found(kms, store_id)
    if store.store_type != "EXTERNAL_KEY_STORE":
        raise ValidationException(
            f"Custom key store {store_id} is an AWS CloudHSM key store: use Origin AWS_CLOUDHSM."
        )
    if store.state != "CONNECTED":
        raise CustomKeyStoreInvalidStateException(
            f"Custom key store {store_id} is not connected (its ConnectionState is "
            f"{store.state}). Connect it before creating KMS keys in it."
        )
    for _, data in kms._scan(KEY):
        if data.get("custom_key_store_id") == store_id and data.get("xks_key_id") == xks_key_id:
            raise XksKeyAlreadyInUseException(
                f"The external key {xks_key_id} is already associated with KMS key "
                f"{kms.key_arn(data['key_id'])}."
            )
    xks_bridge.check_key(kms, store, xks_key_id)
    key.custom_key_store_id, key.xks_key_id = store_id, xks_key_id


def _create_hsm_material(kms: KmsState, key: KeyRecord, store_id: str) -> None:
    store = hsm_bridge.store_or_not_found(kms, store_id)
    if store.state != "CONNECTED":
        raise CustomKeyStoreInvalidStateException(
            f"Custom key store {store_id} is not connected (its ConnectionState is "
            f"{store.state}). Connect it before creating KMS keys in it."
        )
    hsm_bridge.require_two_zones(hsm_bridge.cluster(kms, store.cluster_id))
    backend = hsm_bridge.backend_or_not_found(kms, store.cluster_id)
    try:
        key.hsm_key_ref = backend.create_key(
            store.cluster_id, lifecycle.store_password(kms, store), key.key_id
        )
    except KeyStoreBackendError as error:
        raise CustomKeyStoreInvalidStateException(
            f"The AWS CloudHSM cluster could not create the key material ({error.code})."
        ) from None
    key.custom_key_store_id = store_id


def describe_key(kms: KmsState, call: Call, request: JSON) -> JSON:
    """DescribeKey: KeyMetadata of a key named by id, ARN, alias name or alias ARN."""
    key = kms._resolve(call, request["KeyId"])
    kms._check_grant_tokens(request.get("GrantTokens"))
    authorization.authorize(kms, call, key, "kms:DescribeKey")
    return {"KeyMetadata": key_metadata(kms, key)}


def list_keys(kms: KmsState, call: Call, request: JSON) -> JSON:
    """ListKeys: KeyId and KeyArn of every key (pending deletion included), paginated."""
    authorization.authorize_account(kms, call, "kms:ListKeys")
    entries = [{"KeyId": key_id, "KeyArn": kms.key_arn(key_id)} for key_id, _ in kms._scan(KEY)]
    page, marker = page_of(
        entries, lambda entry: entry["KeyId"], request.get("Limit", 100), request.get("Marker")
    )
    return listing("Keys", page, marker)


def update_key_description(kms: KmsState, call: Call, request: JSON) -> JSON:
    """UpdateKeyDescription."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, "kms:UpdateKeyDescription")
    kms._reject_pending_deletion(key)
    key.description = request["Description"]
    kms._put_key(key)
    return {}


def enable_key(kms: KmsState, call: Call, request: JSON) -> JSON:
    """EnableKey."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, "kms:EnableKey")
    kms._reject_pending_deletion(key)
    _reject_pending_import(kms, key)
    key.state = "Enabled"
    kms._put_key(key)
    if key.next_rotation is not None:
        lifecycle.schedule(kms, key.next_rotation)  # an overdue rotation happens at the next tick
    return {}


def disable_key(kms: KmsState, call: Call, request: JSON) -> JSON:
    """DisableKey."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, "kms:DisableKey")
    kms._reject_pending_deletion(key)
    _reject_pending_import(kms, key)
    key.state = "Disabled"
    kms._put_key(key)
    return {}


def _reject_pending_import(kms: KmsState, key: KeyRecord) -> None:
    if key.state == "PendingImport":
        raise KMSInvalidStateException(f"{kms.key_arn(key.key_id)} is pending import.")


def schedule_key_deletion(kms: KmsState, call: Call, request: JSON) -> JSON:
    """ScheduleKeyDeletion: PendingWindowInDays 7..30, default 30."""
    days = request.get("PendingWindowInDays", 30)
    if not 7 <= days <= 30:
        bound = "greater than or equal to 7" if days < 7 else "less than or equal to 30"
        raise ValidationException(
            f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed "
            f"to satisfy constraint: Member must have value {bound}"
        )
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(
        kms,
        call,
        key,
        "kms:ScheduleKeyDeletion",
        extra={"kms:schedulekeydeletionpendingwindowindays": (str(days),)},
    )
    kms._reject_pending_deletion(key)
    key.state = "PendingDeletion"
    key.deletion_date = kms._now() + days * DAY
    key.pending_window_days = days
    kms._put_key(key)
    lifecycle.schedule(kms, key.deletion_date)
    return {
        "KeyId": kms.key_arn(key.key_id),
        "DeletionDate": key.deletion_date,
        "KeyState": "PendingDeletion",
        "PendingWindowInDays": days,
    }


def cancel_key_deletion(kms: KmsState, call: Call, request: JSON) -> JSON:
    """CancelKeyDeletion: the key comes back Disabled, as in AWS."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, "kms:CancelKeyDeletion")
    if key.state != "PendingDeletion":
        raise KMSInvalidStateException(f"{kms.key_arn(key.key_id)} is not pending deletion.")
    key.state = "Disabled"
    key.deletion_date = None
    key.pending_window_days = None
    kms._put_key(key)
    return {"KeyId": kms.key_arn(key.key_id)}


def _require_rotatable(kms: KmsState, key: KeyRecord) -> None:
    arn = kms.key_arn(key.key_id)
    if key.origin != "AWS_KMS":
        raise UnsupportedOperationException(
            f"{arn} origin is {key.origin} which is not valid for this operation."
        )
    if not key.is_symmetric:
        raise UnsupportedOperationException(
            f"{arn} KeySpec is {key.key_spec}; key rotation is supported only for "
            "symmetric encryption KMS keys."
        )


def _require_single_region(kms: KmsState, key: KeyRecord) -> None:
    if key.primary_region is not None:
        raise UnsupportedOperationException(
            f"{kms.key_arn(key.key_id)} is a multi-Region key; this emulator does not rotate "
            "them (AWS rotates the primary and shares the new material with its replicas)."
        )


def _require_enabled_for_rotation(kms: KmsState, key: KeyRecord) -> None:
    if key.state == "Disabled":
        raise DisabledException(f"{kms.key_arn(key.key_id)} is disabled.")
    kms._reject_pending_deletion(key)


def enable_key_rotation(kms: KmsState, call: Call, request: JSON) -> JSON:
    """EnableKeyRotation: RotationPeriodInDays 90..2560, default 365."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    days = request.get("RotationPeriodInDays", DEFAULT_ROTATION_DAYS)
    authorization.authorize(
        kms, call, key, "kms:EnableKeyRotation", extra={"kms:rotationperiodindays": (str(days),)}
    )
    _require_enabled_for_rotation(kms, key)
    _require_rotatable(kms, key)
    _require_single_region(kms, key)
    if key.rotation_period_days != days or key.next_rotation is None:
        key.rotation_period_days = days
        key.next_rotation = kms._now() + days * DAY
        kms._put_key(key)
        lifecycle.schedule(kms, key.next_rotation)
    return {}


def disable_key_rotation(kms: KmsState, call: Call, request: JSON) -> JSON:
    """DisableKeyRotation."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, "kms:DisableKeyRotation")
    _require_enabled_for_rotation(kms, key)
    _require_rotatable(kms, key)
    key.rotation_period_days = None
    key.next_rotation = None
    kms._put_key(key)
    return {}


def get_key_rotation_status(kms: KmsState, call: Call, request: JSON) -> JSON:
    """GetKeyRotationStatus."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, "kms:GetKeyRotationStatus")
    _require_rotatable(kms, key)
    result: JSON = {
        "KeyRotationEnabled": key.next_rotation is not None,
        "KeyId": kms.key_arn(key.key_id),
    }
    if key.next_rotation is not None:
        result["RotationPeriodInDays"] = key.rotation_period_days
        result["NextRotationDate"] = key.next_rotation
    return result


def rotate_key_on_demand(kms: KmsState, call: Call, request: JSON) -> JSON:
    """RotateKeyOnDemand: rotate now (at most 25 times per key); the automatic schedule
    is unchanged."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, "kms:RotateKeyOnDemand")
    _require_enabled_for_rotation(kms, key)
    _require_rotatable(kms, key)
    _require_single_region(kms, key)
    if key.on_demand_rotations >= MAX_ON_DEMAND_ROTATIONS:
        raise LimitExceededException(
            f"{kms.key_arn(key.key_id)} has reached the limit of "
            f"{MAX_ON_DEMAND_ROTATIONS} on-demand rotations."
        )
    lifecycle.rotate_material(kms, key, "ON_DEMAND", kms._now())
    key.on_demand_rotations += 1
    kms._put_key(key)
    return {"KeyId": kms.key_arn(key.key_id)}


def list_key_rotations(kms: KmsState, call: Call, request: JSON) -> JSON:
    """ListKeyRotations: completed rotations (or all materials with ALL_KEY_MATERIAL)."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, "kms:ListKeyRotations")
    _require_rotatable(kms, key)
    everything = request.get("IncludeKeyMaterial") == "ALL_KEY_MATERIAL"
    arn = kms.key_arn(key.key_id)
    entries: list[tuple[str, JSON]] = []
    for object_id, data in kms._scan(MATERIAL, key.key_id + "/"):
        material = MaterialRecord.from_dict(data)
        if material.rotation_type is None and not everything:
            continue
        entry: JSON = {
            "KeyId": arn,
            "KeyMaterialId": material.material_id,
            "KeyMaterialState": (
                "CURRENT" if material.version == key.material_version else "NON_CURRENT"
            ),
        }
        if material.rotation_type is not None:
            entry["RotationDate"] = material.created
            entry["RotationType"] = material.rotation_type
        entries.append((object_id, entry))
    page, marker = page_of(
        entries, lambda item: item[0], request.get("Limit", 100), request.get("Marker")
    )
    return listing("Rotations", [entry for _, entry in page], marker)


def _checked_tags(tags: Sequence[Mapping[str, str]], current: dict[str, str]) -> dict[str, str]:
    merged = dict(current)
    for tag in tags:
        if tag["TagKey"].startswith("aws:"):
            raise TagException("Tag keys beginning with 'aws:' are reserved for AWS use.")
        merged[tag["TagKey"]] = tag["TagValue"]
    if len(merged) > MAX_TAGS:
        raise LimitExceededException(f"A KMS key can have at most {MAX_TAGS} tags.")
    return merged


def _tags_of(kms: KmsState, key_id: str) -> dict[str, str]:
    data = kms._get(TAGS, key_id)
    return dict(data["tags"]) if data is not None else {}


def tag_resource(kms: KmsState, call: Call, request: JSON) -> JSON:
    """TagResource: add or overwrite tags (at most 50 per key)."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, "kms:TagResource")
    kms._reject_pending_deletion(key)
    tags = _checked_tags(request["Tags"], _tags_of(kms, key.key_id))
    kms._put(TAGS, key.key_id, {"tags": tags})
    return {}


def untag_resource(kms: KmsState, call: Call, request: JSON) -> JSON:
    """UntagResource."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, "kms:UntagResource")
    kms._reject_pending_deletion(key)
    tags = _tags_of(kms, key.key_id)
    for name in request["TagKeys"]:
        tags.pop(name, None)
    kms._put(TAGS, key.key_id, {"tags": tags})
    return {}


def list_resource_tags(kms: KmsState, call: Call, request: JSON) -> JSON:
    """ListResourceTags: Limit 1..50, default 50."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, "kms:ListResourceTags")
    entries = [{"TagKey": k, "TagValue": v} for k, v in _tags_of(kms, key.key_id).items()]
    page, marker = page_of(
        entries, lambda tag: tag["TagKey"], request.get("Limit", 50), request.get("Marker")
    )
    return listing("Tags", page, marker)


def _policy_name(kms: KmsState, request: JSON, key: KeyRecord) -> None:
    name = request.get("PolicyName", "default")
    if name != "default":
        raise NotFoundException(f"Key policy {name} does not exist for {kms.key_arn(key.key_id)}.")


def get_key_policy(kms: KmsState, call: Call, request: JSON) -> JSON:
    """GetKeyPolicy: the one policy, named ``default``."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, "kms:GetKeyPolicy")
    _policy_name(kms, request, key)
    return {"Policy": key.policy, "PolicyName": "default"}


def put_key_policy(kms: KmsState, call: Call, request: JSON) -> JSON:
    """PutKeyPolicy, with AWS's lockout safety check (BypassPolicyLockoutSafetyCheck)."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, "kms:PutKeyPolicy")
    _policy_name(kms, request, key)
    policy = KeyPolicy.parse(request["Policy"])
    if not request.get("BypassPolicyLockoutSafetyCheck"):
        _require_can_put_policy(kms, call, key, policy)
    key.policy = request["Policy"]
    kms._put_key(key)
    return {}


def list_key_policies(kms: KmsState, call: Call, request: JSON) -> JSON:
    """ListKeyPolicies: always ``["default"]``."""
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, "kms:ListKeyPolicies")
    return {"PolicyNames": ["default"], "Truncated": False}
