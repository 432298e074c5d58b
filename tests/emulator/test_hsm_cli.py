"""The CloudHSM CLI look-alike: command parsing, JSON output and a learner's walk-through."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from emulator.cloudhsm import CliContext, run_command
from emulator.cloudhsm.cli import COMMANDS
from tests.emulator.conformance.hsm_world import PASSWORDS, HsmWorld, make_world


@pytest.fixture
def world() -> HsmWorld:
    return make_world(2)


def _run(world: HsmWorld, context: CliContext, line: str) -> dict:
    # A fresh engine per command, as the console makes one per HTTP request.
    return run_command(world.engine(), context, line)


def _ok(world: HsmWorld, context: CliContext, line: str):
    result = _run(world, context, line)
    assert result["error_code"] == 0, result
    return result["data"]


def _error(world: HsmWorld, context: CliContext, line: str) -> dict:
    result = _run(world, context, line)
    assert result["error_code"] == 1, result
    assert isinstance(result["data"], str)
    return result


def _login(world: HsmWorld, context: CliContext, user: str) -> None:
    role = "admin" if user == "admin" else "crypto-user"
    _ok(world, context, f"login --username {user} --role {role} --password {PASSWORDS[user]}")


def test_a_learner_walks_through_users_keys_and_signatures(world):
    context = CliContext(world.cluster_id)
    assert _ok(
        world, context, f"login --username admin --role admin --password {PASSWORDS['admin']}"
    ) == {
        "username": "admin",
        "role": "admin",
    }
    _ok(world, context, "user create --username dora --role crypto-user --password 'dora pass 1'")
    users = {u["username"] for u in _ok(world, context, "user list")["users"]}
    assert "dora" in users
    assert _ok(world, context, "logout") == "Logout successful"
    assert context.session_id is None
    _ok(world, context, "login --username dora --role crypto-user --password 'dora pass 1'")
    key = _ok(
        world,
        context,
        "key generate-symmetric aes --label payments --key-length-bytes 32 "
        "--attributes encrypt=true decrypt=true",
    )["key"]
    assert key["key-reference"].startswith("0x")
    assert key["attributes"]["encrypt"] is True and key["attributes"]["token"] is True
    listed = _ok(world, context, "key list --filter attr.label=payments")
    assert listed["matched_keys"] == [
        {"key-reference": key["key-reference"], "attributes": {"label": "payments"}}
    ]
    verbose = _ok(world, context, "key list --filter attr.label=payments --verbose")
    assert verbose["matched_keys"][0]["key-info"]["key-owners"][0]["username"] == "dora"
    pair = _ok(
        world,
        context,
        "key generate-asymmetric-pair ec --public-label ec-pub --private-label ec-priv "
        "--curve secp384r1 --public-attributes verify=true --private-attributes sign=true",
    )
    assert pair["private_key"]["attributes"]["curve"] == "secp384r1"
    data = base64.b64encode(b"ship it").decode()
    signed = _ok(
        world,
        context,
        f"crypto sign ecdsa --key-filter attr.label=ec-priv --hash-function sha384 --data {data}",
    )
    signature = base64.b64decode(signed["signature"])
    _ok(
        world,
        context,
        "crypto verify ecdsa --key-filter attr.label=ec-pub --hash-function sha384 "
        f"--data {data} --signature {signed['signature']}",
    )
    pem = _ok(world, context, "key generate-file --encoding pem --filter attr.label=ec-pub")["pem"]
    public = serialization.load_pem_public_key(pem.encode())
    size = len(signature) // 2
    der = encode_dss_signature(
        int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
    )
    public.verify(der, b"ship it", ec.ECDSA(hashes.SHA384()))
    bad = base64.b64encode(b"x" * len(signature)).decode()
    failed = _error(
        world,
        context,
        "crypto verify ecdsa --key-filter attr.label=ec-pub --hash-function sha384 "
        f"--data {data} --signature {bad}",
    )
    assert failed["code"] == "CKR_SIGNATURE_INVALID"
    assert _ok(world, context, "key delete --filter attr.label=payments") == {
        "message": "Key deleted successfully"
    }
    assert _ok(world, context, "key list --filter attr.label=payments")["total_key_count"] == 0


def test_sharing_attributes_and_wrapping_from_the_cli(world):
    context = CliContext(world.cluster_id)
    _login(world, context, "alice")
    _ok(
        world,
        context,
        "key generate-symmetric aes --label kek --key-length-bytes 32 "
        "--attributes wrap=true unwrap=true",
    )
    _ok(world, context, "key generate-symmetric aes --label data --key-length-bytes 16")
    wrapped = _ok(
        world,
        context,
        "key wrap aes-no-pad --payload-filter attr.label=data --wrapping-filter attr.label=kek",
    )
    assert len(base64.b64decode(wrapped["wrapped_key_data"])) == 24
    restored = _ok(
        world,
        context,
        "key unwrap aes-no-pad --filter attr.label=kek --key-type-class aes --label restored "
        f"--data {wrapped['wrapped_key_data']} --session",
    )["key"]
    assert restored["attributes"]["token"] is False
    assert restored["attributes"]["local"] is False
    _ok(world, context, "key share --filter attr.label=data --username bob --role crypto-user")
    _ok(
        world,
        context,
        "key set-attribute --filter attr.label=data --name extractable --value false",
    )
    refused = _error(
        world, context, "key set-attribute --filter attr.label=data --name extractable --value true"
    )
    assert refused["code"] == "CKR_ATTRIBUTE_READ_ONLY"
    locked = _error(
        world,
        context,
        "key wrap aes-no-pad --payload-filter attr.label=data --wrapping-filter attr.label=kek",
    )
    assert locked["code"] == "CKR_KEY_UNEXTRACTABLE"
    _ok(world, context, "key unshare --filter attr.label=data --username bob --role crypto-user")
    ambiguous = _error(world, context, "key delete --filter attr.key-type=aes")
    assert ambiguous["code"] == "CKR_ARGUMENTS_BAD" and "narrow" in ambiguous["data"]
    missing = _error(world, context, "key delete --filter attr.label=nothing")
    assert missing["code"] == "CKR_OBJECT_HANDLE_INVALID"


def test_rsa_pairs_and_signatures_from_the_cli(world):
    context = CliContext(world.cluster_id)
    _login(world, context, "alice")
    _ok(
        world,
        context,
        "key generate-asymmetric-pair rsa --public-label rsa-pub --private-label rsa-priv "
        "--modulus-size-bits 2048 --public-exponent 65537 "
        "--public-attributes verify=true --private-attributes sign=true",
    )
    data = base64.b64encode(b"contract").decode()
    for scheme in ("rsa-pkcs", "rsa-pkcs-pss"):
        signature = _ok(
            world,
            context,
            f"crypto sign {scheme} --key-filter attr.label=rsa-priv --hash-function sha256 "
            f"--data {data}",
        )["signature"]
        _ok(
            world,
            context,
            f"crypto verify {scheme} --key-filter attr.label=rsa-pub --hash-function sha256 "
            f"--data {data} --signature {signature}",
        )
    digest = base64.b64encode(hashes.Hash(hashes.SHA256()).finalize()).decode()
    _ok(
        world,
        context,
        "crypto sign rsa-pkcs-pss --key-filter attr.label=rsa-priv --hash-function sha256 "
        f"--data {digest} --data-type digest",
    )
    assert (
        "raw"
        in _error(
            world,
            context,
            "crypto sign rsa-pkcs --key-filter attr.label=rsa-priv --data-type digest "
            f"--data {digest}",
        )["data"]
    )
    assert (
        "hash-function"
        in _error(
            world,
            context,
            f"crypto sign rsa-pkcs --key-filter attr.label=rsa-priv --hash-function md5 --data {data}",
        )["data"]
    )


def test_hmac_from_the_cli(world):
    context = CliContext(world.cluster_id)
    _login(world, context, "alice")
    _ok(
        world,
        context,
        "key generate-symmetric generic-secret --label mac --key-length-bytes 32 "
        "--attributes sign=true verify=true",
    )
    data = base64.b64encode(b"m").decode()
    mac = _ok(world, context, f"crypto sign hmac --key-filter attr.label=mac --data {data}")
    verified = _ok(
        world,
        context,
        f"crypto verify hmac --key-filter attr.label=mac --data {data} "
        f"--signature {mac['signature']}",
    )
    assert verified
    other = base64.b64encode(b"n").decode()
    assert (
        "does not verify"
        in _error(
            world,
            context,
            f"crypto verify hmac --key-filter attr.label=mac --data {other} "
            f"--signature {mac['signature']}",
        )["data"].lower()
    )


def test_role_errors_come_back_as_error_dicts(world):
    context = CliContext(world.cluster_id)
    _login(world, context, "alice")
    result = _error(
        world, context, "user create --username eve --role crypto-user --password abcdefgh"
    )
    assert result["code"] == "CKR_ACTION_PROHIBITED"
    admin = CliContext(world.cluster_id)
    _login(world, admin, "admin")
    crypto = _error(world, admin, "key generate-symmetric aes --label x --key-length-bytes 16")
    assert crypto["code"] == "CKR_ACTION_PROHIBITED"


def test_quorum_from_the_cli(world):
    admin = CliContext(world.cluster_id)
    _login(world, admin, "admin")
    _ok(
        world, admin, f"user create --username admin2 --role admin --password {PASSWORDS['admin2']}"
    )
    _ok(world, admin, "quorum token-sign set-quorum-value --service user --value 2")
    refused = _error(
        world, admin, "user create --username eve --role crypto-user --password abcdefgh"
    )
    assert refused["code"] == "CKR_FUNCTION_REJECTED"
    token = _ok(world, admin, "quorum token-sign generate --service user")["token"]
    second = CliContext(world.cluster_id)
    _ok(world, second, f"login --username admin2 --role admin --password {PASSWORDS['admin2']}")
    _ok(world, admin, f"quorum token-sign approve --token {token}")
    assert _ok(world, second, f"quorum token-sign approve --token {token}")["approvals"] == 2
    assert _ok(world, admin, "quorum token-sign list")["tokens"][0]["approvals"] == 2
    _ok(
        world,
        admin,
        f"user create --username eve --role crypto-user --password abcdefgh --approval {token}",
    )


def test_lockout_and_reset_from_the_cli(world):
    context = CliContext(world.cluster_id)
    for _ in range(5):
        assert (
            _error(world, context, "login --username bob --role crypto-user --password nope-nope")[
                "code"
            ]
            == "CKR_PIN_INCORRECT"
        )
    locked = _error(
        world, context, f"login --username bob --role crypto-user --password {PASSWORDS['bob']}"
    )
    assert locked["code"] == "CKR_PIN_LOCKED"
    assert context.session_id is None
    _login(world, context, "admin")
    _ok(
        world,
        context,
        "user change-password --username bob --role crypto-user --password bob-reset-1",
    )
    _ok(world, context, "logout")
    _ok(world, context, "login --username bob --role crypto-user --password bob-reset-1")
    _ok(
        world,
        context,
        "user change-password --username bob --role crypto-user --password bob-again-1",
    )


def test_login_twice_and_commands_without_login(world):
    context = CliContext(world.cluster_id)
    assert _error(world, context, "logout")["code"] == "CKR_USER_NOT_LOGGED_IN"
    assert _error(world, context, "key list")["code"] == "CKR_USER_NOT_LOGGED_IN"
    assert _error(world, context, "key delete --filter attr.label=x")["code"] == (
        "CKR_USER_NOT_LOGGED_IN"
    )
    _login(world, context, "alice")
    again = _error(
        world, context, f"login --username bob --role crypto-user --password {PASSWORDS['bob']}"
    )
    assert again["code"] == "CKR_USER_ALREADY_LOGGED_IN"
    # A console whose stored session died (expired) can log in again.
    world.engine().close_session(context.session_id)
    _login(world, context, "bob")


def test_cluster_commands(world):
    context = CliContext(world.cluster_id)
    hsms = _ok(world, context, "cluster hsm-info")["hsms"]
    assert [h["state"] for h in hsms] == ["ACTIVE", "ACTIVE"]
    assert _error(world, context, "cluster activate --password whatever1")["code"] == (
        "CKR_FUNCTION_FAILED"
    )
    gone = CliContext("cluster-missing")
    assert _error(world, gone, "cluster hsm-info")["code"] == "CKR_TOKEN_NOT_PRESENT"


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("", "empty command"),
        ("frobnicate", "unknown command"),
        ("key generate-symmetric aes --label x", "missing --key-length-bytes"),
        ("key generate-symmetric aes --label x --key-length-bytes big", "must be a number"),
        ("key generate-symmetric aes --colour red", "unknown option"),
        ("user list extra", "unexpected argument"),
        ("login --username 'unterminated", "cannot parse"),
        ("key list --filter label=x", "attr.NAME=VALUE"),
        ("key list --filter nonsense", "attr.NAME=VALUE"),
        ("login --username a --role officer --password x", "--role must be"),
        ("key generate-symmetric aes --label a --key-length-bytes 16 --attributes x", "NAME=VALUE"),
        (
            "key unwrap aes-gcm --filter attr.label=k --data !! --key-type-class aes --label x",
            "base64",
        ),
        (
            "key unwrap aes-gcm --filter attr.label=k --data AA== --key-type-class des --label x",
            "key-type-class",
        ),
        ("login --username a --username b --role admin --password x", "takes one value"),
    ],
)
def test_usage_errors_explain_themselves(world, line, fragment):
    context = CliContext(world.cluster_id)
    _login(world, context, "alice")
    result = _run(world, context, line)
    assert result["error_code"] == 1
    assert fragment in result["data"]


def test_help_lists_commands_and_usage(world):
    context = CliContext(world.cluster_id)
    overview = _ok(world, context, "help")
    assert "key generate-symmetric aes" in overview
    assert "cluster activate" in overview
    assert len(overview) == len(COMMANDS)
    detail = _ok(world, context, "help key generate-symmetric aes")
    assert "--key-length-bytes" in detail["key generate-symmetric aes"]["usage"]
    assert _ok(world, context, "key list --help")["key list"]["usage"].startswith("key list")
    assert _run(world, context, "help nothing-here")["error_code"] == 1


def test_the_context_round_trips_through_a_dict(world):
    context = CliContext(world.cluster_id)
    _login(world, context, "alice")
    stored = context.to_dict()
    revived = CliContext.from_dict(stored)
    assert _ok(world, revived, "key list")["total_key_count"] == 0
