"""External key stores: a KMS key whose every ciphertext needs both KMS's key material and an
external key behind an XKS proxy; connection states; what happens when the proxy or the
external key goes away or answers nonsense."""

from __future__ import annotations

import pytest

from emulator.core import Host, SeededRandom
from emulator.kms import Kms
from emulator.kms.errors import (
    CustomKeyStoreInvalidStateException,
    KeyUnavailableException,
    KMSInvalidStateException,
    UnsupportedOperationException,
    ValidationException,
    XksKeyAlreadyInUseException,
    XksKeyNotFoundException,
    XksProxyIncorrectAuthenticationCredentialException,
    XksProxyInvalidConfigurationException,
    XksProxyUriInUseException,
    XksProxyUriUnreachableException,
)
from emulator.xks import PROXY_ENDPOINT, PROXY_PATH, ExternalKeyManager
from tests.emulator.test_kms_support import ACCOUNT, DAY, REGION, ROOT, Env, _fresh_cache, env

__all__ = ["_fresh_cache", "env"]  # fixtures used by name


@pytest.fixture
def manager(env: Env) -> ExternalKeyManager:
    manager = ExternalKeyManager(env.storage, env.sealer, SeededRandom(3))
    manager.create_key("bank-key-1")
    return manager


@pytest.fixture
def kms(env: Env, manager: ExternalKeyManager) -> Kms:
    return Kms(
        Host(env.storage, env.clock, SeededRandom(5), env.sealer),
        account_id=ACCOUNT,
        region=REGION,
        xks_proxy=manager,
    )


def store_request(manager: ExternalKeyManager, **changes: object) -> dict:
    access_key_id, secret = manager.credential()
    request = {
        "CustomKeyStoreName": "bank",
        "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
        "XksProxyUriEndpoint": PROXY_ENDPOINT,
        "XksProxyUriPath": PROXY_PATH,
        "XksProxyConnectivity": "PUBLIC_ENDPOINT",
        "XksProxyAuthenticationCredential": {
            "AccessKeyId": access_key_id,
            "RawSecretAccessKey": secret,
        },
    }
    return request | changes


def connected_store(env: Env, kms: Kms, manager: ExternalKeyManager) -> str:
    store_id: str = kms.create_custom_key_store(ROOT, store_request(manager))["CustomKeyStoreId"]
    kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    env.clock.advance(DAY / 1000)
    assert kms.describe_custom_key_stores(ROOT, {})["CustomKeyStores"][0]["ConnectionState"] == (
        "CONNECTED"
    )
    return store_id


def test_a_key_in_an_external_key_store_needs_the_external_key_to_decrypt(
    env: Env, kms: Kms, manager: ExternalKeyManager
) -> None:
    store_id = connected_store(env, kms, manager)
    key = kms.create_key(
        ROOT,
        {"Origin": "EXTERNAL_KEY_STORE", "CustomKeyStoreId": store_id, "XksKeyId": "bank-key-1"},
    )["KeyMetadata"]
    assert key["XksKeyConfiguration"] == {"Id": "bank-key-1"}
    assert key["Origin"] == "EXTERNAL_KEY_STORE" and "CloudHsmClusterId" not in key
    blob = kms.encrypt(ROOT, {"KeyId": key["KeyId"], "Plaintext": b"ledger"})["CiphertextBlob"]
    assert kms.decrypt(ROOT, {"CiphertextBlob": blob})["Plaintext"] == b"ledger"

    manager.set_status("bank-key-1", "DISABLED")  # the bank's off switch
    with pytest.raises(KMSInvalidStateException, match="external key manager"):
        kms.decrypt(ROOT, {"CiphertextBlob": blob})
    manager.set_status("bank-key-1", "ENABLED")
    manager.set_mode("unreachable")
    with pytest.raises(KeyUnavailableException):
        kms.decrypt(ROOT, {"CiphertextBlob": blob})
    manager.set_mode("malformed")
    with pytest.raises(KMSInvalidStateException, match="no valid"):
        kms.encrypt(ROOT, {"KeyId": key["KeyId"], "Plaintext": b"x"})
    manager.set_mode("healthy")
    assert kms.decrypt(ROOT, {"CiphertextBlob": blob})["Plaintext"] == b"ledger"

    kms.disconnect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    assert kms.describe_key(ROOT, {"KeyId": key["KeyId"]})["KeyMetadata"]["KeyState"] == (
        "Unavailable"
    )


