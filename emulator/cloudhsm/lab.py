"""Set-up helpers for labs and tests: a ready cluster without clicking through every step.

The engine never moves time itself, so these helpers take ``advance``, a callable that moves
the host's clock forward (``ManualClock.advance`` in tests; a sandbox account's offset in the
app). They go through the public API only, exactly as a learner would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from . import pki
from .engine import HSM_CREATE_TIME, CloudHsm

__all__ = ["provision_active_cluster"]

Advance = Callable[[dt.timedelta], None]
_STEP = HSM_CREATE_TIME + dt.timedelta(minutes=1)


def provision_active_cluster(
    engine: CloudHsm,
    advance: Advance,
    now: Callable[[], dt.datetime],
    *,
    hsm_count: int = 2,
    hsm_type: str = "hsm2m.medium",
    admin_password: str,
    crypto_users: Mapping[str, str] | None = None,
) -> str:
    """Create, initialize and activate a cluster with ``hsm_count`` ACTIVE HSMs in different
    Availability Zones, and create the given crypto users (username -> password).

    Returns the cluster id.
    """
    subnets = [f"subnet-lab{index}" for index in range(max(hsm_count, 2))]
    cluster = engine.create_cluster({"HsmType": hsm_type, "SubnetIds": subnets})["Cluster"]
    cluster_id: str = cluster["ClusterId"]
    zones = sorted(cluster["SubnetMapping"])
    advance(_STEP)
    engine.create_hsm({"ClusterId": cluster_id, "AvailabilityZone": zones[0]})
    advance(_STEP)
    described = engine.describe_clusters({"Filters": {"clusterIds": [cluster_id]}})
    csr = described["Clusters"][0]["Certificates"]["ClusterCsr"]
    ca_key, ca_pem = pki.create_ca("Lab customer CA", now())
    signed = pki.sign_csr(csr, ca_key, ca_pem, now())
    engine.initialize_cluster(
        {"ClusterId": cluster_id, "SignedCert": signed, "TrustAnchor": ca_pem}
    )
    advance(_STEP)
    engine.activate_cluster(cluster_id, admin_password)
    for index in range(1, hsm_count):
        engine.create_hsm({"ClusterId": cluster_id, "AvailabilityZone": zones[index % len(zones)]})
    if hsm_count > 1:
        advance(_STEP)
    if crypto_users:
        session_id = engine.login(cluster_id, "admin", admin_password, "admin")
        for username, password in crypto_users.items():
            engine.create_user(session_id, username, password, "crypto-user")
        engine.logout(session_id)
        engine.close_session(session_id)
    return cluster_id
