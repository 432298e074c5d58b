"""Key rotation: automatic (driven by the clock through tick) and on demand."""

from __future__ import annotations

import pytest

from emulator.kms import Kms
from emulator.kms.errors import (
    DisabledException,
    KMSInvalidStateException,
    LimitExceededException,
    UnsupportedOperationException,
    ValidationException,
)
from tests.emulator.test_kms_support import (
    CLUSTER_ID,
    DAY,
    KMSUSER_PASSWORD,
    ROOT,
    START,
    TRUST_ANCHOR,
    Env,
    _fresh_cache,
    arn_of,
    env,
    kms,
    new_key,
)

__all__ = ["_fresh_cache", "env", "kms"]  # fixtures used by name


def test_rotation_is_off_by_default(kms: Kms) -> None:
    key_id = new_key(kms)

    assert kms.get_key_rotation_status(ROOT, {"KeyId": key_id}) == {
        "KeyRotationEnabled": False,
        "KeyId": arn_of(key_id),
    }


def test_enable_rotation_defaults_to_365_days(kms: Kms) -> None:
    key_id = new_key(kms)

    kms.enable_key_rotation(ROOT, {"KeyId": key_id})

    assert kms.get_key_rotation_status(ROOT, {"KeyId": key_id}) == {
        "KeyRotationEnabled": True,
        "KeyId": arn_of(key_id),
        "RotationPeriodInDays": 365,
        "NextRotationDate": (START + 365 * DAY).timestamp(),
    }


@pytest.mark.parametrize("days", [89, 2561])
def test_rotation_period_is_90_to_2560_days(kms: Kms, days: int) -> None:
    key_id = new_key(kms)

    with pytest.raises(ValidationException, match="rotationPeriodInDays"):
        kms.enable_key_rotation(ROOT, {"KeyId": key_id, "RotationPeriodInDays": days})


def test_automatic_rotation_keeps_old_ciphertexts_readable(env: Env) -> None:
    kms = env.kms()
    key_id = new_key(kms)
    old_blob = kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"old"})["CiphertextBlob"]
    old_material = kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]["CurrentKeyMaterialId"]
    kms.enable_key_rotation(ROOT, {"KeyId": key_id, "RotationPeriodInDays": 90})

    env.clock.advance(90 * DAY)
    kms = env.kms()
    new_material = kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]["CurrentKeyMaterialId"]
    new_blob = kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"new"})["CiphertextBlob"]

    assert new_material != old_material
    assert env.material(key_id, 1) != env.material(key_id, 2)
    assert new_blob[17:21] == (2).to_bytes(4, "big") and old_blob[17:21] == (1).to_bytes(4, "big")
    old = kms.decrypt(ROOT, {"CiphertextBlob": old_blob})
    assert (old["Plaintext"], old["KeyMaterialId"]) == (b"old", old_material)
    assert kms.decrypt(ROOT, {"CiphertextBlob": new_blob})["KeyMaterialId"] == new_material
    status = kms.get_key_rotation_status(ROOT, {"KeyId": key_id})
    assert status["NextRotationDate"] == (START + 180 * DAY).timestamp()
    assert [e["operation"] for e in env.events() if e["principal"] == "kms.amazonaws.com"] == [
        "RotateKey"
    ]


def test_each_elapsed_period_rotates_once(env: Env) -> None:
    kms = env.kms()
    key_id = new_key(kms)
    kms.enable_key_rotation(ROOT, {"KeyId": key_id, "RotationPeriodInDays": 100})

    env.clock.advance(350 * DAY)
    rotations = env.kms().list_key_rotations(ROOT, {"KeyId": key_id})["Rotations"]

    assert [r["RotationDate"] for r in rotations] == [
        (START + days * DAY).timestamp() for days in (100, 200, 300)
    ]
    assert {r["RotationType"] for r in rotations} == {"AUTOMATIC"}
    assert [r["KeyMaterialState"] for r in rotations] == ["NON_CURRENT", "NON_CURRENT", "CURRENT"]


def test_disabled_keys_wait_and_rotate_when_enabled_again(env: Env) -> None:
    kms = env.kms()
    key_id = new_key(kms)
    kms.enable_key_rotation(ROOT, {"KeyId": key_id, "RotationPeriodInDays": 90})
    kms.disable_key(ROOT, {"KeyId": key_id})

    env.clock.advance(100 * DAY)
    kms = env.kms()
    assert kms.list_key_rotations(ROOT, {"KeyId": key_id})["Rotations"] == []
    kms.enable_key(ROOT, {"KeyId": key_id})

    assert len(env.kms().list_key_rotations(ROOT, {"KeyId": key_id})["Rotations"]) == 1


def test_disable_rotation_stops_it(env: Env) -> None:
    kms = env.kms()
    key_id = new_key(kms)
    kms.enable_key_rotation(ROOT, {"KeyId": key_id, "RotationPeriodInDays": 90})
    kms.disable_key_rotation(ROOT, {"KeyId": key_id})

    env.clock.advance(200 * DAY)

    assert env.kms().list_key_rotations(ROOT, {"KeyId": key_id})["Rotations"] == []


