"""Key lifecycle operations: create, describe, list, enable/disable, deletion, rotation,
tags and key policies."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from emulator.keystore import KeyStoreBackendError
from emulator.kms._base import DAY, JSON, Call
from emulator.kms._hsm import HsmBridge
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
)
from emulator.kms.policy import AccessRequest, KeyPolicy, default_key_policy
from emulator.kms.primitives import generate_key_pair, private_key_der, public_key_der
from emulator.kms.records import KEY, MATERIAL, TAGS, KeyRecord, MaterialRecord, material_identity
from emulator.kms.specs import KEY_SPECS

MAX_TAGS = 50
MAX_ON_DEMAND_ROTATIONS = 25
DEFAULT_ROTATION_DAYS = 365


class KeyOps(HsmBridge):
    # --- presentation -------------------------------------------------------------------------

    def key_metadata(self, key: KeyRecord) -> JSON:
        """KeyMetadata exactly as DescribeKey returns it."""
        state = self.key_state(key)
        info = KEY_SPECS[key.key_spec]
        metadata: JSON = {
            "AWSAccountId": self.account_id,
            "KeyId": key.key_id,
            "Arn": self.key_arn(key.key_id),
            "CreationDate": key.created,
            "Enabled": state == "Enabled",
            "Description": key.description,
            "KeyUsage": key.key_usage,
            "KeyState": state,
        }
        if state == "PendingDeletion":
            metadata["DeletionDate"] = key.deletion_date
        metadata["Origin"] = key.origin
        if key.custom_key_store_id is not None:
            metadata["CustomKeyStoreId"] = key.custom_key_store_id
            store = self._get_store(key.custom_key_store_id)
            if store is not None:
                metadata["CloudHsmClusterId"] = store.cluster_id
        metadata["KeyManager"] = "CUSTOMER"
        metadata["CustomerMasterKeySpec"] = key.key_spec
        metadata["KeySpec"] = key.key_spec
        if key.key_usage == "ENCRYPT_DECRYPT":
            metadata["EncryptionAlgorithms"] = list(info.encryption_algorithms)
        elif key.key_usage == "SIGN_VERIFY":
            metadata["SigningAlgorithms"] = list(info.signing_algorithms)
        elif key.key_usage == "GENERATE_VERIFY_MAC":
            metadata["MacAlgorithms"] = list(info.mac_algorithms)
        metadata["MultiRegion"] = False
        if state == "PendingDeletion" and key.pending_window_days is not None:
            metadata["PendingDeletionWindowInDays"] = key.pending_window_days
        if key.is_symmetric and key.origin == "AWS_KMS" and key.material_id:
            metadata["CurrentKeyMaterialId"] = key.material_id
        return metadata

    # --- CreateKey ----------------------------------------------------------------------------

    def create_key(self, principal: str, params: Mapping[str, Any] | None = None) -> JSON:
        """CreateKey: a symmetric, RSA, ECC or HMAC key, or a key in a CloudHSM key store."""
        return self._run("CreateKey", principal, params or {}, self._create_key)

    def _create_key(self, call: Call, request: JSON) -> JSON:
        self._authorize_account(call, "kms:CreateKey")
        if request.get("KeySpec") and request.get("CustomerMasterKeySpec"):
            raise ValidationException(
                "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
                "CustomerMasterKeySpec parameter is deprecated. Use KeySpec parameter instead."
            )
        spec = request.get("KeySpec") or request.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
        usage = request.get("KeyUsage") or "ENCRYPT_DECRYPT"
        origin = request.get("Origin") or "AWS_KMS"
        if spec not in KEY_SPECS:
            raise UnsupportedOperationException(
                f"KeySpec {spec} is not supported by this emulator."
            )
        if usage in ("KEY_AGREEMENT", "ENCAPSULATE_DECAPSULATE"):
            raise UnsupportedOperationException(
                f"KeyUsage {usage} is not supported by this emulator."
            )
        if usage not in KEY_SPECS[spec].usages:
            raise ValidationException(
                f"KeyUsage {usage} is not compatible with KeySpec {spec}. Valid key usages for "
                f"{spec}: {', '.join(KEY_SPECS[spec].usages)}."
            )
        if origin in ("EXTERNAL", "EXTERNAL_KEY_STORE"):
            raise UnsupportedOperationException(
                f"Origin {origin} is not supported by this emulator."
            )
        if request.get("MultiRegion"):
            raise UnsupportedOperationException(
                "Multi-Region keys are not supported by this emulator."
            )
        store_id = request.get("CustomKeyStoreId")
        if origin == "AWS_CLOUDHSM" and store_id is None:
            raise ValidationException("CustomKeyStoreId is required when Origin is AWS_CLOUDHSM.")
        if store_id is not None and origin != "AWS_CLOUDHSM":
            raise ValidationException(
                "A KMS key in an AWS CloudHSM key store must have Origin AWS_CLOUDHSM."
            )
        if origin == "AWS_CLOUDHSM" and spec != "SYMMETRIC_DEFAULT":
            raise UnsupportedOperationException(
                f"KeySpec {spec} is not supported for KMS keys in a custom key store; only "
                "SYMMETRIC_DEFAULT is."
            )
        tags = self._checked_tags(request.get("Tags") or [], {})
        key_id = self._new_key_id()
        policy_text = request.get("Policy")
        if policy_text is None:
            policy_text = default_key_policy(self.account_id)
        else:
            self._check_lockout(call, key_id, policy_text, request, spec, usage, origin)
        if sum(1 for _ in self._scan(KEY)) >= self.max_keys:
            raise LimitExceededException(
                f"You have reached the limit of {self.max_keys} KMS keys in this account and "
                "Region."
            )
        now = self._now()
        key = KeyRecord(
            key_id=key_id,
            created=now,
            key_usage=usage,
            key_spec=spec,
            origin=origin,
            state="Enabled",
            policy=policy_text,
            description=request.get("Description") or "",
        )
        call.target = self.key_arn(key_id)
        if origin == "AWS_CLOUDHSM":
            self._create_hsm_material(key, str(store_id))
        else:
            self._create_material(key, now)
        self._put_key(key)
        if tags:
            self._put(TAGS, key_id, {"tags": tags})
        return {"KeyMetadata": self.key_metadata(key)}

    def _check_lockout(
        self,
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
        self._require_can_put_policy(call, probe, policy)

    def _require_can_put_policy(self, call: Call, key: KeyRecord, policy: KeyPolicy) -> None:
        context = ConditionContext(call.caller, key, None, None)
        request = AccessRequest(call.caller, "kms:PutKeyPolicy", self.key_arn(key.key_id), context)
        if policy.evaluate(request).effect != "Allow":
            raise MalformedPolicyDocumentException(
                "The new key policy will not allow you to update the key policy in the future."
            )

    def _create_material(self, key: KeyRecord, now: float) -> None:
        info = KEY_SPECS[key.key_spec]
        identity = material_identity(key.key_id, 1)
        if info.family == "AES":
            material = MaterialRecord(
                key_id=key.key_id,
                version=1,
                material=self._sealer.seal(self._random.token_bytes(32), identity),
                material_id=self._random_hex(32),
                created=now,
            )
            self._put(MATERIAL, f"{key.key_id}/{1:06d}", material.to_dict())
            key.material = material.material
            key.material_id = material.material_id
        elif info.family == "HMAC":
            key.material = self._sealer.seal(self._random.token_bytes(info.size // 8), identity)
        else:
            private = generate_key_pair(key.key_spec)
            key.material = self._sealer.seal(private_key_der(private), identity)
            key.public_key = base64.b64encode(public_key_der(private)).decode("ascii")

    def _create_hsm_material(self, key: KeyRecord, store_id: str) -> None:
        store = self._store_or_not_found(store_id)
        if store.state != "CONNECTED":
            raise CustomKeyStoreInvalidStateException(
                f"Custom key store {store_id} is not connected (its ConnectionState is "
                f"{store.state}). Connect it before creating KMS keys in it."
            )
        self._require_two_zones(self._cluster(store.cluster_id))
        backend = self._backend_or_not_found(store.cluster_id)
        try:
            key.hsm_key_ref = backend.create_key(
                store.cluster_id, self._store_password(store), key.key_id
            )
        except KeyStoreBackendError as error:
            raise CustomKeyStoreInvalidStateException(
                f"The AWS CloudHSM cluster could not create the key material ({error.code})."
            ) from None
        key.custom_key_store_id = store_id

    # --- reading keys -------------------------------------------------------------------------

    def describe_key(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """DescribeKey: KeyMetadata of a key named by id, ARN, alias name or alias ARN."""
        return self._run("DescribeKey", principal, params, self._describe_key)

    def _describe_key(self, call: Call, request: JSON) -> JSON:
        key = self._resolve(call, request["KeyId"])
        self._check_grant_tokens(request.get("GrantTokens"))
        self._authorize(call, key, "kms:DescribeKey")
        return {"KeyMetadata": self.key_metadata(key)}

    def list_keys(self, principal: str, params: Mapping[str, Any] | None = None) -> JSON:
        """ListKeys: KeyId and KeyArn of every key (pending deletion included), paginated."""
        return self._run("ListKeys", principal, params or {}, self._list_keys)

    def _list_keys(self, call: Call, request: JSON) -> JSON:
        self._authorize_account(call, "kms:ListKeys")
        entries = [
            {"KeyId": key_id, "KeyArn": self.key_arn(key_id)} for key_id, _ in self._scan(KEY)
        ]
        page, marker = self._page(
            entries, lambda entry: entry["KeyId"], request.get("Limit", 100), request.get("Marker")
        )
        return self._listing("Keys", page, marker)

    def update_key_description(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """UpdateKeyDescription."""
        return self._run("UpdateKeyDescription", principal, params, self._update_key_description)

    def _update_key_description(self, call: Call, request: JSON) -> JSON:
        key = self._resolve(call, request["KeyId"], allow_alias=False)
        self._authorize(call, key, "kms:UpdateKeyDescription")
        self._reject_pending_deletion(key)
        key.description = request["Description"]
        self._put_key(key)
        return {}

    # --- enable, disable, delete --------------------------------------------------------------

    def enable_key(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """EnableKey."""
        return self._run("EnableKey", principal, params, self._enable_key)

    def _enable_key(self, call: Call, request: JSON) -> JSON:
        key = self._resolve(call, request["KeyId"], allow_alias=False)
        self._authorize(call, key, "kms:EnableKey")
        self._reject_pending_deletion(key)
        key.state = "Enabled"
        self._put_key(key)
        if key.next_rotation is not None:
            self._schedule(key.next_rotation)  # an overdue rotation happens at the next tick
        return {}

    def disable_key(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """DisableKey."""
        return self._run("DisableKey", principal, params, self._disable_key)

    def _disable_key(self, call: Call, request: JSON) -> JSON:
        key = self._resolve(call, request["KeyId"], allow_alias=False)
        self._authorize(call, key, "kms:DisableKey")
        self._reject_pending_deletion(key)
        key.state = "Disabled"
        self._put_key(key)
        return {}

    def schedule_key_deletion(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """ScheduleKeyDeletion: PendingWindowInDays 7..30, default 30."""
        return self._run("ScheduleKeyDeletion", principal, params, self._schedule_key_deletion)

    def _schedule_key_deletion(self, call: Call, request: JSON) -> JSON:
        days = request.get("PendingWindowInDays", 30)
        if not 7 <= days <= 30:
            bound = "greater than or equal to 7" if days < 7 else "less than or equal to 30"
            raise ValidationException(
                f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed "
                f"to satisfy constraint: Member must have value {bound}"
            )
        key = self._resolve(call, request["KeyId"], allow_alias=False)
        self._authorize(
            call,
            key,
            "kms:ScheduleKeyDeletion",
            extra={"kms:schedulekeydeletionpendingwindowindays": (str(days),)},
        )
        self._reject_pending_deletion(key)
        key.state = "PendingDeletion"
        key.deletion_date = self._now() + days * DAY
        key.pending_window_days = days
        self._put_key(key)
        self._schedule(key.deletion_date)
        return {
            "KeyId": self.key_arn(key.key_id),
            "DeletionDate": key.deletion_date,
            "KeyState": "PendingDeletion",
            "PendingWindowInDays": days,
        }

    def cancel_key_deletion(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """CancelKeyDeletion: the key comes back Disabled, as in AWS."""
        return self._run("CancelKeyDeletion", principal, params, self._cancel_key_deletion)

    def _cancel_key_deletion(self, call: Call, request: JSON) -> JSON:
        key = self._resolve(call, request["KeyId"], allow_alias=False)
        self._authorize(call, key, "kms:CancelKeyDeletion")
        if key.state != "PendingDeletion":
            raise KMSInvalidStateException(f"{self.key_arn(key.key_id)} is not pending deletion.")
        key.state = "Disabled"
        key.deletion_date = None
        key.pending_window_days = None
        self._put_key(key)
        return {"KeyId": self.key_arn(key.key_id)}

    # --- rotation -----------------------------------------------------------------------------

    def _require_rotatable(self, key: KeyRecord) -> None:
        arn = self.key_arn(key.key_id)
        if key.origin != "AWS_KMS":
            raise UnsupportedOperationException(
                f"{arn} origin is {key.origin} which is not valid for this operation."
            )
        if not key.is_symmetric:
            raise UnsupportedOperationException(
                f"{arn} KeySpec is {key.key_spec}; key rotation is supported only for "
                "symmetric encryption KMS keys."
            )

    def _require_enabled_for_rotation(self, key: KeyRecord) -> None:
        if key.state == "Disabled":
            raise DisabledException(f"{self.key_arn(key.key_id)} is disabled.")
        self._reject_pending_deletion(key)

    def enable_key_rotation(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """EnableKeyRotation: RotationPeriodInDays 90..2560, default 365."""
        return self._run("EnableKeyRotation", principal, params, self._enable_key_rotation)

    def _enable_key_rotation(self, call: Call, request: JSON) -> JSON:
        key = self._resolve(call, request["KeyId"], allow_alias=False)
        days = request.get("RotationPeriodInDays", DEFAULT_ROTATION_DAYS)
        self._authorize(
            call, key, "kms:EnableKeyRotation", extra={"kms:rotationperiodindays": (str(days),)}
        )
        self._require_enabled_for_rotation(key)
        self._require_rotatable(key)
        if key.rotation_period_days != days or key.next_rotation is None:
            key.rotation_period_days = days
            key.next_rotation = self._now() + days * DAY
            self._put_key(key)
            self._schedule(key.next_rotation)
        return {}

    def disable_key_rotation(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """DisableKeyRotation."""
        return self._run("DisableKeyRotation", principal, params, self._disable_key_rotation)

    def _disable_key_rotation(self, call: Call, request: JSON) -> JSON:
        key = self._resolve(call, request["KeyId"], allow_alias=False)
        self._authorize(call, key, "kms:DisableKeyRotation")
        self._require_enabled_for_rotation(key)
        self._require_rotatable(key)
        key.rotation_period_days = None
        key.next_rotation = None
        self._put_key(key)
        return {}

    def get_key_rotation_status(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """GetKeyRotationStatus."""
        return self._run("GetKeyRotationStatus", principal, params, self._get_key_rotation_status)

    def _get_key_rotation_status(self, call: Call, request: JSON) -> JSON:
        key = self._resolve(call, request["KeyId"], allow_alias=False)
        self._authorize(call, key, "kms:GetKeyRotationStatus")
        self._require_rotatable(key)
        result: JSON = {
            "KeyRotationEnabled": key.next_rotation is not None,
            "KeyId": self.key_arn(key.key_id),
        }
        if key.next_rotation is not None:
            result["RotationPeriodInDays"] = key.rotation_period_days
            result["NextRotationDate"] = key.next_rotation
        return result

    def rotate_key_on_demand(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """RotateKeyOnDemand: rotate now (at most 25 times per key); the automatic schedule
        is unchanged."""
        return self._run("RotateKeyOnDemand", principal, params, self._rotate_key_on_demand)

    def _rotate_key_on_demand(self, call: Call, request: JSON) -> JSON:
        key = self._resolve(call, request["KeyId"], allow_alias=False)
        self._authorize(call, key, "kms:RotateKeyOnDemand")
        self._require_enabled_for_rotation(key)
        self._require_rotatable(key)
        if key.on_demand_rotations >= MAX_ON_DEMAND_ROTATIONS:
            raise LimitExceededException(
                f"{self.key_arn(key.key_id)} has reached the limit of "
                f"{MAX_ON_DEMAND_ROTATIONS} on-demand rotations."
            )
        self._rotate_material(key, "ON_DEMAND", self._now())
        key.on_demand_rotations += 1
        self._put_key(key)
        return {"KeyId": self.key_arn(key.key_id)}

    def list_key_rotations(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """ListKeyRotations: completed rotations (or all materials with ALL_KEY_MATERIAL)."""
        return self._run("ListKeyRotations", principal, params, self._list_key_rotations)

    def _list_key_rotations(self, call: Call, request: JSON) -> JSON:
        key = self._resolve(call, request["KeyId"], allow_alias=False)
        self._authorize(call, key, "kms:ListKeyRotations")
        self._require_rotatable(key)
        everything = request.get("IncludeKeyMaterial") == "ALL_KEY_MATERIAL"
        arn = self.key_arn(key.key_id)
        entries: list[tuple[str, JSON]] = []
        for object_id, data in self._scan(MATERIAL, key.key_id + "/"):
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
        page, marker = self._page(
            entries, lambda item: item[0], request.get("Limit", 100), request.get("Marker")
        )
        return self._listing("Rotations", [entry for _, entry in page], marker)

    # --- tags ---------------------------------------------------------------------------------

    def _checked_tags(
        self, tags: Sequence[Mapping[str, str]], current: dict[str, str]
    ) -> dict[str, str]:
        merged = dict(current)
        for tag in tags:
            if tag["TagKey"].startswith("aws:"):
                raise TagException("Tag keys beginning with 'aws:' are reserved for AWS use.")
            merged[tag["TagKey"]] = tag["TagValue"]
        if len(merged) > MAX_TAGS:
            raise LimitExceededException(f"A KMS key can have at most {MAX_TAGS} tags.")
        return merged

    def _tags_of(self, key_id: str) -> dict[str, str]:
        data = self._get(TAGS, key_id)
        return dict(data["tags"]) if data is not None else {}

    def tag_resource(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """TagResource: add or overwrite tags (at most 50 per key)."""
        return self._run("TagResource", principal, params, self._tag_resource)

    def _tag_resource(self, call: Call, request: JSON) -> JSON:
        key = self._resolve(call, request["KeyId"], allow_alias=False)
        self._authorize(call, key, "kms:TagResource")
        self._reject_pending_deletion(key)
        tags = self._checked_tags(request["Tags"], self._tags_of(key.key_id))
        self._put(TAGS, key.key_id, {"tags": tags})
        return {}

    def untag_resource(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """UntagResource."""
        return self._run("UntagResource", principal, params, self._untag_resource)

    def _untag_resource(self, call: Call, request: JSON) -> JSON:
        key = self._resolve(call, request["KeyId"], allow_alias=False)
        self._authorize(call, key, "kms:UntagResource")
        self._reject_pending_deletion(key)
        tags = self._tags_of(key.key_id)
        for name in request["TagKeys"]:
            tags.pop(name, None)
        self._put(TAGS, key.key_id, {"tags": tags})
        return {}

    def list_resource_tags(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """ListResourceTags: Limit 1..50, default 50."""
        return self._run("ListResourceTags", principal, params, self._list_resource_tags)

    def _list_resource_tags(self, call: Call, request: JSON) -> JSON:
        key = self._resolve(call, request["KeyId"], allow_alias=False)
        self._authorize(call, key, "kms:ListResourceTags")
        entries = [{"TagKey": k, "TagValue": v} for k, v in self._tags_of(key.key_id).items()]
        page, marker = self._page(
            entries, lambda tag: tag["TagKey"], request.get("Limit", 50), request.get("Marker")
        )
        return self._listing("Tags", page, marker)

    # --- key policies -------------------------------------------------------------------------

    def _policy_name(self, request: JSON, key: KeyRecord) -> None:
        name = request.get("PolicyName", "default")
        if name != "default":
            raise NotFoundException(
                f"Key policy {name} does not exist for {self.key_arn(key.key_id)}."
            )

    def get_key_policy(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """GetKeyPolicy: the one policy, named ``default``."""
        return self._run("GetKeyPolicy", principal, params, self._get_key_policy)

    def _get_key_policy(self, call: Call, request: JSON) -> JSON:
        key = self._resolve(call, request["KeyId"], allow_alias=False)
        self._authorize(call, key, "kms:GetKeyPolicy")
        self._policy_name(request, key)
        return {"Policy": key.policy, "PolicyName": "default"}

    def put_key_policy(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """PutKeyPolicy, with AWS's lockout safety check (BypassPolicyLockoutSafetyCheck)."""
        return self._run("PutKeyPolicy", principal, params, self._put_key_policy)

    def _put_key_policy(self, call: Call, request: JSON) -> JSON:
        key = self._resolve(call, request["KeyId"], allow_alias=False)
        self._authorize(call, key, "kms:PutKeyPolicy")
        self._policy_name(request, key)
        policy = KeyPolicy.parse(request["Policy"])
        if not request.get("BypassPolicyLockoutSafetyCheck"):
            self._require_can_put_policy(call, key, policy)
        key.policy = request["Policy"]
        self._put_key(key)
        return {}

    def list_key_policies(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """ListKeyPolicies: always ``["default"]``."""
        return self._run("ListKeyPolicies", principal, params, self._list_key_policies)

    def _list_key_policies(self, call: Call, request: JSON) -> JSON:
        key = self._resolve(call, request["KeyId"], allow_alias=False)
        self._authorize(call, key, "kms:ListKeyPolicies")
        return {"PolicyNames": ["default"], "Truncated": False}
