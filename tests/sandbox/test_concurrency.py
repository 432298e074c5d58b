"""Concurrent requests of one learner take turns on the account row and never corrupt state.

Threads need connections that wait on each other's row locks, so these run on PostgreSQL
(``DATABASE_URL=postgres://...``), like the project's other concurrency tests.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from emulator.kms.errors import LimitExceededException
from sandbox.models import SandboxAccount, SandboxEvent
from sandbox.services import sandbox_call

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL row locks across threads"
    ),
]


def race(account: SandboxAccount, count: int, action) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def worker(index: int) -> None:
        from django.db import connections

        try:
            barrier.wait()
            results[index] = sandbox_call(account=account, action=action)
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_racing_create_keys_respect_the_quota_exactly(account):
    SandboxAccount.objects.filter(pk=account.pk).update(max_kms_keys=3)
    account.refresh_from_db()
    results = race(account, 8, lambda engine: engine.kms_call("CreateKey", {}))
    made = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, LimitExceededException)]
    assert len(made) == 3 and len(refused) == 5
    assert account.engine_objects.filter(kind="kms.key").count() == 3


def test_racing_alias_updates_leave_one_consistent_alias(account):
    keys = [
        sandbox_call(account=account, action=lambda e: e.kms_call("CreateKey", {}))["KeyMetadata"][
            "KeyId"
        ]
        for _ in range(2)
    ]
    sandbox_call(
        account=account,
        action=lambda e: e.kms_call(
            "CreateAlias", {"AliasName": "alias/x", "TargetKeyId": keys[0]}
        ),
    )
    counter = iter(range(100))

    def flip(engine):
        target = keys[next(counter) % 2]
        return engine.kms_call("UpdateAlias", {"AliasName": "alias/x", "TargetKeyId": target})

    results = race(account, 6, flip)
    assert not [r for r in results if isinstance(r, Exception)]
    aliases = account.engine_objects.filter(kind="kms.alias")
    assert aliases.count() == 1 and aliases.get().data["target_key_id"] in keys
    assert SandboxEvent.objects.filter(account=account, operation="UpdateAlias").count() == 6
