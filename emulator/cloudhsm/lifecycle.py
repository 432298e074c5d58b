"""What the simulated clock makes due in a cluster, applied when a call notices it: a cluster
or HSM finishing its creation or deletion, health following the HSMs, and backups (at least
every 24 hours, and when an HSM is deleted)."""

from __future__ import annotations

from . import pki
from .state import (
    BACKUP_INTERVAL,
    JSON,
    HsmState,
)


def process_due(engine: HsmState) -> None:
    """Apply every state change that the clock has made due, in all clusters.

    Every public call does this for the clusters it touches, so hosts never need to call
    it; a lab may call it to refresh a dashboard.
    """
    for cluster_id, _record in engine._storage.list("hsm.cluster"):
        advance(engine, engine._cluster_record(cluster_id))


def advance(engine: HsmState, cluster: JSON, now: float | None = None) -> JSON:
    """Apply due transitions to one cluster, oldest first; return the updated record.
    ``now``: the call's clock reading, if it has one."""
    meta = cluster["_"]
    if now is None:
        now = engine._now()
    if meta["next_due"] is None or meta["next_due"] > now:
        return cluster
    for _ in range(1000):  # bounded: every step consumes one due event
        event = _next_event(engine, cluster)
        if event is None or event[0] > now:
            break
        when, kind, subject = event
        if kind == "cluster":
            _finish_cluster_transition(cluster, when)
        elif kind == "hsm":
            _finish_hsm_transition(engine, cluster, subject, when)
        else:
            periods = int((now - meta["last_backup"]) // BACKUP_INTERVAL.total_seconds())
            take_backup(
                engine, cluster, meta["last_backup"] + periods * BACKUP_INTERVAL.total_seconds()
            )
    refresh_health(cluster)
    next_event = _next_event(engine, cluster)
    meta["next_due"] = next_event[0] if next_event else None
    engine._put_cluster(cluster)
    return cluster


def _next_event(engine: HsmState, cluster: JSON) -> tuple[float, str, str] | None:
    meta = cluster["_"]
    events: list[tuple[float, str, str]] = []
    if meta["state_due"] is not None:
        events.append((meta["state_due"], "cluster", cluster["ClusterId"]))
    for hsm_id, summary in meta["hsms"].items():
        if summary["due"] is not None:
            events.append((summary["due"], "hsm", hsm_id))
    if _backups_enabled(cluster):
        events.append((meta["last_backup"] + BACKUP_INTERVAL.total_seconds(), "backup", ""))
    return min(events) if events else None


def _backups_enabled(cluster: JSON) -> bool:
    return (
        cluster["State"] in ("INITIALIZED", "ACTIVE", "DEGRADED")
        and cluster["_"]["last_backup"] is not None
        and any(s["state"] == "ACTIVE" for s in cluster["_"]["hsms"].values())
    )


def _finish_cluster_transition(cluster: JSON, when: float) -> None:
    meta = cluster["_"]
    meta["state_due"] = None
    state = cluster["State"]
    if state == "CREATE_IN_PROGRESS":
        if meta["activated"]:
            cluster["State"] = "ACTIVE"
            cluster["StateMessage"] = "Cluster restored from a backup and ready."
            meta["last_backup"] = when
        else:
            cluster["State"] = "UNINITIALIZED"
            cluster["StateMessage"] = "Cluster created; add an HSM to get its CSR."
    elif state == "INITIALIZE_IN_PROGRESS":
        cluster["State"] = "INITIALIZED"
        cluster["StateMessage"] = "Cluster initialized; activate it with CloudHSM CLI."
        meta["last_backup"] = when
    elif state == "DELETE_IN_PROGRESS":
        cluster["State"] = "DELETED"
        cluster["StateMessage"] = "Cluster deleted."


def _finish_hsm_transition(engine: HsmState, cluster: JSON, hsm_id: str, when: float) -> None:
    hsm = engine._hsm_record(hsm_id)
    if hsm is None:
        cluster["_"]["hsms"].pop(hsm_id, None)
        return
    hsm["_"]["due"] = None
    if hsm["State"] == "CREATE_IN_PROGRESS":
        hsm["State"] = "ACTIVE"
        hsm["StateMessage"] = "HSM created."
        engine._put_hsm(cluster, hsm)
        if cluster["State"] == "UNINITIALIZED" and not cluster["Certificates"].get("ClusterCsr"):
            private_der, csr_pem = pki.make_cluster_csr(cluster["ClusterId"], hsm_id)
            cluster["_"]["csr_key"] = engine._sealer.seal(
                private_der, cluster["ClusterId"] + "/csr"
            )
            cluster["Certificates"]["ClusterCsr"] = csr_pem
        _restore_into_hsm(engine, cluster, hsm_id)
    elif hsm["State"] == "DELETE_IN_PROGRESS":
        engine._storage.delete("hsm.hsm", hsm_id)
        cluster["_"]["hsms"].pop(hsm_id, None)
        for key in engine._keys(cluster["ClusterId"]):
            if hsm_id in key["hsms"]:
                key["hsms"].remove(hsm_id)
                engine._put_key(key)


def _restore_into_hsm(engine: HsmState, cluster: JSON, hsm_id: str) -> None:
    """A new HSM starts from the latest backup, then the cluster syncs the rest to it.

    Both end in the same place here: every token key of the cluster is placed on the new
    HSM (session keys stay on the HSM of their session).
    """
    for key in engine._keys(cluster["ClusterId"]):
        if key["session_id"] is None and hsm_id not in key["hsms"]:
            key["hsms"].append(hsm_id)
            engine._put_key(key)


def refresh_health(cluster: JSON) -> None:
    """ACTIVE <-> DEGRADED follows the HSMs once a cluster is activated."""
    if cluster["State"] not in ("ACTIVE", "DEGRADED"):
        return
    degraded = any(s["state"] == "DEGRADED" for s in cluster["_"]["hsms"].values())
    if degraded:
        cluster["State"] = "DEGRADED"
        cluster["StateMessage"] = "An HSM in the cluster has failed; replace it."
    elif cluster["State"] == "DEGRADED":
        cluster["State"] = "ACTIVE"
        cluster["StateMessage"] = "Cluster is healthy."


def schedule(engine: HsmState, cluster: JSON) -> None:
    next_event = _next_event(engine, cluster)
    cluster["_"]["next_due"] = next_event[0] if next_event else None


def take_backup(engine: HsmState, cluster: JSON, when: float) -> JSON:
    """Snapshot users, token keys, certificates and quorum settings into a READY backup."""
    cluster_id = cluster["ClusterId"]
    backup_id = engine._new_id("backup-")
    keys = []
    for key in engine._keys(cluster_id):
        if key["session_id"] is not None:
            continue
        saved = {k: v for k, v in key.items() if k not in ("material", "hsms")}
        keys.append(
            {
                "key": saved,
                "material": key["material"],
                "sealed_as": engine._key_id(cluster_id, key["handle"]),
            }
        )
    users = [{k: v for k, v in u.items() if k != "cluster_id"} for u in engine._users(cluster_id)]
    backup: JSON = {
        "BackupId": backup_id,
        "BackupArn": f"arn:aws:cloudhsm:{engine.region}:{engine.account_id}:backup/{backup_id}",
        "BackupState": "READY",
        "ClusterId": cluster_id,
        "CreateTimestamp": when,
        "NeverExpires": False,
        "HsmType": cluster["HsmType"],
        "_": {
            "users": users,
            "keys": keys,
            "certificates": dict(cluster["Certificates"]),
            "trust_anchor": cluster["_"]["trust_anchor"],
            "next_handle": cluster["_"]["next_handle"],
            "quorum": dict(cluster["_"]["quorum"]),
        },
    }
    if "Mode" in cluster:
        backup["Mode"] = cluster["Mode"]
    engine._storage.put("hsm.backup", backup_id, backup)
    cluster["_"]["last_backup"] = when
    engine._audit.record(
        principal="cloudhsm.amazonaws.com",
        operation="CreateBackup",
        target=f"{cluster_id}/{backup_id}",
        result="ok",
        detail={"users": len(users), "keys": len(keys)},
    )
    return backup
