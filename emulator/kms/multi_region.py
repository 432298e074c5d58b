"""Multi-Region keys: ReplicateKey and UpdatePrimaryRegion.

A multi-Region key (``CreateKey`` with ``MultiRegion=true``, id ``mrk-...``) has the same key
id and the same key material in each Region that holds a copy: a ciphertext made in one
Region decrypts in another without a cross-Region call. Each copy is its own KMS key with its
own key policy, aliases, grants and state; one copy is the **primary** (only it can be
replicated), the others **replicas**. Every copy records the primary's Region and the set of
Regions, so DescribeKey answers the same ``MultiRegionConfiguration`` everywhere.
"""

from __future__ import annotations

from emulator.kms import authorization
from emulator.kms.errors import (
    AlreadyExistsException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from emulator.kms.keys import _checked_tags, key_metadata
from emulator.kms.policy import KeyPolicy, default_key_policy
from emulator.kms.records import MATERIAL, TAGS, KeyRecord
from emulator.kms.state import JSON, Call, KmsState

__all__ = ["replicate_key", "update_primary_region"]


def _multi_region_key(kms: KmsState, call: Call, request: JSON, action: str) -> KeyRecord:
    key = kms._resolve(call, request["KeyId"], allow_alias=False)
    authorization.authorize(kms, call, key, action)
    if key.primary_region is None:
        raise UnsupportedOperationException(
            f"{kms.key_arn(key.key_id)} is not a multi-Region key: create one with "
            "--multi-region (its id starts with mrk-)."
        )
    kms._reject_pending_deletion(key)
    return key


def replicate_key(kms: KmsState, call: Call, request: JSON) -> JSON:
    """ReplicateKey: a copy of the primary key, with its material, in ``ReplicaRegion``."""
    key = _multi_region_key(kms, call, request, "kms:ReplicateKey")
    region = request["ReplicaRegion"]
    if key.primary_region != kms.region:
        raise UnsupportedOperationException(
            f"{kms.key_arn(key.key_id)} is a replica key; only the primary key in "
            f"{key.primary_region} can be replicated."
        )
    if region == kms.region:
        raise ValidationException(
            f"The ReplicaRegion {region} is the Region of the primary key: choose another."
        )
    if kms.regions is not None and region not in kms.regions:
        raise UnsupportedOperationException(
            f"This account can hold keys in {', '.join(kms.regions)} only, not {region}."
        )
    there = kms.in_region(region)
    if there._get_key(key.key_id) is not None:
        raise AlreadyExistsException(
            f"{there.key_arn(key.key_id)} already exists: the key is replicated there."
        )
    policy_text = request.get("Policy") or default_key_policy(kms.account_id)
    KeyPolicy.parse(policy_text)  # MalformedPolicyDocumentException
    tags = _checked_tags(request.get("Tags") or [], {})
    regions = [*(key.mrk_regions or [kms.region]), region]
    replica = KeyRecord(
        key_id=key.key_id,
        created=kms._now(),
        key_usage=key.key_usage,
        key_spec=key.key_spec,
        origin=key.origin,
        state="Enabled",
        policy=policy_text,
        description=request.get("Description") or key.description,
        material_version=key.material_version,
        material=key.material,  # sealed for kms:<key id>:<version>, the same in every Region
        material_id=key.material_id,
        public_key=key.public_key,
        primary_region=key.primary_region,
        mrk_regions=regions,
    )
    for object_id, data in kms._scan(MATERIAL, key.key_id + "/"):
        there._put(MATERIAL, object_id, dict(data))
    there._put_key(replica)
    if tags:
        there._put(TAGS, key.key_id, {"tags": tags})
    _set_configuration(kms, key, str(key.primary_region), regions)
    return {
        "ReplicaKeyMetadata": key_metadata(there, replica),
        "ReplicaPolicy": policy_text,
        "ReplicaTags": [{"TagKey": k, "TagValue": v} for k, v in tags.items()],
    }


def update_primary_region(kms: KmsState, call: Call, request: JSON) -> JSON:
    """UpdatePrimaryRegion: the replica in ``PrimaryRegion`` becomes the primary."""
    key = _multi_region_key(kms, call, request, "kms:UpdatePrimaryRegion")
    region = request["PrimaryRegion"]
    if key.primary_region != kms.region:
        raise UnsupportedOperationException(
            f"Call UpdatePrimaryRegion in the primary key's Region, {key.primary_region}."
        )
    regions = key.mrk_regions or [kms.region]
    if region not in regions or region == kms.region:
        raise NotFoundException(
            f"There is no replica of {kms.key_arn(key.key_id)} in {region}: replicate the key "
            "there first."
        )
    _set_configuration(kms, key, region, regions)
    return {}


def _set_configuration(kms: KmsState, key: KeyRecord, primary: str, regions: list[str]) -> None:
    """Record the primary Region and the Regions on every copy of the key."""
    for region in regions:
        there = kms if region == kms.region else kms.in_region(region)
        copy = key if region == kms.region else there._get_key(key.key_id)
        if copy is None:
            continue
        copy.primary_region, copy.mrk_regions = primary, list(regions)
        there._put_key(copy)
