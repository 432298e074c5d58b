"""The public surface: the ``call`` dispatcher, request validation, the JSON wire helpers,
the audit log, statelessness, and the guarantees that material never leaks and that the
engine never imports Django."""

from __future__ import annotations

import ast
import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.core import Host
from emulator.kms import OPERATIONS, Kms, KmsError, decode_request, encode_response, errors
from emulator.kms.errors import (
    AccessDeniedException,
    InvalidCiphertextException,
    NotFoundException,
    SerializationException,
    UnknownOperationException,
    ValidationException,
)
from emulator.kms.service import method_name
from tests.emulator.test_kms_support import (
    ALICE,
    DAY,
    ROOT,
    START,
    Env,
    _fresh_cache,
    arn_of,
    env,
    kms,
    new_key,
)

__all__ = ["_fresh_cache", "env", "kms"]  # fixtures used by name

REPO = Path(__file__).resolve().parents[2]


# --- dispatcher --------------------------------------------------------------------------------------


def test_every_operation_has_a_method(kms: Kms) -> None:
    assert len(OPERATIONS) == len(set(OPERATIONS)) == 52
    for operation in OPERATIONS:
        assert callable(getattr(kms, method_name(operation)))


def test_call_dispatches_by_aws_operation_name(kms: Kms) -> None:
    key_id = kms.call(ROOT, "CreateKey", {})["KeyMetadata"]["KeyId"]

    blob = kms.call(ROOT, "Encrypt", {"KeyId": key_id, "Plaintext": b"hi"})["CiphertextBlob"]

    assert kms.call(ROOT, "Decrypt", {"CiphertextBlob": blob})["Plaintext"] == b"hi"
    assert kms.call(ROOT, "ListKeys")["Keys"][0]["KeyId"] == key_id


def test_unknown_operations_raise_a_distinct_audited_error(env: Env, kms: Kms) -> None:
    with pytest.raises(UnknownOperationException) as raised:
        kms.call(ROOT, "DeriveSharedSecret", {})

    assert raised.value.code == "UnknownOperationException"
    assert isinstance(raised.value, KmsError)
    assert env.last_event()["operation"] == "DeriveSharedSecret"
    assert env.last_event()["result"] == "UnknownOperationException"


# --- validation ---------------------------------------------------------------------------------------


def test_missing_required_members_read_like_aws(kms: Kms) -> None:
    with pytest.raises(ValidationException) as raised:
        kms.call(ROOT, "Encrypt", {})

    assert raised.value.message == (
        "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: "
        "Member must not be null; Value null at 'plaintext' failed to satisfy constraint: "
        "Member must not be null"
    )


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("Encrypt", {"KeyId": "k", "Plaintext": "text, not bytes"}),
        ("Encrypt", {"KeyId": 7, "Plaintext": b"x"}),
        ("Encrypt", {"KeyId": "k", "Plaintext": b"x", "EncryptionContext": {"a": 1}}),
        ("Encrypt", {"KeyId": "k", "Plaintext": b"x", "EncryptionContext": ["a"]}),
        ("ListKeys", {"Limit": True}),
        ("ListKeys", {"Limit": "10"}),
        ("ScheduleKeyDeletion", {"KeyId": "k", "PendingWindowInDays": 7.5}),
        ("CreateKey", {"MultiRegion": "yes"}),
        ("CreateGrant", {"KeyId": "k", "GranteePrincipal": ALICE, "Operations": "Encrypt"}),
        ("CreateGrant", {"KeyId": "k", "GranteePrincipal": ALICE, "Operations": [1]}),
        ("DescribeKey", {"KeyId": ""}),
        ("DescribeKey", {"KeyId": "k" * 2049}),
    ],
)
def test_member_types_and_bounds_are_checked(
    kms: Kms, operation: str, params: dict[str, object]
) -> None:
    with pytest.raises(ValidationException, match="validation error"):
        kms.call(ROOT, operation, params)


def test_params_must_be_a_mapping_and_unknown_members_are_ignored(kms: Kms) -> None:
    with pytest.raises(ValidationException):
        kms.call(ROOT, "ListKeys", ["Limit", 1])  # type: ignore[arg-type]  # wrong on purpose
    assert kms.call(ROOT, "ListKeys", {"Limt": 3}) == {"Keys": [], "Truncated": False}


def test_validation_never_echoes_plaintext_or_passwords(kms: Kms) -> None:
    secret = b"TOP-SECRET-" * 400

    with pytest.raises(ValidationException) as too_long:
        kms.call(ROOT, "Encrypt", {"KeyId": "k", "Plaintext": secret})
    with pytest.raises(ValidationException) as bad_password:
        kms.call(
            ROOT,
            "CreateCustomKeyStore",
            {"CustomKeyStoreName": "s", "KeyStorePassword": "pw-" * 20},
        )

    assert "TOP-SECRET" not in str(too_long.value) + repr(too_long.value)
    assert "Value at 'plaintext'" in too_long.value.message
    assert "pw-pw" not in str(bad_password.value) + repr(bad_password.value)


