"""Custom key stores: Create, Connect, Disconnect, Describe, Update, Delete, for both types:
AWS CloudHSM key stores (a cluster, through ``kmsuser``) and external key stores (an XKS
proxy in front of a key manager outside AWS, :mod:`.xks_bridge`).

Connecting is asynchronous in AWS: ConnectCustomKeyStore checks the cluster, leaves the
store CONNECTING and returns; the first ``tick`` after that logs in as kmsuser through the
backend (or asks the XKS proxy for its health) and settles the store as CONNECTED, or FAILED
with AWS's ConnectionErrorCode.
"""

from __future__ import annotations

import re

from emulator.keystore import ClusterInfo, XksEndpoint
from emulator.kms import authorization, hsm_bridge, lifecycle, xks_bridge
from emulator.kms.errors import (
    CloudHsmClusterInUseException,
    CloudHsmClusterInvalidConfigurationException,
    CloudHsmClusterNotRelatedException,
    CustomKeyStoreHasCMKsException,
    CustomKeyStoreInvalidStateException,
    CustomKeyStoreNameInUseException,
    CustomKeyStoreNotFoundException,
    IncorrectTrustAnchorException,
    LimitExceededException,
    UnsupportedOperationException,
    ValidationException,
    XksProxyInvalidConfigurationException,
    XksProxyUriInUseException,
)
from emulator.kms.records import KEY, KEYSTORE, KeyStoreRecord
from emulator.kms.state import JSON, Call, KmsState, listing, page_of

MAX_CUSTOM_KEY_STORES = 10


def _same_certificate(left: str | None, right: str | None) -> bool:
    """PEM texts equal up to whitespace and line breaks."""
    if left is None or right is None:
        return False
    return "".join(left.split()) == "".join(right.split())


def _stores(kms: KmsState) -> list[KeyStoreRecord]:
    return [KeyStoreRecord.from_dict(data) for _, data in kms._scan(KEYSTORE)]


def _seal_password(kms: KmsState, store_id: str, password: str) -> str:
    return kms._sealer.seal(password.encode("utf-8"), f"kms-keystore:{store_id}")


def _require_cluster_free(kms: KmsState, cluster_id: str, except_store: str | None = None) -> None:
    for store in _stores(kms):
        if store.cluster_id == cluster_id and store.store_id != except_store:
            raise CloudHsmClusterInUseException(
                f"AWS CloudHSM cluster {cluster_id} is already associated with custom key "
                f"store {store.store_id}."
            )


def _require_name_free(kms: KmsState, name: str, except_store: str | None = None) -> None:
    for store in _stores(kms):
        if store.name == name and store.store_id != except_store:
            raise CustomKeyStoreNameInUseException(
                f"The custom key store name {name} is already assigned to another custom "
                "key store in this account and Region."
            )


def _require_fit_for_key_store(info: ClusterInfo) -> None:
    hsm_bridge.require_active(info)
    hsm_bridge.require_two_zones(info)


def create_custom_key_store(kms: KmsState, call: Call, request: JSON) -> JSON:
    """CreateCustomKeyStore (AWS_CLOUDHSM): an ACTIVE cluster with two active HSMs in
    different Availability Zones, whose trust anchor is TrustAnchorCertificate."""
    authorization.authorize_account(kms, call, "kms:CreateCustomKeyStore")
    if request.get("CustomKeyStoreType", "AWS_CLOUDHSM") == "EXTERNAL_KEY_STORE":
        return _create_external_store(kms, call, request)
    stray = sorted(name for name in request if name.startswith("XksProxy"))
    if stray:
        raise ValidationException(
            f"{', '.join(stray)} apply to custom key stores of type EXTERNAL_KEY_STORE only."
        )
    missing = [
        name
        for name in ("CloudHsmClusterId", "TrustAnchorCertificate", "KeyStorePassword")
        if request.get(name) is None
    ]
    if missing:
        raise ValidationException(
            f"{', '.join(missing)} required for a custom key store of type AWS_CLOUDHSM."
        )
    name, cluster_id = request["CustomKeyStoreName"], request["CloudHsmClusterId"]
    _require_name_free(kms, name)
    if len(_stores(kms)) >= MAX_CUSTOM_KEY_STORES:
        raise LimitExceededException(
            f"You have reached the limit of {MAX_CUSTOM_KEY_STORES} custom key stores in "
            "this account and Region."
        )
    info = hsm_bridge.cluster(kms, cluster_id)
    _require_cluster_free(kms, cluster_id)
    _require_fit_for_key_store(info)
    if not _same_certificate(request["TrustAnchorCertificate"], info.trust_anchor_pem):
        raise IncorrectTrustAnchorException(
            f"The trust anchor certificate does not match the trust anchor of AWS CloudHSM "
            f"cluster {cluster_id}."
        )
    store_id = "cks-" + kms._random_hex(9)[:17]
    store = KeyStoreRecord(
        store_id=store_id,
        name=name,
        cluster_id=cluster_id,
        trust_anchor=request["TrustAnchorCertificate"],
        password=_seal_password(kms, store_id, request["KeyStorePassword"]),
        created=kms._now(),
    )
    kms._put_store(store)
    call.target = store_id
    return {"CustomKeyStoreId": store_id}


