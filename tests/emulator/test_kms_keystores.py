"""CloudHSM custom key stores through the CustomKeyStoreBackend protocol (a fake cluster)."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.core import Host
from emulator.kms import Kms
from emulator.kms.errors import (
    CloudHsmClusterInUseException,
    CloudHsmClusterInvalidConfigurationException,
    CloudHsmClusterNotActiveException,
    CloudHsmClusterNotFoundException,
    CloudHsmClusterNotRelatedException,
    CustomKeyStoreHasCMKsException,
    CustomKeyStoreInvalidStateException,
    CustomKeyStoreNameInUseException,
    CustomKeyStoreNotFoundException,
    IncorrectTrustAnchorException,
    InvalidCiphertextException,
    KeyUnavailableException,
    KMSInvalidStateException,
    LimitExceededException,
    UnsupportedOperationException,
    ValidationException,
)
from emulator.kms.primitives import parse_blob
from tests.emulator.test_kms_support import (
    CLUSTER_ID,
    DAY,
    KMSUSER_PASSWORD,
    OTHER_CLUSTER_ID,
    OTHER_TRUST_ANCHOR,
    OUTSIDER,
    ROOT,
    START,
    TRUST_ANCHOR,
    Env,
    _fresh_cache,
    arn_of,
    env,
    new_key,
)

__all__ = ["_fresh_cache", "env"]  # fixtures used by name


def create_store(kms: Kms, **overrides: Any) -> str:
    params = {
        "CustomKeyStoreName": "hsm-store",
        "CloudHsmClusterId": CLUSTER_ID,
        "TrustAnchorCertificate": TRUST_ANCHOR,
        "KeyStorePassword": KMSUSER_PASSWORD,
    } | overrides
    store_id: str = kms.create_custom_key_store(ROOT, params)["CustomKeyStoreId"]
    return store_id


def describe(kms: Kms, store_id: str) -> dict[str, Any]:
    stores = kms.describe_custom_key_stores(ROOT, {"CustomKeyStoreId": store_id})
    entry: dict[str, Any] = stores["CustomKeyStores"][0]
    return entry


@pytest.fixture
def connected(env: Env) -> tuple[Env, str]:
    env.backend.add_cluster()
    kms = env.kms()
    store_id = create_store(kms)
    kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    return env, store_id


def test_create_and_describe_a_store(env: Env) -> None:
    env.backend.add_cluster()
    kms = env.kms()

    store_id = create_store(kms)

    assert store_id.startswith("cks-") and len(store_id) == 21
    assert kms.describe_custom_key_stores(ROOT) == {
        "CustomKeyStores": [
            {
                "CustomKeyStoreId": store_id,
                "CustomKeyStoreName": "hsm-store",
                "CloudHsmClusterId": CLUSTER_ID,
                "TrustAnchorCertificate": TRUST_ANCHOR,
                "ConnectionState": "DISCONNECTED",
                "CreationDate": START.timestamp(),
                "CustomKeyStoreType": "AWS_CLOUDHSM",
            }
        ],
        "Truncated": False,
    }
    assert (
        describe(kms, store_id)
        == kms.describe_custom_key_stores(ROOT, {"CustomKeyStoreName": "hsm-store"})[
            "CustomKeyStores"
        ][0]
    )


def test_the_password_is_sealed_and_never_shown(env: Env) -> None:
    env.backend.add_cluster()
    kms = env.kms()
    create_store(kms)

    assert KMSUSER_PASSWORD not in repr(env.storage.list("kms.keystore"))
    assert KMSUSER_PASSWORD not in repr(env.events())
    assert KMSUSER_PASSWORD not in repr(kms.describe_custom_key_stores(ROOT))


@pytest.mark.parametrize(
    ("setup", "params", "error"),
    [
        ({}, {"CloudHsmClusterId": OTHER_CLUSTER_ID}, CloudHsmClusterNotFoundException),
        ({"state": "UNINITIALIZED"}, {}, CloudHsmClusterNotActiveException),
        ({"state": "INITIALIZED"}, {}, CloudHsmClusterNotActiveException),
        ({"zones": ("us-east-1a",)}, {}, CloudHsmClusterInvalidConfigurationException),
        ({"zones": ("us-east-1a", "us-east-1a")}, {}, CloudHsmClusterInvalidConfigurationException),
        ({}, {"TrustAnchorCertificate": OTHER_TRUST_ANCHOR}, IncorrectTrustAnchorException),
        ({"trust_anchor": None}, {}, IncorrectTrustAnchorException),
        ({}, {"KeyStorePassword": "short"}, ValidationException),
        ({}, {"CloudHsmClusterId": "cluster-1"}, ValidationException),
        ({}, {"CustomKeyStoreType": "EXTERNAL_KEY_STORE"}, ValidationException),  # no proxy
        ({}, {"XksProxyUriPath": "/kms/xks/v1"}, ValidationException),  # XKS-only parameter
    ],
)
def test_create_store_errors(
    env: Env, setup: dict[str, Any], params: dict[str, Any], error: type[Exception]
) -> None:
    env.backend.add_cluster(**setup)

    with pytest.raises(error):
        create_store(env.kms(), **params)


def test_trust_anchor_comparison_ignores_line_breaks(env: Env) -> None:
    env.backend.add_cluster()

    store_id = create_store(env.kms(), TrustAnchorCertificate=TRUST_ANCHOR.replace("\n", "\r\n"))
    stores = env.kms().describe_custom_key_stores(ROOT, {"CustomKeyStoreId": store_id})
    assert [s["CustomKeyStoreId"] for s in stores["CustomKeyStores"]] == [store_id]


def test_required_fields_of_a_cloudhsm_store(env: Env) -> None:
    env.backend.add_cluster()

    with pytest.raises(ValidationException, match="KeyStorePassword"):
        env.kms().create_custom_key_store(
            ROOT,
            {
                "CustomKeyStoreName": "s",
                "CloudHsmClusterId": CLUSTER_ID,
                "TrustAnchorCertificate": TRUST_ANCHOR,
            },
        )


def test_names_and_clusters_belong_to_one_store(env: Env) -> None:
    env.backend.add_cluster()
    env.backend.add_cluster(OTHER_CLUSTER_ID)
    kms = env.kms()
    create_store(kms)

    with pytest.raises(CustomKeyStoreNameInUseException):
        create_store(kms, CloudHsmClusterId=OTHER_CLUSTER_ID)
    with pytest.raises(CloudHsmClusterInUseException):
        create_store(kms, CustomKeyStoreName="second")


def test_without_a_backend_no_cluster_exists(env: Env) -> None:
    kms = Kms(Host(env.storage, env.clock, env.kms()._random, env.sealer))

    with pytest.raises(CloudHsmClusterNotFoundException):
        create_store(kms)


def test_other_accounts_cannot_manage_stores(env: Env) -> None:
    with pytest.raises(Exception, match="not authorized"):
        env.kms().describe_custom_key_stores(OUTSIDER)


# --- connecting -----------------------------------------------------------------------------------


def test_connect_goes_connecting_then_connected_at_the_next_tick(env: Env) -> None:
    env.backend.add_cluster()
    kms = env.kms()
    store_id = create_store(kms)

    assert kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id}) == {}
    stored = env.storage.list("kms.keystore")[0][1]
    state_after = describe(env.kms(), store_id)

    assert stored["state"] == "CONNECTING"
    assert state_after["ConnectionState"] == "CONNECTED"
    assert "ConnectionErrorCode" not in state_after
    kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})  # connected: a no-op


@pytest.mark.parametrize(
    ("break_it", "code"),
    [
        (lambda backend: backend.passwords.update({CLUSTER_ID: "changed!"}), "INVALID_CREDENTIALS"),
        (lambda backend: backend.locked.add(CLUSTER_ID), "USER_LOCKED_OUT"),
        (lambda backend: backend.clusters.pop(CLUSTER_ID), "CLUSTER_NOT_FOUND"),
    ],
)
def test_kmsuser_login_failures_leave_the_store_failed(env: Env, break_it: Any, code: str) -> None:
    env.backend.add_cluster()
    kms = env.kms()
    store_id = create_store(kms)
    break_it(env.backend)

    kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    entry = describe(env.kms(), store_id)

    assert (entry["ConnectionState"], entry["ConnectionErrorCode"]) == ("FAILED", code)
    with pytest.raises(CustomKeyStoreInvalidStateException):
        kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    kms.disconnect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    assert describe(kms, store_id)["ConnectionState"] == "DISCONNECTED"


def test_connect_checks_the_cluster_synchronously(env: Env) -> None:
    env.backend.add_cluster()
    kms = env.kms()
    store_id = create_store(kms)

    env.backend.set_state(CLUSTER_ID, "DEGRADED")
    with pytest.raises(CloudHsmClusterNotActiveException):
        kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    env.backend.add_cluster(zones=())
    with pytest.raises(CloudHsmClusterInvalidConfigurationException):
        kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})


def test_connect_and_disconnect_of_unknown_or_disconnected_stores(env: Env) -> None:
    env.backend.add_cluster()
    kms = env.kms()
    store_id = create_store(kms)

    with pytest.raises(CustomKeyStoreNotFoundException):
        kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": "cks-00000000000000000"})
    with pytest.raises(CustomKeyStoreInvalidStateException):
        kms.disconnect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    with pytest.raises(CustomKeyStoreNotFoundException):
        kms.describe_custom_key_stores(ROOT, {"CustomKeyStoreName": "nope"})
    with pytest.raises(ValidationException):
        kms.describe_custom_key_stores(
            ROOT, {"CustomKeyStoreName": "hsm-store", "CustomKeyStoreId": store_id}
        )


# --- keys in the store ----------------------------------------------------------------------------


def test_keys_in_the_store_encrypt_through_the_hsm(connected: tuple[Env, str]) -> None:
    env, store_id = connected
    kms = env.kms()

    metadata = kms.create_key(ROOT, {"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": store_id})[
        "KeyMetadata"
    ]
    key_id = metadata["KeyId"]
    blob = kms.encrypt(
        ROOT, {"KeyId": key_id, "Plaintext": b"in the hsm", "EncryptionContext": {"a": "b"}}
    )["CiphertextBlob"]
    parsed = parse_blob(blob)

    assert metadata["Origin"] == "AWS_CLOUDHSM"
    assert metadata["CustomKeyStoreId"] == store_id
    assert metadata["CloudHsmClusterId"] == CLUSTER_ID
    assert metadata["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert "CurrentKeyMaterialId" not in metadata
    assert "material" not in env.key_record(key_id)
    assert len(env.backend.keys) == 1
    assert parsed is not None and parsed[0].key_id == key_id
    assert kms.decrypt(ROOT, {"CiphertextBlob": blob, "EncryptionContext": {"a": "b"}}) == {
        "KeyId": arn_of(key_id),
        "Plaintext": b"in the hsm",
        "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(ROOT, {"CiphertextBlob": blob})
    data_key = kms.generate_data_key(ROOT, {"KeyId": key_id, "KeySpec": "AES_256"})
    assert (
        kms.decrypt(ROOT, {"CiphertextBlob": data_key["CiphertextBlob"]})["Plaintext"]
        == data_key["Plaintext"]
    )
    assert kms.generate_random(ROOT, {"NumberOfBytes": 8, "CustomKeyStoreId": store_id})[
        "Plaintext"
    ]


def test_store_keys_are_symmetric_only_and_need_a_connected_store(
    connected: tuple[Env, str],
) -> None:
    env, store_id = connected
    kms = env.kms()
    in_store = {"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": store_id}

    with pytest.raises(UnsupportedOperationException):
        kms.create_key(ROOT, {**in_store, "KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"})
    with pytest.raises(ValidationException):
        kms.create_key(ROOT, {"Origin": "AWS_CLOUDHSM"})
    with pytest.raises(ValidationException):
        kms.create_key(ROOT, {"CustomKeyStoreId": store_id})
    with pytest.raises(CustomKeyStoreNotFoundException):
        kms.create_key(
            ROOT, {"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": "cks-00000000000000000"}
        )
    key_id = new_key(kms, **in_store)
    with pytest.raises(UnsupportedOperationException):
        kms.generate_data_key_pair(ROOT, {"KeyId": key_id, "KeyPairSpec": "ECC_NIST_P256"})
    kms.disconnect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    with pytest.raises(CustomKeyStoreInvalidStateException):
        kms.create_key(ROOT, in_store)
    with pytest.raises(CustomKeyStoreInvalidStateException):
        kms.generate_random(ROOT, {"NumberOfBytes": 8, "CustomKeyStoreId": store_id})


def test_create_key_needs_two_zones_in_the_cluster(connected: tuple[Env, str]) -> None:
    env, store_id = connected
    env.backend.add_cluster(zones=("us-east-1a",))

    with pytest.raises(CloudHsmClusterInvalidConfigurationException):
        new_key(env.kms(), Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id)


def test_a_disconnected_store_makes_its_keys_unavailable(connected: tuple[Env, str]) -> None:
    env, store_id = connected
    kms = env.kms()
    key_id = new_key(kms, Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id)
    blob = kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x"})["CiphertextBlob"]

    kms.disconnect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    metadata = kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]

    assert (metadata["KeyState"], metadata["Enabled"]) == ("Unavailable", False)
    with pytest.raises(KMSInvalidStateException, match="is unavailable"):
        kms.decrypt(ROOT, {"CiphertextBlob": blob})
    with pytest.raises(KMSInvalidStateException, match="is unavailable"):
        kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x"})
    kms.disable_key(ROOT, {"KeyId": key_id})  # allowed while unavailable; shows once connected
    kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    assert env.kms().describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]["KeyState"] == "Disabled"


def test_hsm_failures_during_crypto(connected: tuple[Env, str]) -> None:
    env, store_id = connected
    kms = env.kms()
    key_id = new_key(kms, Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id)

    env.backend.failing = "NETWORK_ERRORS"
    with pytest.raises(KeyUnavailableException):
        kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x"})
    env.backend.failing = "USER_NOT_FOUND"
    with pytest.raises(KMSInvalidStateException, match="USER_NOT_FOUND"):
        kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x"})


def test_pending_deletion_wins_over_unavailable_and_deletion_deletes_the_hsm_key(
    connected: tuple[Env, str],
) -> None:
    env, store_id = connected
    kms = env.kms()
    key_id = new_key(kms, Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id)
    kms.schedule_key_deletion(ROOT, {"KeyId": key_id, "PendingWindowInDays": 7})
    kms.disconnect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})

    assert kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]["KeyState"] == "PendingDeletion"
    with pytest.raises(CustomKeyStoreHasCMKsException):
        kms.delete_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    env.clock.advance(8 * DAY)
    kms = env.kms()
    kms.tick()

    assert env.backend.keys == {} and len(env.backend.deleted) == 1
    kms.disconnect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    kms.delete_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    assert kms.describe_custom_key_stores(ROOT)["CustomKeyStores"] == []


def test_delete_store_must_be_disconnected(connected: tuple[Env, str]) -> None:
    env, store_id = connected

    with pytest.raises(CustomKeyStoreInvalidStateException):
        env.kms().delete_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})


# --- updating -------------------------------------------------------------------------------------


def test_update_renames_while_connected_but_changes_secrets_only_disconnected(
    connected: tuple[Env, str],
) -> None:
    env, store_id = connected
    kms = env.kms()

    kms.update_custom_key_store(
        ROOT, {"CustomKeyStoreId": store_id, "NewCustomKeyStoreName": "renamed"}
    )
    with pytest.raises(CustomKeyStoreInvalidStateException):
        kms.update_custom_key_store(
            ROOT, {"CustomKeyStoreId": store_id, "KeyStorePassword": "newPassword"}
        )
    kms.disconnect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    env.backend.passwords[CLUSTER_ID] = "newPassword"
    kms.update_custom_key_store(
        ROOT, {"CustomKeyStoreId": store_id, "KeyStorePassword": "newPassword"}
    )
    kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})

    entry = describe(env.kms(), store_id)
    assert (entry["CustomKeyStoreName"], entry["ConnectionState"]) == ("renamed", "CONNECTED")
    with pytest.raises(ValidationException):
        kms.update_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})


def test_update_to_a_related_cluster_only(connected: tuple[Env, str]) -> None:
    env, store_id = connected
    kms = env.kms()
    kms.disconnect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    env.backend.add_cluster(OTHER_CLUSTER_ID, trust_anchor=OTHER_TRUST_ANCHOR)

    with pytest.raises(CloudHsmClusterNotRelatedException):
        kms.update_custom_key_store(
            ROOT, {"CustomKeyStoreId": store_id, "CloudHsmClusterId": OTHER_CLUSTER_ID}
        )
    env.backend.add_cluster(OTHER_CLUSTER_ID)
    kms.update_custom_key_store(
        ROOT, {"CustomKeyStoreId": store_id, "CloudHsmClusterId": OTHER_CLUSTER_ID}
    )

    assert describe(kms, store_id)["CloudHsmClusterId"] == OTHER_CLUSTER_ID
    with pytest.raises(CustomKeyStoreNameInUseException):
        env.backend.add_cluster()
        other = create_store(kms, CustomKeyStoreName="second")
        kms.update_custom_key_store(
            ROOT, {"CustomKeyStoreId": other, "NewCustomKeyStoreName": "hsm-store"}
        )


# --- against the real CloudHSM engine -------------------------------------------------------------


def test_end_to_end_with_the_cloudhsm_engine(env: Env) -> None:
    cloudhsm = pytest.importorskip("emulator.cloudhsm")
    engine = cloudhsm.CloudHsm(Host(env.storage, env.clock, env.kms()._random, env.sealer))
    cluster_id = cloudhsm.provision_active_cluster(
        engine,
        env.clock.advance,
        env.clock.now,
        hsm_count=2,
        admin_password="admin-pass-1",
        crypto_users={"kmsuser": KMSUSER_PASSWORD},
    )
    backend = cloudhsm.CloudHsmKeyStoreBackend(engine)
    info = backend.cluster_info(cluster_id)
    assert info is not None and info.trust_anchor_pem is not None
    kms = Kms(Host(env.storage, env.clock, env.kms()._random, env.sealer), keystore_backend=backend)

    store_id = kms.create_custom_key_store(
        ROOT,
        {
            "CustomKeyStoreName": "real-hsm",
            "CloudHsmClusterId": cluster_id,
            "TrustAnchorCertificate": info.trust_anchor_pem,
            "KeyStorePassword": KMSUSER_PASSWORD,
        },
    )["CustomKeyStoreId"]
    kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    key_id = kms.create_key(ROOT, {"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": store_id})[
        "KeyMetadata"
    ]["KeyId"]
    blob = kms.encrypt(
        ROOT, {"KeyId": key_id, "Plaintext": b"real", "EncryptionContext": {"a": "b"}}
    )["CiphertextBlob"]

    assert (
        kms.decrypt(ROOT, {"CiphertextBlob": blob, "EncryptionContext": {"a": "b"}})["Plaintext"]
        == b"real"
    )
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(ROOT, {"CiphertextBlob": blob})
    kms.disconnect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    kms.update_custom_key_store(
        ROOT, {"CustomKeyStoreId": store_id, "KeyStorePassword": "wrongPassword"}
    )
    kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    entry = describe(kms, store_id)
    assert (entry["ConnectionState"], entry["ConnectionErrorCode"]) == (
        "FAILED",
        "INVALID_CREDENTIALS",
    )
    assert kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]["KeyState"] == "Unavailable"


def test_at_most_ten_custom_key_stores(env: Env) -> None:
    kms = env.kms()
    for index in range(10):
        cluster_id = "cluster-abcdefghij" + "abcdefghij"[index]
        env.backend.add_cluster(cluster_id)
        create_store(kms, CustomKeyStoreName=f"store-{index}", CloudHsmClusterId=cluster_id)
    env.backend.add_cluster(OTHER_CLUSTER_ID)

    with pytest.raises(LimitExceededException):
        create_store(kms, CustomKeyStoreName="eleventh", CloudHsmClusterId=OTHER_CLUSTER_ID)
    page = kms.describe_custom_key_stores(ROOT, {"Limit": 4})
    assert page["Truncated"] and len(page["CustomKeyStores"]) == 4


def test_generate_random_in_an_unknown_store(env: Env) -> None:
    with pytest.raises(CustomKeyStoreNotFoundException):
        env.kms().generate_random(
            ROOT, {"NumberOfBytes": 8, "CustomKeyStoreId": "cks-00000000000000000"}
        )