# --- the wire format ---------------------------------------------------------------------------------


def test_wire_helpers_convert_blobs_to_and_from_base64(kms: Kms) -> None:
    key_id = new_key(kms)
    body = {"KeyId": key_id, "Plaintext": base64.b64encode(b"over http").decode()}

    response = encode_response(kms.call(ROOT, "Encrypt", decode_request("Encrypt", body)))
    decrypted = encode_response(
        kms.call(
            ROOT,
            "Decrypt",
            decode_request("Decrypt", {"CiphertextBlob": response["CiphertextBlob"]}),
        )
    )

    assert isinstance(response["CiphertextBlob"], str)
    assert base64.b64decode(decrypted["Plaintext"]) == b"over http"
    with pytest.raises(SerializationException):
        decode_request("Encrypt", {"KeyId": key_id, "Plaintext": "not base64!"})
    assert encode_response({"a": [b"\x00"], "b": 1.5}) == {"a": ["AA=="], "b": 1.5}


def test_errors_map_one_to_one_to_aws_json() -> None:
    names = [name for name in errors.__all__ if name != "KmsError"]
    for name in names:
        error_class = getattr(errors, name)
        error = error_class("message")
        assert error.code == name
        assert error.to_dict() == {"__type": name, "message": "message"}
        assert 400 <= error.status < 600
    assert errors.KMSInternalException.status == 500
    assert errors.ValidationException("x").status == 400


# --- audit log ---------------------------------------------------------------------------------------


def test_every_call_is_audited_with_arn_principal_and_result(env: Env, kms: Kms) -> None:
    key_id = new_key(kms)
    kms.encrypt(
        ROOT,
        {
            "KeyId": key_id,
            "Plaintext": b"x",
            "EncryptionContext": {"k": "v"},
        },
    )
    with pytest.raises(AccessDeniedException):
        kms.encrypt(ALICE, {"KeyId": key_id, "Plaintext": b"x"})
    with pytest.raises(NotFoundException):
        kms.describe_key(ROOT, {"KeyId": "alias/missing"})

    create, encrypt, denied, missing = env.events()

    assert create["operation"] == "CreateKey" and create["target"] == arn_of(key_id)
    assert encrypt == {
        "time": START.isoformat(),
        "principal": ROOT,
        "operation": "Encrypt",
        "target": arn_of(key_id),
        "result": "Success",
        "detail": {"requestParameters": {"KeyId": key_id, "EncryptionContext": {"k": "v"}}},
    }
    assert (denied["principal"], denied["result"]) == (ALICE, "AccessDeniedException")
    assert "not authorized" in denied["detail"]["errorMessage"]
    assert (missing["target"], missing["result"]) == (None, "NotFoundException")


def test_grant_use_is_visible_in_the_audit_log(env: Env, kms: Kms) -> None:
    key_id = new_key(kms)
    grant_id = kms.create_grant(
        ROOT, {"KeyId": key_id, "GranteePrincipal": ALICE, "Operations": ["Encrypt"]}
    )["GrantId"]

    kms.encrypt(ALICE, {"KeyId": key_id, "Plaintext": b"x"})

    assert env.last_event()["detail"]["grantId"] == grant_id


def test_no_material_or_plaintext_in_events_errors_or_reprs(env: Env, kms: Kms) -> None:
    key_id = new_key(kms)
    hmac_key = new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    data_key = kms.generate_data_key(ROOT, {"KeyId": key_id, "KeySpec": "AES_256"})
    pair = kms.generate_data_key_pair(ROOT, {"KeyId": key_id, "KeyPairSpec": "ECC_NIST_P256"})
    plaintext = b"the-plaintext-nobody-may-see"
    blob = kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": plaintext})["CiphertextBlob"]
    kms.generate_mac(
        ROOT, {"KeyId": hmac_key, "Message": plaintext, "MacAlgorithm": "HMAC_SHA_256"}
    )
    failures: list[KmsError] = []
    bad_calls: list[Callable[[], object]] = [
        lambda: kms.decrypt(ROOT, {"CiphertextBlob": blob, "EncryptionContext": {"a": "b"}}),
        lambda: kms.decrypt(ROOT, {"CiphertextBlob": data_key["Plaintext"]}),
        lambda: kms.encrypt(ALICE, {"KeyId": key_id, "Plaintext": plaintext}),
        lambda: kms.encrypt(ROOT, {"KeyId": key_id, "Plaintext": plaintext * 200}),
        lambda: kms.verify_mac(
            ROOT,
            {
                "KeyId": hmac_key,
                "Message": plaintext,
                "MacAlgorithm": "HMAC_SHA_256",
                "Mac": plaintext,
            },
        ),
    ]
    for bad in bad_calls:
        with pytest.raises(KmsError) as raised:
            bad()
        failures.append(raised.value)

    secrets = [
        data_key["Plaintext"],
        pair["PrivateKeyPlaintext"],
        plaintext,
        env.material(key_id),
        env.material(hmac_key),
    ]
    texts = [repr(env.events()), repr(kms), str(kms)]
    texts += [repr(error) + str(error) + str(error.to_dict()) for error in failures]
    for secret in secrets:
        for encoded in (
            secret.hex(),
            base64.b64encode(secret).decode(),
            secret.decode("latin-1"),
        ):
            for text in texts:
                assert encoded not in text
    assert isinstance(failures[0], InvalidCiphertextException)