XKS_PATH = re.compile(r"^(/[a-zA-Z0-9/_-]+)?/kms/xks/v\d+$")


def _create_external_store(kms: KmsState, call: Call, request: JSON) -> JSON:
    """CreateCustomKeyStore (EXTERNAL_KEY_STORE): KMS checks it can reach the proxy."""
    missing = [
        name
        for name in ("XksProxyUriEndpoint", "XksProxyUriPath", "XksProxyAuthenticationCredential")
        if request.get(name) is None
    ]
    if missing:
        raise ValidationException(
            f"{', '.join(missing)} required for a custom key store of type EXTERNAL_KEY_STORE."
        )
    connectivity = request.get("XksProxyConnectivity") or "PUBLIC_ENDPOINT"
    if connectivity != "PUBLIC_ENDPOINT":
        raise UnsupportedOperationException(
            "This emulator reaches XKS proxies over a public endpoint only "
            "(XksProxyConnectivity PUBLIC_ENDPOINT)."
        )
    endpoint, path = request["XksProxyUriEndpoint"], request["XksProxyUriPath"]
    if not endpoint.startswith("https://") or not XKS_PATH.match(path):
        raise XksProxyInvalidConfigurationException(
            "XksProxyUriEndpoint must be https://<host> and XksProxyUriPath end with /kms/xks/v1."
        )
    credential = request["XksProxyAuthenticationCredential"]
    access_key_id, secret = credential.get("AccessKeyId"), credential.get("RawSecretAccessKey")
    if not access_key_id or not secret:
        raise ValidationException(
            "XksProxyAuthenticationCredential needs AccessKeyId and RawSecretAccessKey."
        )
    name = request["CustomKeyStoreName"]
    _require_name_free(kms, name)
    for store in _stores(kms):
        if (store.xks_endpoint, store.xks_path) == (endpoint, path):
            raise XksProxyUriInUseException(
                f"The XKS proxy URI {endpoint}{path} is used by custom key store {store.store_id}."
            )
    if len(_stores(kms)) >= MAX_CUSTOM_KEY_STORES:
        raise LimitExceededException(
            f"You have reached the limit of {MAX_CUSTOM_KEY_STORES} custom key stores in "
            "this account and Region."
        )
    store_id = "cks-" + kms._random_hex(9)[:17]
    xks_bridge.check_health(kms, XksEndpoint(endpoint, path, str(access_key_id), str(secret)))
    store = KeyStoreRecord(
        store_id=store_id,
        name=name,
        cluster_id="",
        trust_anchor="",
        password="",
        created=kms._now(),
        store_type="EXTERNAL_KEY_STORE",
        xks_endpoint=endpoint,
        xks_path=path,
        xks_connectivity=connectivity,
        xks_access_key_id=str(access_key_id),
        xks_secret=kms._sealer.seal(str(secret).encode(), f"kms-xks:{store_id}"),
    )
    kms._put_store(store)
    call.target = store_id
    return {"CustomKeyStoreId": store_id}