def test_store_creation_checks_the_proxy_and_its_credential(
    kms: Kms, manager: ExternalKeyManager
) -> None:
    with pytest.raises(XksProxyUriUnreachableException):
        kms.create_custom_key_store(
            ROOT, store_request(manager, XksProxyUriEndpoint="https://elsewhere.example")
        )
    with pytest.raises(XksProxyIncorrectAuthenticationCredentialException):
        kms.create_custom_key_store(
            ROOT,
            store_request(
                manager,
                XksProxyAuthenticationCredential={
                    "AccessKeyId": "AKIAWRONG",
                    "RawSecretAccessKey": "x" * 43,
                },
            ),
        )
    with pytest.raises(XksProxyInvalidConfigurationException):
        kms.create_custom_key_store(ROOT, store_request(manager, XksProxyUriPath="/somewhere"))
    with pytest.raises(UnsupportedOperationException):
        kms.create_custom_key_store(
            ROOT, store_request(manager, XksProxyConnectivity="VPC_ENDPOINT_SERVICE")
        )
    kms.create_custom_key_store(ROOT, store_request(manager))
    with pytest.raises(XksProxyUriInUseException):
        kms.create_custom_key_store(ROOT, store_request(manager, CustomKeyStoreName="again"))
    entry = kms.describe_custom_key_stores(ROOT, {})["CustomKeyStores"][0]
    assert entry["CustomKeyStoreType"] == "EXTERNAL_KEY_STORE"
    assert entry["XksProxyConfiguration"]["UriEndpoint"] == PROXY_ENDPOINT
    assert "RawSecretAccessKey" not in str(entry)


def test_connecting_to_a_proxy_that_answers_nonsense_fails_with_a_connection_error_code(
    env: Env, kms: Kms, manager: ExternalKeyManager
) -> None:
    store_id = kms.create_custom_key_store(ROOT, store_request(manager))["CustomKeyStoreId"]
    manager.set_mode("malformed")
    kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    env.clock.advance(DAY / 1000)
    entry = kms.describe_custom_key_stores(ROOT, {})["CustomKeyStores"][0]
    assert (entry["ConnectionState"], entry["ConnectionErrorCode"]) == (
        "FAILED",
        "XKS_PROXY_INVALID_RESPONSE",
    )


def test_keys_need_a_connected_store_and_an_external_key_it_has(
    env: Env, kms: Kms, manager: ExternalKeyManager
) -> None:
    store_id = kms.create_custom_key_store(ROOT, store_request(manager))["CustomKeyStoreId"]
    request = {
        "Origin": "EXTERNAL_KEY_STORE",
        "CustomKeyStoreId": store_id,
        "XksKeyId": "bank-key-1",
    }
    with pytest.raises(CustomKeyStoreInvalidStateException):
        kms.create_key(ROOT, request)
    kms.connect_custom_key_store(ROOT, {"CustomKeyStoreId": store_id})
    env.clock.advance(DAY / 1000)
    with pytest.raises(XksKeyNotFoundException):
        kms.create_key(ROOT, request | {"XksKeyId": "no-such-key"})
    with pytest.raises(ValidationException):
        kms.create_key(ROOT, {"Origin": "EXTERNAL_KEY_STORE", "CustomKeyStoreId": store_id})
    kms.create_key(ROOT, request)
    with pytest.raises(XksKeyAlreadyInUseException):
        kms.create_key(ROOT, request)


def test_the_key_manager_refuses_bad_key_ids_and_duplicates(manager: ExternalKeyManager) -> None:
    with pytest.raises(ValueError, match="1 to 128"):
        manager.create_key("no spaces please")
    with pytest.raises(ValueError, match="exists already"):
        manager.create_key("bank-key-1")
    assert manager.keys() == [("bank-key-1", "ENABLED")]
