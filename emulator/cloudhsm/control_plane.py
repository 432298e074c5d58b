"""The CloudHSM API (control plane): clusters, HSMs and backups (the clock's work that
becomes due is :mod:`.lifecycle`).

Requests and responses are dicts shaped like the AWS JSON; errors are the CloudHSM API's
exceptions (:mod:`.errors`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from emulator.core import PageTokenError, matches_filters, page_of

from . import lifecycle, pki
from .errors import (
    CloudHsmInvalidRequestException,
    CloudHsmResourceLimitExceededException,
    CloudHsmResourceNotFoundException,
)
from .state import (
    CLUSTER_CREATE_TIME,
    DELETE_TIME,
    HSM_CREATE_TIME,
    HSM_TYPES,
    ID_ALPHABET,
    INITIALIZE_TIME,
    JSON,
    HsmState,
)


def _zone_of(engine: HsmState, subnet_id: str, position: int) -> str:
    return engine._subnet_zones.get(subnet_id) or f"{engine.region}{ID_ALPHABET[position]}"


def create_cluster(engine: HsmState, request: Mapping[str, Any]) -> JSON:
    """CreateCluster: ``HsmType``, ``SubnetIds`` (one per AZ), optional ``Mode`` (hsm2m
    only), ``SourceBackupId``, ``BackupRetentionPolicy``, ``TagList``. Returns
    ``{"Cluster": {...}}`` in CREATE_IN_PROGRESS.
    """
    with engine._audited("CreateCluster", engine.caller) as audit:
        lifecycle.process_due(engine)
        hsm_type, mode = _cluster_type(request)
        mapping = _subnet_mapping(engine, request.get("SubnetIds"))
        live = [c for _, c in engine._storage.list("hsm.cluster") if c["State"] != "DELETED"]
        if len(live) >= engine.max_clusters:
            raise CloudHsmResourceLimitExceededException(
                f"You have reached the quota of {engine.max_clusters} clusters in this Region."
            )
        backup = _source_backup(engine, request.get("SourceBackupId"))
        cluster = _new_cluster(engine, request, hsm_type, mapping)
        audit.target = cluster["ClusterId"]
        if mode is not None:
            cluster["Mode"] = mode
        if backup is not None:
            _restore_cluster_from_backup(engine, cluster, backup)
        else:
            _create_builtin_users(engine, cluster["ClusterId"])
        lifecycle.schedule(engine, cluster)
        engine._put_cluster(cluster)
        return {"Cluster": _describe_cluster(engine, cluster)}


def _cluster_type(request: Mapping[str, Any]) -> tuple[str, str | None]:
    """The HSM type and, for hsm2m.medium, the FIPS mode (fixed at creation)."""
    hsm_type = request.get("HsmType")
    if hsm_type not in HSM_TYPES:
        raise CloudHsmInvalidRequestException(f"HsmType must be one of {', '.join(HSM_TYPES)}.")
    mode = request.get("Mode")
    if mode is not None and hsm_type != "hsm2m.medium":
        raise CloudHsmInvalidRequestException("Mode is supported only for hsm2m.medium.")
    if hsm_type == "hsm2m.medium":
        mode = mode or "FIPS"
        if mode not in ("FIPS", "NON_FIPS"):
            raise CloudHsmInvalidRequestException("Mode must be FIPS or NON_FIPS.")
    return str(hsm_type), mode


def _subnet_mapping(engine: HsmState, subnets: object) -> dict[str, str]:
    """Availability Zone -> subnet id, one subnet per zone."""
    if not isinstance(subnets, list) or not subnets or len(subnets) > 20:
        raise CloudHsmInvalidRequestException("SubnetIds must list 1 to 20 subnets.")
    mapping: dict[str, str] = {}
    for position, subnet in enumerate(subnets):
        if not isinstance(subnet, str) or not re.fullmatch(r"subnet-[0-9a-zA-Z]{1,40}", subnet):
            raise CloudHsmInvalidRequestException(f"Invalid subnet id {subnet!r}.")
        zone = _zone_of(engine, subnet, position)
        if zone in mapping:
            raise CloudHsmInvalidRequestException(
                "You can specify only one subnet per Availability Zone."
            )
        mapping[zone] = subnet
    return mapping


def _source_backup(engine: HsmState, source_backup: object) -> JSON | None:
    if source_backup is None:
        return None
    backup_id = str(source_backup).rsplit("/", 1)[-1]
    backup = engine._storage.get("hsm.backup", backup_id)
    if backup is None or backup["BackupState"] != "READY":
        raise CloudHsmResourceNotFoundException(f"Backup {backup_id} was not found.")
    return backup


def _new_cluster(
    engine: HsmState, request: Mapping[str, Any], hsm_type: str, mapping: dict[str, str]
) -> JSON:
    """The record of a cluster being created (no HSMs, not activated)."""
    retention = request.get("BackupRetentionPolicy") or {"Type": "DAYS", "Value": "90"}
    cluster_id = engine._new_id("cluster-")
    now = engine._now()
    subnets = "".join(request["SubnetIds"])
    return {
        "BackupPolicy": "DEFAULT",
        "BackupRetentionPolicy": dict(retention),
        "ClusterId": cluster_id,
        "CreateTimestamp": now,
        "HsmType": hsm_type,
        "SecurityGroup": engine._new_id("sg-", 17),
        "State": "CREATE_IN_PROGRESS",
        "StateMessage": "Cluster is being created.",
        "SubnetMapping": mapping,
        "VpcId": "vpc-" + hashlib.sha256(subnets.encode()).hexdigest()[:17],
        "NetworkType": "IPV4",
        "Certificates": {},
        "TagList": list(request.get("TagList") or []),
        "_": {
            "hsms": {},
            "state_due": now + CLUSTER_CREATE_TIME.total_seconds(),
            "next_due": None,
            "next_handle": 1,
            "activated": False,
            "trust_anchor": None,
            "csr_key": None,
            "last_backup": None,
            "quorum": {"user": 1, "quorum": 1},
        },
    }


def _create_builtin_users(engine: HsmState, cluster_id: str) -> None:
    for username, role in (("admin", "unactivated-admin"), ("app_user", "appliance")):
        engine._storage.put(
            "hsm.user",
            engine._user_id(cluster_id, username),
            {
                "cluster_id": cluster_id,
                "username": username,
                "role": role,
                "password": None,
                "failed_logins": 0,
                "locked": False,
            },
        )


def _restore_cluster_from_backup(engine: HsmState, cluster: JSON, backup: JSON) -> None:
    cluster_id = cluster["ClusterId"]
    content = backup["_"]
    cluster["SourceBackupId"] = backup["BackupId"]
    cluster["Certificates"] = dict(content["certificates"])
    meta = cluster["_"]
    meta["activated"] = True
    meta["trust_anchor"] = content["trust_anchor"]
    meta["next_handle"] = content["next_handle"]
    meta["quorum"] = dict(content["quorum"])
    for user in content["users"]:
        user = dict(user, cluster_id=cluster_id)
        engine._storage.put("hsm.user", engine._user_id(cluster_id, user["username"]), user)
    for saved in content["keys"]:
        material = engine._sealer.unseal(saved["material"], saved["sealed_as"])
        key = dict(saved["key"], cluster_id=cluster_id, hsms=[])
        key["material"] = engine._seal(cluster_id, key["handle"], material)
        engine._put_key(key)


def _describe_cluster(engine: HsmState, cluster: JSON) -> JSON:
    public = {k: v for k, v in cluster.items() if k != "_"}
    public["Certificates"] = dict(cluster["Certificates"])
    hsms = []
    for hsm_id in sorted(cluster["_"]["hsms"]):
        hsm = engine._hsm_record(hsm_id)
        if hsm is not None:
            hsms.append({k: v for k, v in hsm.items() if k != "_"})
    public["Hsms"] = hsms
    return public


def describe_clusters(engine: HsmState, request: Mapping[str, Any] | None = None) -> JSON:
    """DescribeClusters with ``Filters`` (``clusterIds``, ``states``, ``vpcIds``),
    ``MaxResults`` and ``NextToken``. Returns ``{"Clusters": [...], "NextToken"?}``."""
    request = request or {}
    with engine._audited("DescribeClusters", engine.caller):
        lifecycle.process_due(engine)
        filters = request.get("Filters") or {}
        clusters = []
        for _, cluster in engine._storage.list("hsm.cluster"):
            if matches_filters(cluster, filters, _CLUSTER_FILTERS):
                clusters.append(_describe_cluster(engine, cluster))
        page, token = _paginate(clusters, request)
        result: JSON = {"Clusters": page}
        if token:
            result["NextToken"] = token
        return result


_CLUSTER_FILTERS = {"clusterIds": "ClusterId", "states": "State", "vpcIds": "VpcId"}
_BACKUP_FILTERS = {"backupIds": "BackupId", "clusterIds": "ClusterId", "states": "BackupState"}


def _paginate(items: list[JSON], request: Mapping[str, Any]) -> tuple[list[JSON], str | None]:
    """A page of ``items`` in their order (MaxResults 1..100, opaque NextToken)."""
    limit = request.get("MaxResults")
    if limit is not None and (not isinstance(limit, int) or not 1 <= limit <= 100):
        raise CloudHsmInvalidRequestException("MaxResults must be between 1 and 100.")
    positions = {id(item): f"{index:08d}" for index, item in enumerate(items)}
    try:
        token = request.get("NextToken") or None
        if token is not None and not isinstance(token, str):
            raise PageTokenError(token)
        return page_of(items, lambda item: positions[id(item)], limit, token)
    except PageTokenError:
        raise CloudHsmInvalidRequestException("Invalid NextToken.") from None


def create_hsm(engine: HsmState, request: Mapping[str, Any]) -> JSON:
    """CreateHsm(``ClusterId``, ``AvailabilityZone``): a new HSM, CREATE_IN_PROGRESS for a
    few simulated minutes. An uninitialized cluster takes only one HSM (its CSR comes from
    it); in an initialized cluster the new HSM is restored from the latest backup."""
    cluster_id = str(request.get("ClusterId", ""))
    with engine._audited("CreateHsm", engine.caller, cluster_id) as audit:
        cluster = lifecycle.advance(engine, engine._cluster_record(cluster_id))
        zone = request.get("AvailabilityZone")
        if cluster["State"] not in ("UNINITIALIZED", "INITIALIZED", "ACTIVE", "DEGRADED"):
            raise CloudHsmInvalidRequestException(
                f"Cannot add an HSM to a cluster in state {cluster['State']}."
            )
        if zone not in cluster["SubnetMapping"]:
            raise CloudHsmInvalidRequestException(
                f"The cluster has no subnet in Availability Zone {zone}."
            )
        live = [s for s in cluster["_"]["hsms"].values() if s["state"] != "DELETE_IN_PROGRESS"]
        if cluster["State"] == "UNINITIALIZED" and live:
            raise CloudHsmInvalidRequestException(
                "An uninitialized cluster can have only one HSM; initialize it first."
            )
        if len(live) >= engine.max_hsms:
            raise CloudHsmResourceLimitExceededException(
                f"The cluster has reached the quota of {engine.max_hsms} HSMs."
            )
        hsm = _new_hsm(engine, cluster, str(zone), request.get("IpAddress"))
        audit.target = f"{cluster_id}/{hsm['HsmId']}"
        lifecycle.schedule(engine, cluster)
        engine._put_cluster(cluster)
        return {"Hsm": {k: v for k, v in hsm.items() if k != "_"}}


def _new_hsm(engine: HsmState, cluster: JSON, zone: str, ip_address: object = None) -> JSON:
    raw = engine._random.token_bytes(2)
    hsm: JSON = {
        "AvailabilityZone": zone,
        "ClusterId": cluster["ClusterId"],
        "SubnetId": cluster["SubnetMapping"][zone],
        "EniId": engine._new_id("eni-", 17),
        "EniIp": str(ip_address) if ip_address else f"10.0.{raw[0]}.{raw[1] % 250 + 4}",
        "HsmId": engine._new_id("hsm-"),
        "HsmType": cluster["HsmType"],
        "State": "CREATE_IN_PROGRESS",
        "StateMessage": "HSM is being created.",
        "_": {"due": engine._now() + HSM_CREATE_TIME.total_seconds()},
    }
    engine._put_hsm(cluster, hsm)
    return hsm


def delete_hsm(engine: HsmState, request: Mapping[str, Any]) -> JSON:
    """DeleteHsm(``ClusterId`` and one of ``HsmId``, ``EniId``, ``EniIp``). A backup of the
    cluster is taken first. Returns ``{"HsmId": ...}``."""
    cluster_id = str(request.get("ClusterId", ""))
    with engine._audited("DeleteHsm", engine.caller, cluster_id) as audit:
        cluster = lifecycle.advance(engine, engine._cluster_record(cluster_id))
        hsm = _find_hsm(engine, cluster, request)
        audit.target = f"{cluster_id}/{hsm['HsmId']}"
        if hsm["State"] in ("DELETE_IN_PROGRESS", "DELETED"):
            raise CloudHsmInvalidRequestException(f"HSM {hsm['HsmId']} is already being deleted.")
        if cluster["_"]["last_backup"] is not None:
            lifecycle.take_backup(engine, cluster, engine._now())
        hsm["State"] = "DELETE_IN_PROGRESS"
        hsm["StateMessage"] = "HSM is being deleted."
        hsm["_"]["due"] = engine._now() + DELETE_TIME.total_seconds()
        engine._put_hsm(cluster, hsm)
        lifecycle.refresh_health(cluster)
        lifecycle.schedule(engine, cluster)
        engine._put_cluster(cluster)
        return {"HsmId": hsm["HsmId"]}


def _find_hsm(engine: HsmState, cluster: JSON, request: Mapping[str, Any]) -> JSON:
    wanted = {k: request[k] for k in ("HsmId", "EniId", "EniIp") if request.get(k)}
    if not wanted:
        raise CloudHsmInvalidRequestException("Specify HsmId, EniId or EniIp.")
    for hsm_id in cluster["_"]["hsms"]:
        hsm = engine._hsm_record(hsm_id)
        if hsm is not None and all(hsm[k] == v for k, v in wanted.items()):
            return hsm
    raise CloudHsmResourceNotFoundException(f"HSM {wanted} was not found in the cluster.")


def initialize_cluster(engine: HsmState, request: Mapping[str, Any]) -> JSON:
    """InitializeCluster(``ClusterId``, ``SignedCert``, ``TrustAnchor``).

    The signed certificate must carry the cluster CSR's public key and be signed by the
    self-signed trust anchor; anything else is CloudHsmInvalidRequestException.
    """
    cluster_id = str(request.get("ClusterId", ""))
    with engine._audited("InitializeCluster", engine.caller, cluster_id):
        cluster = lifecycle.advance(engine, engine._cluster_record(cluster_id))
        if cluster["State"] != "UNINITIALIZED":
            raise CloudHsmInvalidRequestException(
                f"The cluster is {cluster['State']}; only an UNINITIALIZED cluster can be "
                "initialized."
            )
        csr = cluster["Certificates"].get("ClusterCsr")
        if not csr:
            raise CloudHsmInvalidRequestException(
                "The cluster has no CSR yet: create an HSM and wait until it is ACTIVE."
            )
        signed, anchor = request.get("SignedCert"), request.get("TrustAnchor")
        if not isinstance(signed, str) or not isinstance(anchor, str):
            raise CloudHsmInvalidRequestException("SignedCert and TrustAnchor are required.")
        pki.verify_cluster_certificate(csr, signed, anchor, engine._clock.now())
        cluster["Certificates"]["ClusterCertificate"] = signed
        cluster["_"]["trust_anchor"] = anchor
        cluster["State"] = "INITIALIZE_IN_PROGRESS"
        cluster["StateMessage"] = "Cluster is being initialized."
        cluster["_"]["state_due"] = engine._now() + INITIALIZE_TIME.total_seconds()
        lifecycle.schedule(engine, cluster)
        engine._put_cluster(cluster)
        return {"State": cluster["State"], "StateMessage": cluster["StateMessage"]}


def delete_cluster(engine: HsmState, request: Mapping[str, Any]) -> JSON:
    """DeleteCluster(``ClusterId``): only a cluster without HSMs. Its users and keys are
    destroyed; its backups stay. Returns ``{"Cluster": {...}}`` in DELETE_IN_PROGRESS."""
    cluster_id = str(request.get("ClusterId", ""))
    with engine._audited("DeleteCluster", engine.caller, cluster_id):
        cluster = lifecycle.advance(engine, engine._cluster_record(cluster_id))
        if cluster["State"] in ("DELETE_IN_PROGRESS", "DELETED"):
            raise CloudHsmInvalidRequestException("The cluster is already being deleted.")
        if cluster["_"]["hsms"]:
            raise CloudHsmInvalidRequestException(
                "Delete all HSMs in the cluster before deleting the cluster."
            )
        for user in engine._users(cluster_id):
            engine._storage.delete("hsm.user", engine._user_id(cluster_id, user["username"]))
        for key in engine._keys(cluster_id):
            engine._delete_key(key)
        for session_id, session in engine._storage.list("hsm.session"):
            if session["cluster_id"] == cluster_id:
                engine._storage.delete("hsm.session", session_id)
        cluster["State"] = "DELETE_IN_PROGRESS"
        cluster["StateMessage"] = "Cluster is being deleted."
        cluster["_"]["state_due"] = engine._now() + DELETE_TIME.total_seconds()
        lifecycle.schedule(engine, cluster)
        engine._put_cluster(cluster)
        return {"Cluster": _describe_cluster(engine, cluster)}


def describe_backups(engine: HsmState, request: Mapping[str, Any] | None = None) -> JSON:
    """DescribeBackups with ``Filters`` (``backupIds``, ``clusterIds``, ``states``),
    ``SortAscending``, ``MaxResults``, ``NextToken``."""
    request = request or {}
    with engine._audited("DescribeBackups", engine.caller):
        lifecycle.process_due(engine)
        filters = request.get("Filters") or {}
        backups = []
        for _, backup in engine._storage.list("hsm.backup"):
            if matches_filters(backup, filters, _BACKUP_FILTERS):
                backups.append({k: v for k, v in backup.items() if k != "_"})
        ascending = bool(request.get("SortAscending", False))
        backups.sort(key=lambda b: (b["CreateTimestamp"], b["BackupId"]), reverse=not ascending)
        page, token = _paginate(backups, request)
        result: JSON = {"Backups": page}
        if token:
            result["NextToken"] = token
        return result


def fail_hsm(engine: HsmState, hsm_id: str) -> JSON:
    """Lab: make an ACTIVE HSM fail. The HSM becomes DEGRADED and so does its cluster;
    sessions move to the other HSMs. Returns the HSM description."""
    with engine._audited("FailHsm", engine.caller, hsm_id):
        hsm = engine._hsm_record(hsm_id)
        if hsm is None:
            raise CloudHsmResourceNotFoundException(f"HSM {hsm_id} was not found.")
        cluster = lifecycle.advance(engine, engine._cluster_record(hsm["ClusterId"]))
        hsm = engine._hsm_record(hsm_id)
        if hsm is None or hsm["State"] != "ACTIVE":
            raise CloudHsmInvalidRequestException("Only an ACTIVE HSM can fail.")
        hsm["State"] = "DEGRADED"
        hsm["StateMessage"] = "The HSM has failed and must be replaced."
        engine._put_hsm(cluster, hsm)
        lifecycle.refresh_health(cluster)
        lifecycle.schedule(engine, cluster)
        engine._put_cluster(cluster)
        return {k: v for k, v in hsm.items() if k != "_"}


def replace_hsm(engine: HsmState, hsm_id: str) -> JSON:
    """Lab: delete an HSM (usually a DEGRADED one) and create a new one in the same
    Availability Zone, restored from the backup taken at the deletion."""
    hsm = engine._hsm_record(hsm_id)
    if hsm is None:
        raise CloudHsmResourceNotFoundException(f"HSM {hsm_id} was not found.")
    delete_hsm(engine, {"ClusterId": hsm["ClusterId"], "HsmId": hsm_id})
    return create_hsm(
        engine, {"ClusterId": hsm["ClusterId"], "AvailabilityZone": hsm["AvailabilityZone"]}
    )


def trust_anchor(engine: HsmState, cluster_id: str) -> str | None:
    """The trust anchor PEM given at InitializeCluster (None before)."""
    cluster = engine._storage.get("hsm.cluster", cluster_id)
    return None if cluster is None else cluster["_"]["trust_anchor"]
