"""Engine state lives in the database: each request's new engine sees what earlier ones stored."""

from __future__ import annotations

import pytest

from emulator.kms.errors import DisabledException, InvalidCiphertextException
from sandbox.engine import SandboxEngine
from sandbox.models import SandboxEvent, SandboxObject
from sandbox.services import sandbox_call
from sandbox.storage_orm import OrmStorage

pytestmark = pytest.mark.django_db


def test_a_new_engine_per_request_sees_the_prior_state(account):
    key_id = sandbox_call(
        account=account, action=lambda e: e.kms_call("CreateKey", {})["KeyMetadata"]["KeyId"]
    )
    blob = sandbox_call(
        account=account,
        action=lambda e: e.kms_call("Encrypt", {"KeyId": key_id, "Plaintext": b"kept"}),
    )["CiphertextBlob"]
    # Nothing in memory is shared: a fresh engine over a fresh storage decrypts.
    plain = sandbox_call(
        account=account, action=lambda e: e.kms_call("Decrypt", {"CiphertextBlob": blob})
    )["Plaintext"]
    assert plain == b"kept"
    assert SandboxObject.objects.filter(account=account, kind="kms.key").count() == 1
    operations = list(
        SandboxEvent.objects.filter(account=account).values_list("operation", flat=True)
    )
    assert operations == ["CreateKey", "Encrypt", "Decrypt"]


def test_key_material_is_sealed_at_rest(account):
    sandbox_call(account=account, action=lambda e: e.kms_call("CreateKey", {}))
    stored = SandboxObject.objects.get(account=account, kind="kms.key").data
    assert stored["material"] and "BEGIN" not in stored["material"]
    material = stored["material"]
    assert len(material) > 40  # a base64 AES-GCM blob, not 32 raw bytes


def test_an_engine_error_keeps_what_the_engine_wrote_and_is_raised_after_commit(account):
    key_id = sandbox_call(
        account=account, action=lambda e: e.kms_call("CreateKey", {})["KeyMetadata"]["KeyId"]
    )
    sandbox_call(account=account, action=lambda e: e.kms_call("DisableKey", {"KeyId": key_id}))
    with pytest.raises(DisabledException):
        sandbox_call(
            account=account,
            action=lambda e: e.kms_call("Encrypt", {"KeyId": key_id, "Plaintext": b"x"}),
        )
    with pytest.raises(InvalidCiphertextException):
        sandbox_call(
            account=account, action=lambda e: e.kms_call("Decrypt", {"CiphertextBlob": b"x" * 40})
        )
    results = list(SandboxEvent.objects.filter(account=account).values_list("result", flat=True))
    assert results[-2:] == ["DisabledException", "InvalidCiphertextException"]


def test_any_other_exception_rolls_the_call_back(account):
    def half_done(engine: SandboxEngine):
        engine.kms_call("CreateKey", {})
        raise RuntimeError("a bug in the caller")

    with pytest.raises(RuntimeError):
        sandbox_call(account=account, action=half_done)
    assert not SandboxObject.objects.filter(account=account).exists()
    assert not SandboxEvent.objects.filter(account=account).exists()


def test_storage_returns_copies_sorted_lists_and_buffers_writes(account):
    storage = OrmStorage(account)
    record = {"n": 1, "nested": {"a": [1]}}
    storage.put("t.kind", "b", record)
    storage.put("t.kind", "a", {"n": 0})
    record["nested"]["a"].append(2)
    assert storage.get("t.kind", "b") == {"n": 1, "nested": {"a": [1]}}
    copy = storage.get("t.kind", "b")
    copy["n"] = 99
    assert storage.get("t.kind", "b")["n"] == 1
    assert [object_id for object_id, _ in storage.list("t.kind")] == ["a", "b"]
    assert not SandboxObject.objects.exists()  # nothing written before flush
    storage.flush()
    assert SandboxObject.objects.count() == 2
    again = OrmStorage(account)
    again.delete("t.kind", "a")
    assert again.get("t.kind", "a") is None
    assert [object_id for object_id, _ in again.list("t.kind")] == ["b"]
    again.flush()
    assert list(SandboxObject.objects.values_list("object_id", flat=True)) == ["b"]


def test_events_are_appended_in_order_and_read_back(account):
    storage = OrmStorage(account)
    storage.append_event("kms", {"operation": "A", "result": "Success"})
    storage.append_event("hsm", {"operation": "B", "result": "CKR_PIN_INCORRECT"})
    assert storage.events("kms") == [{"operation": "A", "result": "Success"}]
    storage.flush()
    assert OrmStorage(account).events("hsm") == [{"operation": "B", "result": "CKR_PIN_INCORRECT"}]
    failed = SandboxEvent.objects.get(operation="B")
    assert not failed.succeeded and failed.log == "hsm"
    with pytest.raises(Exception, match="append-only"):
        failed.save()


def test_two_accounts_never_see_each_other_s_records(account, other_account):
    mine = OrmStorage(account)
    mine.put("kms.key", "x", {"mine": True})
    mine.flush()
    theirs = OrmStorage(other_account)
    assert theirs.get("kms.key", "x") is None
    assert theirs.list("kms.key") == []