def test_stored_records_hold_only_sealed_material(env: Env, kms: Kms) -> None:
    key_id = new_key(kms)
    hmac_key = new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")

    everything = repr([env.storage.list(kind) for kind in env.storage])

    for secret in (env.material(key_id), env.material(hmac_key)):
        assert secret.hex() not in everything
        assert base64.b64encode(secret).decode() not in everything


def test_a_swapped_material_record_fails_loudly(env: Env, kms: Kms) -> None:
    first, second = new_key(kms), new_key(kms)
    record = env.key_record(first)
    record["material"] = env.key_record(second)["material"]
    env.storage.put("kms.key", f"111122223333:us-east-1:{first}", record)

    with pytest.raises(errors.KMSInternalException):
        env.kms().encrypt(ROOT, {"KeyId": first, "Plaintext": b"x"})


# --- statelessness -----------------------------------------------------------------------------------


def test_a_fresh_kms_per_request_sees_all_state(env: Env) -> None:
    key_id = new_key(env.kms())
    env.kms().create_alias(ROOT, {"AliasName": "alias/a", "TargetKeyId": key_id})
    blob = env.kms().encrypt(ROOT, {"KeyId": "alias/a", "Plaintext": b"x"})["CiphertextBlob"]
    env.kms().disable_key(ROOT, {"KeyId": key_id})
    env.kms().enable_key(ROOT, {"KeyId": key_id})

    assert env.kms().decrypt(ROOT, {"CiphertextBlob": blob})["Plaintext"] == b"x"
    first, second = env.kms(), env.kms()
    second.disable_key(ROOT, {"KeyId": key_id})
    with pytest.raises(errors.DisabledException):
        first.encrypt(ROOT, {"KeyId": key_id, "Plaintext": b"x"})


def test_tick_is_cheap_and_idempotent(env: Env) -> None:
    kms = env.kms()
    key_id = new_key(kms)
    kms.schedule_key_deletion(ROOT, {"KeyId": key_id, "PendingWindowInDays": 7})
    kms.cancel_key_deletion(ROOT, {"KeyId": key_id})
    env.clock.advance(8 * DAY)

    assert kms.tick() == []
    assert kms.tick() == []
    assert kms.describe_key(ROOT, {"KeyId": key_id})["KeyMetadata"]["KeyState"] == "Disabled"


def test_regions_and_accounts_are_separate(env: Env) -> None:
    kms = env.kms()
    key_id = new_key(kms)
    elsewhere = Kms(Host(env.storage, env.clock, kms._random, env.sealer), region="eu-west-1")

    assert elsewhere.list_keys(ROOT)["Keys"] == []
    with pytest.raises(NotFoundException):
        elsewhere.describe_key(ROOT, {"KeyId": key_id})
    with pytest.raises(NotFoundException):
        kms.describe_key(ROOT, {"KeyId": f"arn:aws:kms:eu-west-1:111122223333:key/{key_id}"})
    with pytest.raises(ValueError, match="12 digits"):
        Kms(Host(env.storage, env.clock, kms._random, env.sealer), account_id="123")


# --- the engine stays pure ---------------------------------------------------------------------------


def _project_packages() -> set[str]:
    return {
        path.parent.name
        for path in REPO.glob("*/__init__.py")
        if path.parent.name not in {"emulator", "tests", "benchmarks"}
    }


def test_nothing_in_the_emulator_imports_django_or_the_apps() -> None:
    forbidden = {"django", *_project_packages()}
    offenders = []
    for path in sorted((REPO / "emulator").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                if name.split(".")[0] in forbidden:
                    offenders.append(f"{path.relative_to(REPO)}: {name}")
    assert "studyapp" in forbidden and "sandbox" in forbidden
    assert offenders == []
