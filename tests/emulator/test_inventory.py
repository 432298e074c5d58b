"""The typed read-only inventory a host builds from the engines' records."""

from __future__ import annotations

import json

from emulator.inventory import Inventory
from tests.emulator.test_engine_trace import Walk


def _inventory(walk: Walk) -> Inventory:
    records: dict[str, dict] = {}
    for kind in walk.storage:
        records[kind] = dict(walk.storage.list(kind))
    return Inventory.from_records(records, key_state=walk.kms.key_state, now=walk.clock.now())


def test_the_inventory_shows_what_the_engines_made_and_no_material():
    walk = Walk(1)
    root = "arn:aws:iam::111122223333:root"
    key = walk.kms.create_key(root, {})["KeyMetadata"]
    walk.kms.create_alias(root, {"AliasName": "alias/app", "TargetKeyId": key["KeyId"]})
    walk.kms.disable_key(root, {"KeyId": key["KeyId"]})
    session = walk.hsm.login(walk.cluster, "alice", "alice-password")
    handle = walk.hsm.generate_symmetric(session, "aes", 32, label="master")

    inventory = _inventory(walk)

    assert [(k.key_id, k.state, k.spec) for k in inventory.kms_keys] == [
        (key["KeyId"], "Disabled", "SYMMETRIC_DEFAULT")
    ]
    assert inventory.aliases_of(key["KeyId"]) == ["alias/app"]
    (cluster,) = inventory.live_clusters()
    assert cluster.state == "ACTIVE" and cluster.activated and len(cluster.hsm_ids) == 2
    assert {hsm.zone for hsm in inventory.hsms_of(cluster.cluster_id)} == {
        "us-east-1a",
        "us-east-1b",
    }
    assert {(u.username, u.role) for u in inventory.users} >= {("alice", "crypto-user")}
    (aes,) = inventory.token_keys("aes")
    assert (aes.handle, aes.label, aes.key_class, aes.token) == (
        handle,
        "master",
        "secret-key",
        True,
    )
    sealed = [data["material"] for _, data in walk.storage.list("hsm.key")]
    assert not any(blob in json.dumps(repr(inventory)) for blob in sealed)
