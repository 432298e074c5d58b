"""CloudHSM as a KMS custom key store backend (emulator.keystore.CustomKeyStoreBackend)."""

from __future__ import annotations

import pytest

from emulator.cloudhsm import CloudHsmKeyStoreBackend, key_reference
from emulator.keystore import ClusterInfo, CustomKeyStoreBackend, KeyStoreBackendError
from tests.emulator.conformance.hsm_world import PASSWORDS, HsmWorld, make_world

KMSUSER_PASSWORD = "kms-user-pass"


@pytest.fixture
def world() -> HsmWorld:
    world = make_world(2)
    engine = world.engine()
    admin = world.login("admin")
    engine.create_user(admin, "kmsuser", KMSUSER_PASSWORD, "crypto-user")
    engine.close_session(admin)
    return world


@pytest.fixture
def backend(world) -> CloudHsmKeyStoreBackend:
    return CloudHsmKeyStoreBackend(world.engine())


def _code(call) -> str:
    with pytest.raises(KeyStoreBackendError) as error:
        call()
    return error.value.code


def test_it_satisfies_the_protocol(backend):
    contract: CustomKeyStoreBackend = backend
    assert callable(contract.cluster_info)
    assert "CloudHsm" in repr(backend)


def test_cluster_info_reports_state_hsms_and_trust_anchor(backend, world):
    info = backend.cluster_info(world.cluster_id)
    assert isinstance(info, ClusterInfo)
    assert info.state == "ACTIVE"
    assert {h.availability_zone for h in info.hsms} == {"us-east-1a", "us-east-1b"}
    assert {h.state for h in info.hsms} == {"ACTIVE"}
    assert info.trust_anchor_pem and info.trust_anchor_pem.startswith("-----BEGIN CERTIFICATE")
    assert backend.cluster_info("cluster-missing") is None


def test_check_kmsuser_maps_login_failures(backend, world):
    backend.check_kmsuser(world.cluster_id, KMSUSER_PASSWORD)
    assert _code(lambda: backend.check_kmsuser("cluster-missing", "x")) == "CLUSTER_NOT_FOUND"
    assert _code(lambda: backend.check_kmsuser(world.cluster_id, "wrong-pass")) == (
        "INVALID_CREDENTIALS"
    )
    for _ in range(4):
        _code(lambda: backend.check_kmsuser(world.cluster_id, "wrong-pass"))
    assert _code(lambda: backend.check_kmsuser(world.cluster_id, KMSUSER_PASSWORD)) == (
        "USER_LOCKED_OUT"
    )
    assert world.storage.list("hsm.session") == []  # every attempt closed its session


def test_a_cluster_without_kmsuser_is_user_not_found(world):
    engine = world.engine()
    admin = world.login("admin")
    engine.delete_user(admin, "kmsuser", "crypto-user")
    backend = CloudHsmKeyStoreBackend(engine)
    assert _code(lambda: backend.check_kmsuser(world.cluster_id, KMSUSER_PASSWORD)) == (
        "USER_NOT_FOUND"
    )


def test_create_key_makes_a_non_extractable_aes_256_token_key_owned_by_kmsuser(backend, world):
    reference = backend.create_key(world.cluster_id, KMSUSER_PASSWORD, "kms-key-1")
    engine = world.engine()
    session = engine.login(world.cluster_id, "kmsuser", KMSUSER_PASSWORD)
    (handle,) = engine.find_keys(session, {"label": "kms-key-1"})
    assert key_reference(handle) == reference
    view = engine.describe_key(session, handle)
    assert view["key-info"]["key-owners"][0]["username"] == "kmsuser"
    attributes = view["attributes"]
    assert attributes["token"] is True and attributes["extractable"] is False
    assert attributes["key-length-bytes"] == 32 and attributes["key-type"] == "aes"
    alice = world.login("alice")
    assert engine.find_keys(alice, {"label": "kms-key-1"}) == []
    assert PASSWORDS["alice"] != KMSUSER_PASSWORD


def test_encrypt_and_decrypt_with_aad(backend, world):
    reference = backend.create_key(world.cluster_id, KMSUSER_PASSWORD, "kms-key")
    blob = backend.encrypt(world.cluster_id, KMSUSER_PASSWORD, reference, b"data key", b"ctx")
    assert len(blob) == 12 + len(b"data key") + 16
    assert backend.decrypt(world.cluster_id, KMSUSER_PASSWORD, reference, blob, b"ctx") == (
        b"data key"
    )
    assert (
        _code(
            lambda: backend.decrypt(world.cluster_id, KMSUSER_PASSWORD, reference, blob, b"other")
        )
        == "INTERNAL_ERROR"
    )
    assert (
        _code(lambda: backend.encrypt(world.cluster_id, "wrong-pass", reference, b"x", b""))
        == "INVALID_CREDENTIALS"
    )


def test_delete_key_destroys_it(backend, world):
    reference = backend.create_key(world.cluster_id, KMSUSER_PASSWORD, "short-lived")
    backend.delete_key(world.cluster_id, KMSUSER_PASSWORD, reference)
    assert (
        _code(lambda: backend.encrypt(world.cluster_id, KMSUSER_PASSWORD, reference, b"x", b""))
        == "INTERNAL_ERROR"
    )
    assert (
        _code(lambda: backend.delete_key(world.cluster_id, KMSUSER_PASSWORD, reference))
        == "INTERNAL_ERROR"
    )


def test_too_few_active_hsms_is_insufficient_cloudhsm_hsms(backend, world):
    reference = backend.create_key(world.cluster_id, KMSUSER_PASSWORD, "needs-two")
    engine = world.engine()
    hsm_id = engine.describe_clusters()["Clusters"][0]["Hsms"][0]["HsmId"]
    engine.fail_hsm(hsm_id)
    assert (
        _code(lambda: backend.encrypt(world.cluster_id, KMSUSER_PASSWORD, reference, b"x", b""))
        == "INSUFFICIENT_CLOUDHSM_HSMS"
    )
    assert backend.cluster_info(world.cluster_id).state == "DEGRADED"
    other = engine.describe_clusters()["Clusters"][0]["Hsms"][1]["HsmId"]
    engine.fail_hsm(other)
    assert _code(lambda: backend.check_kmsuser(world.cluster_id, KMSUSER_PASSWORD)) == (
        "INSUFFICIENT_CLOUDHSM_HSMS"
    )
    assert (
        _code(lambda: backend.create_key(world.cluster_id, KMSUSER_PASSWORD, "x"))
        == "INSUFFICIENT_CLOUDHSM_HSMS"
    )