def test_rotate_on_demand_and_list_rotations(env: Env) -> None:
    kms = env.kms()
    key_id = new_key(kms)
    blob = kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x"})["CiphertextBlob"]

    assert kms.rotate_key_on_demand(ROOT, {"KeyId": key_id}) == {"KeyId": arn_of(key_id)}
    only_rotations = kms.list_key_rotations(ROOT, {"KeyId": key_id})
    everything = kms.list_key_rotations(
        ROOT, {"KeyId": key_id, "IncludeKeyMaterial": "ALL_KEY_MATERIAL"}
    )

    current = kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]["CurrentKeyMaterialId"]
    assert only_rotations == {
        "Rotations": [
            {
                "KeyId": arn_of(key_id),
                "KeyMaterialId": current,
                "KeyMaterialState": "CURRENT",
                "RotationDate": START.timestamp(),
                "RotationType": "ON_DEMAND",
            }
        ],
        "Truncated": False,
    }
    first = everything["Rotations"][0]
    assert first["KeyMaterialState"] == "NON_CURRENT" and "RotationDate" not in first
    assert kms.decrypt(ROOT, {"CiphertextBlob": blob})["Plaintext"] == b"x"
    assert kms.get_key_rotation_status(ROOT, {"KeyId": key_id})["KeyRotationEnabled"] is False


def test_list_key_rotations_pages(kms: Kms) -> None:
    key_id = new_key(kms)
    for _ in range(3):
        kms.rotate_key_on_demand(ROOT, {"KeyId": key_id})

    first = kms.list_key_rotations(ROOT, {"KeyId": key_id, "Limit": 2})
    rest = kms.list_key_rotations(ROOT, {"KeyId": key_id, "Marker": first["NextMarker"]})

    assert first["Truncated"] and len(first["Rotations"]) == 2
    assert not rest["Truncated"] and len(rest["Rotations"]) == 1


def test_on_demand_rotation_is_limited_to_25(kms: Kms) -> None:
    key_id = new_key(kms)
    for _ in range(25):
        kms.rotate_key_on_demand(ROOT, {"KeyId": key_id})

    with pytest.raises(LimitExceededException):
        kms.rotate_key_on_demand(ROOT, {"KeyId": key_id})


@pytest.mark.parametrize(
    "spec_usage",
    [
        ("RSA_2048", "ENCRYPT_DECRYPT"),
        ("ECC_NIST_P256", "SIGN_VERIFY"),
        ("HMAC_256", "GENERATE_VERIFY_MAC"),
    ],
)
def test_rotation_is_only_for_symmetric_encryption_keys(
    kms: Kms, spec_usage: tuple[str, str]
) -> None:
    key_id = new_key(kms, KeySpec=spec_usage[0], KeyUsage=spec_usage[1])

    for operation in (
        kms.enable_key_rotation,
        kms.disable_key_rotation,
        kms.get_key_rotation_status,
        kms.rotate_key_on_demand,
        kms.list_key_rotations,
    ):
        with pytest.raises(UnsupportedOperationException):
            operation(ROOT, {"KeyId": key_id})


def test_rotation_of_disabled_or_pending_keys(kms: Kms) -> None:
    key_id = new_key(kms)
    kms.disable_key(ROOT, {"KeyId": key_id})

    for operation in (kms.enable_key_rotation, kms.disable_key_rotation, kms.rotate_key_on_demand):
        with pytest.raises(DisabledException):
            operation(ROOT, {"KeyId": key_id})
    kms.schedule_key_deletion(ROOT, {"KeyId": key_id})
    for operation in (kms.enable_key_rotation, kms.rotate_key_on_demand):
        with pytest.raises(KMSInvalidStateException):
            operation(ROOT, {"KeyId": key_id})
    assert kms.get_key_rotation_status(ROOT, {"KeyId": key_id})["KeyRotationEnabled"] is False


def test_keys_in_a_cloudhsm_key_store_do_not_rotate(env: Env) -> None:
    env.backend.add_cluster()
    kms = env.kms()
    store = kms.create_custom_key_store(
        ROOT,
        {
            "CustomKeyStoreName": "hsm",
            "CloudHsmClusterId": CLUSTER_ID,
            "TrustAnchorCertificate": TRUST_ANCHOR,
            "KeyStorePassword": KMSUSER_PASSWORD,
        },
    )["CustomKeyStoreId"]
    kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": store})
    key_id = new_key(env.kms(), Origin="AWS_CLOUDHSM", CustomKeyStoreId=store)

    with pytest.raises(UnsupportedOperationException, match="origin is AWS_CLOUDHSM"):
        env.kms().enable_key_rotation(ROOT, {"KeyId": key_id})
