"""A ready CloudHSM cluster for tests: built once per shape, copied per test.

Building a cluster makes real RSA keys (the cluster CSR), so the template is cached and each
test gets a deep copy of its storage and clock.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools

from emulator.cloudhsm import CloudHsm, provision_active_cluster
from emulator.core import Host, ManualClock, MemoryStorage, Sealer, SystemRandom

MASTER_KEY = bytes(range(32))
PASSWORDS = {
    "admin": "admin-pass-1",
    "alice": "alice-pass-1",
    "bob": "bob-pass-1",
    "carol": "carol-pass-1",
    "admin2": "admin2-pass-1",  # extra admins that tests may create
    "admin3": "admin3-pass-1",
}
CRYPTO_USERS = ("alice", "bob", "carol")


@dataclasses.dataclass
class HsmWorld:
    storage: MemoryStorage
    clock: ManualClock
    cluster_id: str

    def engine(self, *, max_clusters: int = 4, max_hsms: int = 28) -> CloudHsm:
        """A fresh engine over the shared storage, as the sandbox makes one per request."""
        return CloudHsm(
            Host(self.storage, self.clock, SystemRandom(), Sealer(MASTER_KEY)),
            max_clusters=max_clusters,
            max_hsms=max_hsms,
        )

    def login(self, username: str, *, read_write: bool = True) -> str:
        role = "admin" if username.startswith("admin") else "crypto-user"
        return self.engine().login(
            self.cluster_id, username, PASSWORDS[username], role, read_write=read_write
        )

    def advance(self, **delta: float) -> None:
        self.clock.advance(dt.timedelta(**delta))

    def copy(self) -> HsmWorld:
        return HsmWorld(copy.deepcopy(self.storage), copy.deepcopy(self.clock), self.cluster_id)


@functools.lru_cache(maxsize=4)
def _template(hsm_count: int) -> HsmWorld:
    storage, clock = MemoryStorage(), ManualClock()
    engine = CloudHsm(Host(storage, clock, SystemRandom(), Sealer(MASTER_KEY)))
    cluster_id = provision_active_cluster(
        engine,
        clock.advance,
        clock.now,
        hsm_count=hsm_count,
        admin_password=PASSWORDS["admin"],
        crypto_users={name: PASSWORDS[name] for name in CRYPTO_USERS},
    )
    return HsmWorld(storage, clock, cluster_id)


def make_world(hsm_count: int = 2) -> HsmWorld:
    """A copy of an ACTIVE cluster with ``hsm_count`` ACTIVE HSMs, an admin and three crypto
    users (alice, bob, carol)."""
    return _template(hsm_count).copy()