def connect_custom_key_store(kms: KmsState, call: Call, request: JSON) -> JSON:
    """ConnectCustomKeyStore: CONNECTING now, CONNECTED or FAILED at the next tick."""
    authorization.authorize_account(kms, call, "kms:ConnectCustomKeyStore")
    store = hsm_bridge.store_or_not_found(kms, request["CustomKeyStoreId"])
    call.target = store.store_id
    if store.state in ("CONNECTED", "CONNECTING"):
        return {}
    if store.state != "DISCONNECTED":
        raise CustomKeyStoreInvalidStateException(
            f"Custom key store {store.store_id} is {store.state}. To reconnect a custom key "
            "store in the FAILED state, disconnect it first."
        )
    external = store.store_type == "EXTERNAL_KEY_STORE"
    info = kms._backend.cluster_info(store.cluster_id) if kms._backend and not external else None
    if info is not None:
        hsm_bridge.require_active(info)
        if not any(hsm.state == "ACTIVE" for hsm in info.hsms):
            raise CloudHsmClusterInvalidConfigurationException(
                f"AWS CloudHSM cluster {info.cluster_id} must contain at least one active HSM."
            )
    now = kms._now()
    store.state, store.error_code, store.connect_due = "CONNECTING", None, now
    kms._put_store(store)
    lifecycle.schedule(kms, now)
    return {}


def disconnect_custom_key_store(kms: KmsState, call: Call, request: JSON) -> JSON:
    """DisconnectCustomKeyStore: its KMS keys become Unavailable."""
    authorization.authorize_account(kms, call, "kms:DisconnectCustomKeyStore")
    store = hsm_bridge.store_or_not_found(kms, request["CustomKeyStoreId"])
    call.target = store.store_id
    if store.state in ("DISCONNECTED", "DISCONNECTING"):
        raise CustomKeyStoreInvalidStateException(
            f"Custom key store {store.store_id} is already {store.state}."
        )
    store.state, store.error_code, store.connect_due = "DISCONNECTED", None, None
    kms._put_store(store)
    return {}


def describe_custom_key_stores(kms: KmsState, call: Call, request: JSON) -> JSON:
    """DescribeCustomKeyStores: all, or one by CustomKeyStoreId or CustomKeyStoreName."""
    authorization.authorize_account(kms, call, "kms:DescribeCustomKeyStores")
    by_id, by_name = request.get("CustomKeyStoreId"), request.get("CustomKeyStoreName")
    if by_id is not None and by_name is not None:
        raise ValidationException(
            "Specify either CustomKeyStoreId or CustomKeyStoreName, but not both."
        )
    stores = [
        store
        for store in _stores(kms)
        if by_id in (None, store.store_id) and by_name in (None, store.name)
    ]
    if not stores and (by_id is not None or by_name is not None):
        raise CustomKeyStoreNotFoundException(
            f"Custom key store {by_id or by_name} does not exist in this account and Region."
        )
    page, marker = page_of(
        stores, lambda store: store.store_id, request.get("Limit", 100), request.get("Marker")
    )
    return listing("CustomKeyStores", [_store_entry(store) for store in page], marker)


def _store_entry(store: KeyStoreRecord) -> JSON:
    entry: JSON = {"CustomKeyStoreId": store.store_id, "CustomKeyStoreName": store.name}
    if store.store_type == "AWS_CLOUDHSM":
        entry["CloudHsmClusterId"] = store.cluster_id
        entry["TrustAnchorCertificate"] = store.trust_anchor
    entry["ConnectionState"] = store.state
    if store.state == "FAILED" and store.error_code is not None:
        entry["ConnectionErrorCode"] = store.error_code
    entry["CreationDate"] = store.created
    entry["CustomKeyStoreType"] = store.store_type
    if store.store_type == "EXTERNAL_KEY_STORE":
        entry["XksProxyConfiguration"] = {
            "Connectivity": store.xks_connectivity,
            "AccessKeyId": store.xks_access_key_id,
            "UriEndpoint": store.xks_endpoint,
            "UriPath": store.xks_path,
        }
    return entry


