"""Multi-Region keys: one key id and one key material in several Regions, so a ciphertext made
in one Region decrypts in another; replicas, the primary, and AWS's errors."""

from __future__ import annotations

import pytest

from emulator.core import Host, SeededRandom
from emulator.kms import Kms
from emulator.kms.errors import (
    AlreadyExistsException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from tests.emulator.test_kms_support import ACCOUNT, ROOT, Env, _fresh_cache, env, kms, new_key

__all__ = ["_fresh_cache", "env", "kms"]  # fixtures used by name

WEST = "us-west-2"


def kms_in(env: Env, region: str) -> Kms:
    return Kms(
        Host(env.storage, env.clock, SeededRandom(7), env.sealer), account_id=ACCOUNT, region=region
    )


def test_a_replica_decrypts_what_the_primary_encrypted_and_the_other_way_round(
    env: Env, kms: Kms
) -> None:
    key_id = new_key(kms, MultiRegion=True)
    assert key_id.startswith("mrk-")
    blob = kms.encrypt(
        ROOT, {"KeyId": key_id, "Plaintext": b"east", "EncryptionContext": {"a": "b"}}
    )["CiphertextBlob"]
    replicated = kms.replicate_key(
        ROOT, {"KeyId": key_id, "ReplicaRegion": WEST, "Description": "west copy"}
    )
    replica = replicated["ReplicaKeyMetadata"]
    assert replica["Arn"] == f"arn:aws:kms:{WEST}:{ACCOUNT}:key/{key_id}"
    assert replica["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    west = kms_in(env, WEST)
    assert (
        west.decrypt(ROOT, {"CiphertextBlob": blob, "EncryptionContext": {"a": "b"}})["Plaintext"]
        == b"east"
    )
    back = west.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"west"})["CiphertextBlob"]
    assert kms.decrypt(ROOT, {"CiphertextBlob": back})["Plaintext"] == b"west"

    primary = kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]
    assert primary["MultiRegion"] is True
    configuration = primary["MultiRegionConfiguration"]
    assert configuration["MultiRegionKeyType"] == "PRIMARY"
    assert configuration["ReplicaKeys"] == [{"Arn": replica["Arn"], "Region": WEST}]
    assert west.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]["Description"] == "west copy"


def test_update_primary_region_swaps_the_roles_everywhere(env: Env, kms: Kms) -> None:
    key_id = new_key(kms, MultiRegion=True)
    kms.replicate_key(ROOT, {"KeyId": key_id, "ReplicaRegion": WEST})
    kms.update_primary_region(ROOT, {"KeyId": key_id, "PrimaryRegion": WEST})
    west = kms_in(env, WEST)
    assert (
        west.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]["MultiRegionConfiguration"][
            "MultiRegionKeyType"
        ]
        == "PRIMARY"
    )
    east = kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]["MultiRegionConfiguration"]
    assert east["MultiRegionKeyType"] == "REPLICA" and east["PrimaryKey"]["Region"] == WEST
    with pytest.raises(UnsupportedOperationException, match="replica"):
        kms.replicate_key(ROOT, {"KeyId": key_id, "ReplicaRegion": "eu-west-1"})


def test_replication_errors_are_aws_errors(env: Env, kms: Kms) -> None:
    single = new_key(kms)
    with pytest.raises(UnsupportedOperationException, match="not a multi-Region key"):
        kms.replicate_key(ROOT, {"KeyId": single, "ReplicaRegion": WEST})
    key_id = new_key(kms, MultiRegion=True)
    with pytest.raises(ValidationException, match="Region of the primary"):
        kms.replicate_key(ROOT, {"KeyId": key_id, "ReplicaRegion": "us-east-1"})
    kms.replicate_key(ROOT, {"KeyId": key_id, "ReplicaRegion": WEST})
    with pytest.raises(AlreadyExistsException):
        kms.replicate_key(ROOT, {"KeyId": key_id, "ReplicaRegion": WEST})
    with pytest.raises(NotFoundException):
        kms.update_primary_region(ROOT, {"KeyId": key_id, "PrimaryRegion": "eu-west-1"})
    with pytest.raises(UnsupportedOperationException, match="does not rotate"):
        kms.enable_key_rotation(ROOT, {"KeyId": key_id})
    limited = env.kms()
    limited.regions = ("us-east-1", WEST)
    other = new_key(limited, MultiRegion=True)
    with pytest.raises(UnsupportedOperationException, match="only"):
        limited.replicate_key(ROOT, {"KeyId": other, "ReplicaRegion": "eu-west-1"})