def update_custom_key_store(kms: KmsState, call: Call, request: JSON) -> JSON:
    """UpdateCustomKeyStore: rename (also while CONNECTED), or, while DISCONNECTED,
    change the kmsuser password or move to a related cluster (same trust anchor)."""
    authorization.authorize_account(kms, call, "kms:UpdateCustomKeyStore")
    store = hsm_bridge.store_or_not_found(kms, request["CustomKeyStoreId"])
    call.target = store.store_id
    if store.store_type == "EXTERNAL_KEY_STORE":
        return _update_external_store(kms, store, request)
    name = request.get("NewCustomKeyStoreName")
    password = request.get("KeyStorePassword")
    cluster_id = request.get("CloudHsmClusterId")
    if name is None and password is None and cluster_id is None:
        raise ValidationException(
            "Specify NewCustomKeyStoreName, KeyStorePassword or CloudHsmClusterId."
        )
    name_only = password is None and cluster_id is None
    if store.state != "DISCONNECTED" and not (name_only and store.state == "CONNECTED"):
        raise CustomKeyStoreInvalidStateException(
            f"Custom key store {store.store_id} is {store.state}; disconnect it to change "
            "its password or cluster."
        )
    if name is not None:
        _require_name_free(kms, name, except_store=store.store_id)
        store.name = name
    if cluster_id is not None and cluster_id != store.cluster_id:
        info = hsm_bridge.cluster(kms, cluster_id)
        _require_cluster_free(kms, cluster_id, except_store=store.store_id)
        if not _same_certificate(info.trust_anchor_pem, store.trust_anchor):
            raise CloudHsmClusterNotRelatedException(
                f"AWS CloudHSM cluster {cluster_id} does not share a backup history (the "
                f"same trust anchor) with cluster {store.cluster_id}."
            )
        _require_fit_for_key_store(info)
        store.cluster_id = cluster_id
    if password is not None:
        store.password = _seal_password(kms, store.store_id, password)
    kms._put_store(store)
    return {}


def _update_external_store(kms: KmsState, store: KeyStoreRecord, request: JSON) -> JSON:
    """Rename it (also while CONNECTED), or, while DISCONNECTED, give a new proxy credential."""
    name = request.get("NewCustomKeyStoreName")
    credential = request.get("XksProxyAuthenticationCredential")
    if name is None and credential is None:
        raise ValidationException(
            "Specify NewCustomKeyStoreName or XksProxyAuthenticationCredential (the emulator "
            "does not move external key stores to another proxy)."
        )
    if credential is not None and store.state != "DISCONNECTED":
        raise CustomKeyStoreInvalidStateException(
            f"Custom key store {store.store_id} is {store.state}; disconnect it to change its "
            "proxy credential."
        )
    if name is not None:
        _require_name_free(kms, name, except_store=store.store_id)
        store.name = name
    if credential is not None:
        store.xks_access_key_id = str(credential.get("AccessKeyId") or "")
        secret = str(credential.get("RawSecretAccessKey") or "")
        store.xks_secret = kms._sealer.seal(secret.encode(), f"kms-xks:{store.store_id}")
    kms._put_store(store)
    return {}


def delete_custom_key_store(kms: KmsState, call: Call, request: JSON) -> JSON:
    """DeleteCustomKeyStore: only DISCONNECTED and without KMS keys (even pending
    deletion ones)."""
    authorization.authorize_account(kms, call, "kms:DeleteCustomKeyStore")
    store = hsm_bridge.store_or_not_found(kms, request["CustomKeyStoreId"])
    call.target = store.store_id
    if store.state != "DISCONNECTED":
        raise CustomKeyStoreInvalidStateException(
            f"Custom key store {store.store_id} is {store.state}; disconnect it before deleting it."
        )
    if any(data.get("custom_key_store_id") == store.store_id for _, data in kms._scan(KEY)):
        raise CustomKeyStoreHasCMKsException(
            f"Custom key store {store.store_id} still has KMS keys. Schedule their deletion "
            "and wait for them to be deleted first."
        )
    kms._delete(KEYSTORE, store.store_id)
    return {}
