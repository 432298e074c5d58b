"""HSM users: activation, login rules, lockout, user management, quorum, lost credentials."""

from __future__ import annotations

import datetime as dt
import inspect
import json

import pytest

from emulator.cloudhsm import CloudHsm, Pkcs11Error, QuorumError, RoleError
from tests.emulator.conformance.hsm_world import PASSWORDS, HsmWorld, make_world


@pytest.fixture
def world() -> HsmWorld:
    return make_world(1)


@pytest.fixture
def hsm(world) -> CloudHsm:
    return world.engine()


def _code(call) -> str:
    with pytest.raises(Pkcs11Error) as error:
        call()
    return error.value.code


def _users(hsm: CloudHsm, world: HsmWorld) -> dict[str, dict]:
    return {u["username"]: u for u in hsm.list_users(world.cluster_id)}


def _add_admin(hsm: CloudHsm, world: HsmWorld, name: str) -> None:
    session = world.login("admin")
    hsm.create_user(session, name, PASSWORDS[name], "admin")
    hsm.close_session(session)


# --- activation and listing -------------------------------------------------------------------


def test_user_list_needs_no_login_and_shows_roles(hsm, world):
    users = _users(hsm, world)
    assert users["admin"]["role"] == "admin"
    assert users["alice"]["role"] == "crypto-user"
    assert users["app_user"]["role"] == "internal(APPLIANCE_USER)"
    assert users["alice"]["locked"] == "false"
    assert users["alice"]["cluster-coverage"] == "full"


def test_activation_works_once(hsm, world):
    assert _code(lambda: hsm.activate_cluster(world.cluster_id, "new-admin-pw")) == (
        "CKR_FUNCTION_FAILED"
    )
    hsm.login(world.cluster_id, "admin", PASSWORDS["admin"], "admin")


# --- login rules ---------------------------------------------------------------------------------


def test_wrong_password_is_pin_incorrect(hsm, world):
    assert _code(lambda: hsm.login(world.cluster_id, "alice", "wrong-password")) == (
        "CKR_PIN_INCORRECT"
    )


def test_unknown_user_is_pin_incorrect_and_counts_nothing(hsm, world):
    assert _code(lambda: hsm.login(world.cluster_id, "mallory", "whatever1")) == (
        "CKR_PIN_INCORRECT"
    )


def test_the_role_must_match(hsm, world):
    assert _code(lambda: hsm.login(world.cluster_id, "alice", PASSWORDS["alice"], "admin")) == (
        "CKR_USER_TYPE_INVALID"
    )
    assert (
        _code(lambda: hsm.login(world.cluster_id, "app_user", "whatever1", "crypto-user"))
        == "CKR_USER_TYPE_INVALID"
    )
    session = hsm.open_session(world.cluster_id)
    assert (
        _code(
            lambda: hsm.session_login(session, "alice", PASSWORDS["alice"], "officer")  # type: ignore[arg-type]
        )
        == "CKR_USER_TYPE_INVALID"
    )


def test_a_failed_login_closes_the_session_it_opened(hsm, world):
    with pytest.raises(Pkcs11Error):
        hsm.login(world.cluster_id, "alice", "wrong-password")
    assert world.storage.list("hsm.session") == []


def test_a_second_login_on_a_session_is_already_logged_in(hsm, world):
    session = world.login("alice")
    assert _code(lambda: hsm.session_login(session, "bob", PASSWORDS["bob"], "crypto-user")) == (
        "CKR_USER_ALREADY_LOGGED_IN"
    )


def test_logout_needs_a_login_and_closed_sessions_are_invalid(hsm, world):
    session = hsm.open_session(world.cluster_id)
    assert _code(lambda: hsm.logout(session)) == "CKR_USER_NOT_LOGGED_IN"
    hsm.session_login(session, "alice", PASSWORDS["alice"], "crypto-user")
    info = hsm.session_info(session)
    assert info["username"] == "alice" and info["role"] == "crypto-user" and info["read_write"]
    hsm.logout(session)
    assert hsm.session_info(session)["username"] is None
    hsm.close_session(session)
    assert _code(lambda: hsm.session_info(session)) == "CKR_SESSION_HANDLE_INVALID"
    assert _code(lambda: hsm.close_session(session)) == "CKR_SESSION_HANDLE_INVALID"
    assert _code(lambda: hsm.logout("sess-unknown")) == "CKR_SESSION_HANDLE_INVALID"


def test_sessions_expire_after_12_simulated_hours(hsm, world):
    session = world.login("alice")
    world.advance(hours=12, seconds=1)
    assert _code(lambda: hsm.session_info(session)) == "CKR_SESSION_HANDLE_INVALID"
    assert world.storage.get("hsm.session", session) is None


def test_login_before_activation_is_refused(world):
    hsm = world.engine()
    cluster = hsm.create_cluster({"HsmType": "hsm2m.medium", "SubnetIds": ["subnet-x1"]})
    cluster_id = cluster["Cluster"]["ClusterId"]
    world.advance(minutes=6)
    hsm.create_hsm({"ClusterId": cluster_id, "AvailabilityZone": "us-east-1a"})
    world.advance(minutes=11)
    from emulator.cloudhsm import pki

    csr = hsm.describe_clusters({"Filters": {"clusterIds": [cluster_id]}})["Clusters"][0][
        "Certificates"
    ]["ClusterCsr"]
    ca_key, ca_pem = pki.create_ca("CA", world.clock.now())
    signed = pki.sign_csr(csr, ca_key, ca_pem, world.clock.now())
    hsm.initialize_cluster({"ClusterId": cluster_id, "SignedCert": signed, "TrustAnchor": ca_pem})
    world.advance(minutes=3)
    roles = {u["username"]: u["role"] for u in hsm.list_users(cluster_id)}
    assert roles["admin"] == "unactivated-admin"
    assert _code(lambda: hsm.login(cluster_id, "admin", "anything1", "admin")) == (
        "CKR_USER_PIN_NOT_INITIALIZED"
    )
    assert _code(lambda: hsm.activate_cluster(cluster_id, "short")) == "CKR_PIN_LEN_RANGE"
    hsm.activate_cluster(cluster_id, "first-admin-pw")
    assert {u["username"]: u["role"] for u in hsm.list_users(cluster_id)}["admin"] == "admin"
    hsm.login(cluster_id, "admin", "first-admin-pw", "admin")


# --- lockout -----------------------------------------------------------------------------------


def test_five_failures_lock_the_account_even_against_the_right_password(hsm, world):
    for _attempt in range(5):
        assert _code(lambda: hsm.login(world.cluster_id, "alice", "bad-password")) == (
            "CKR_PIN_INCORRECT"
        )
    assert _code(lambda: hsm.login(world.cluster_id, "alice", PASSWORDS["alice"])) == (
        "CKR_PIN_LOCKED"
    )
    assert _users(hsm, world)["alice"]["locked"] == "true"
    admin = world.login("admin")
    hsm.change_password(admin, "alice", "alice-new-pw")
    assert _users(hsm, world)["alice"]["locked"] == "false"
    hsm.login(world.cluster_id, "alice", "alice-new-pw")


def test_a_successful_login_resets_the_failure_count(hsm, world):
    for _attempt in range(4):
        _code(lambda: hsm.login(world.cluster_id, "bob", "bad-password"))
    hsm.close_session(world.login("bob"))
    for _attempt in range(4):
        assert _code(lambda: hsm.login(world.cluster_id, "bob", "bad-password")) == (
            "CKR_PIN_INCORRECT"
        )
    session = hsm.login(world.cluster_id, "bob", PASSWORDS["bob"])
    assert hsm.session_info(session)["username"] == "bob"
    assert _users(hsm, world)["bob"]["locked"] == "false"


# --- user management --------------------------------------------------------------------------------


def test_admin_creates_and_deletes_crypto_users(hsm, world):
    admin = world.login("admin")
    hsm.create_user(admin, "Dave_1", "dave-pass-1", "crypto-user")
    assert _users(hsm, world)["dave_1"]["role"] == "crypto-user"
    dave = hsm.login(world.cluster_id, "DAVE_1", "dave-pass-1")  # usernames ignore case
    hsm.close_session(dave)
    hsm.delete_user(admin, "dave_1", "crypto-user")
    assert "dave_1" not in _users(hsm, world)
    assert _code(lambda: hsm.login(world.cluster_id, "dave_1", "dave-pass-1")) == (
        "CKR_PIN_INCORRECT"
    )


def test_a_crypto_user_cannot_manage_users(hsm, world):
    alice = world.login("alice")
    with pytest.raises(RoleError) as error:
        hsm.create_user(alice, "eve", "eve-pass-1", "crypto-user")
    assert error.value.code == "CKR_ACTION_PROHIBITED"
    with pytest.raises(RoleError):
        hsm.delete_user(alice, "bob", "crypto-user")
    with pytest.raises(RoleError):
        hsm.change_password(alice, "bob", "bob-new-pass")


def test_user_management_needs_a_login(hsm, world):
    session = hsm.open_session(world.cluster_id)
    assert _code(lambda: hsm.create_user(session, "eve", "eve-pass-1", "crypto-user")) == (
        "CKR_USER_NOT_LOGGED_IN"
    )


@pytest.mark.parametrize(
    ("username", "password", "role", "code"),
    [
        ("bad name", "long-enough", "crypto-user", "CKR_ARGUMENTS_BAD"),
        ("x" * 32, "long-enough", "crypto-user", "CKR_ARGUMENTS_BAD"),
        ("eve", "short", "crypto-user", "CKR_PIN_LEN_RANGE"),
        ("eve", "x" * 33, "crypto-user", "CKR_PIN_LEN_RANGE"),
        ("eve", "long-enough", "appliance", "CKR_ARGUMENTS_BAD"),
        ("alice", "long-enough", "crypto-user", "CKR_ARGUMENTS_BAD"),
    ],
)
def test_user_create_validates_its_input(hsm, world, username, password, role, code):
    admin = world.login("admin")
    assert _code(lambda: hsm.create_user(admin, username, password, role)) == code


def test_user_delete_rules(hsm, world):
    admin = world.login("admin")
    alice = world.login("alice")
    handle = hsm.generate_symmetric(alice, "aes", 16, label="shared", share_with=["bob"])
    assert _code(lambda: hsm.delete_user(admin, "admin", "admin")) == (
        "CKR_USER_ANOTHER_ALREADY_LOGGED_IN"
    )
    assert _code(lambda: hsm.delete_user(admin, "alice", "crypto-user")) == (
        "CKR_USER_ANOTHER_ALREADY_LOGGED_IN"
    )
    hsm.close_session(alice)
    assert _code(lambda: hsm.delete_user(admin, "alice", "crypto-user")) == "CKR_ACTION_PROHIBITED"
    assert _code(lambda: hsm.delete_user(admin, "nobody", "crypto-user")) == "CKR_ARGUMENTS_BAD"
    assert _code(lambda: hsm.delete_user(admin, "bob", "admin")) == "CKR_ARGUMENTS_BAD"
    hsm.delete_user(admin, "bob", "crypto-user")
    assert "bob" not in _users(hsm, world)
    alice = world.login("alice")
    assert hsm.describe_key(alice, handle)["key-info"]["shared-users"] == []


def test_anyone_changes_their_own_password(hsm, world):
    alice = world.login("alice")
    hsm.change_password(alice, "alice", "alice-second")
    hsm.login(world.cluster_id, "alice", "alice-second")
    assert _code(lambda: hsm.login(world.cluster_id, "alice", PASSWORDS["alice"])) == (
        "CKR_PIN_INCORRECT"
    )


def test_an_admin_cannot_reset_a_logged_in_user(hsm, world):
    world.login("bob")
    admin = world.login("admin")
    assert _code(lambda: hsm.change_password(admin, "bob", "bob-second")) == (
        "CKR_USER_ANOTHER_ALREADY_LOGGED_IN"
    )
    assert _code(lambda: hsm.change_password(admin, "nobody", "whatever1")) == "CKR_ARGUMENTS_BAD"
    assert _code(lambda: hsm.change_password(admin, "app_user", "whatever1")) == (
        "CKR_ARGUMENTS_BAD"
    )


# --- quorum (M of N) ---------------------------------------------------------------------------


@pytest.fixture
def quorum_world(world) -> HsmWorld:
    hsm = world.engine()
    _add_admin(hsm, world, "admin2")
    _add_admin(hsm, world, "admin3")
    return world


def test_quorum_value_cannot_exceed_the_number_of_admins(hsm, quorum_world):
    admin = quorum_world.login("admin")
    assert _code(lambda: hsm.set_quorum_value(admin, "user", 4)) == "CKR_ARGUMENTS_BAD"
    assert _code(lambda: hsm.set_quorum_value(admin, "keys", 2)) == "CKR_ARGUMENTS_BAD"
    with pytest.raises(RoleError):
        hsm.set_quorum_value(quorum_world.login("alice"), "user", 2)
    hsm.set_quorum_value(admin, "user", 2)
    assert hsm.get_quorum_values(quorum_world.cluster_id) == {"user": 2, "quorum": 1}


def test_user_management_under_quorum_needs_m_approvals(hsm, quorum_world):
    admin = quorum_world.login("admin")
    admin2 = quorum_world.login("admin2")
    hsm.set_quorum_value(admin, "user", 2)
    with pytest.raises(QuorumError) as missing:
        hsm.create_user(admin, "eve", "eve-pass-1", "crypto-user")
    assert missing.value.code == "CKR_FUNCTION_REJECTED"
    token = hsm.quorum_generate(admin, "user")
    assert hsm.quorum_approve(admin, token) == 1
    with pytest.raises(QuorumError, match="1 of 2"):
        hsm.create_user(admin, "eve", "eve-pass-1", "crypto-user", approval=token)
    assert hsm.quorum_approve(admin2, token) == 2
    assert hsm.quorum_approve(admin2, token) == 2  # approvals count distinct admins
    listed = hsm.quorum_tokens(admin)
    assert listed == [
        {
            "token": token,
            "service": "user",
            "username": "admin",
            "approvals": 2,
            "minimum-required": 2,
        }
    ]
    hsm.create_user(admin, "eve", "eve-pass-1", "crypto-user", approval=token)
    with pytest.raises(QuorumError, match="not your quorum token"):  # consumed
        hsm.delete_user(admin, "eve", "crypto-user", approval=token)


def test_quorum_tokens_belong_to_their_requester_service_and_time(hsm, quorum_world):
    admin = quorum_world.login("admin")
    admin2 = quorum_world.login("admin2")
    admin3 = quorum_world.login("admin3")
    hsm.set_quorum_value(admin, "user", 2)
    token = hsm.quorum_generate(admin, "quorum")
    for approver in (admin2, admin3):
        hsm.quorum_approve(approver, token)
    with pytest.raises(QuorumError, match="not your quorum token"):
        hsm.create_user(admin, "eve", "eve-pass-1", "crypto-user", approval=token)
    theirs = hsm.quorum_generate(admin2, "user")
    hsm.quorum_approve(admin3, theirs)
    hsm.quorum_approve(admin, theirs)
    with pytest.raises(QuorumError, match="not your quorum token"):
        hsm.create_user(admin, "eve", "eve-pass-1", "crypto-user", approval=theirs)
    late = hsm.quorum_generate(admin, "user")
    hsm.quorum_approve(admin2, late)
    hsm.quorum_approve(admin3, late)
    quorum_world.advance(minutes=16)
    with pytest.raises(QuorumError, match="expired"):
        hsm.create_user(admin, "eve", "eve-pass-1", "crypto-user", approval=late)
    with pytest.raises(QuorumError, match="expired"):
        hsm.quorum_approve(admin2, late)
    with pytest.raises(QuorumError, match="no such"):
        hsm.quorum_approve(admin2, "qt-unknown")
    with pytest.raises(RoleError):
        hsm.quorum_generate(quorum_world.login("alice"), "user")
    assert _code(lambda: hsm.quorum_generate(admin, "keys")) == "CKR_ARGUMENTS_BAD"


def test_a_new_token_replaces_the_old_one(hsm, quorum_world):
    admin = quorum_world.login("admin")
    first = hsm.quorum_generate(admin, "user")
    second = hsm.quorum_generate(admin, "user")
    assert [t["token"] for t in hsm.quorum_tokens(admin)] == [second]
    assert first != second


def test_the_quorum_service_guards_quorum_changes(hsm, quorum_world):
    admin = quorum_world.login("admin")
    admin2 = quorum_world.login("admin2")
    hsm.set_quorum_value(admin, "quorum", 2)
    with pytest.raises(QuorumError):
        hsm.set_quorum_value(admin, "user", 2)
    token = hsm.quorum_generate(admin, "quorum")
    hsm.quorum_approve(admin, token)
    hsm.quorum_approve(admin2, token)
    hsm.set_quorum_value(admin, "user", 3, approval=token)
    assert hsm.get_quorum_values(quorum_world.cluster_id)["user"] == 3


# --- lost credentials stay lost ---------------------------------------------------------------


def test_no_public_method_resets_a_password_without_an_admin_session():
    suspicious = [
        name
        for name, _ in inspect.getmembers(CloudHsm, inspect.isfunction)
        if not name.startswith("_")
        and any(word in name for word in ("password", "reset", "unlock", "recover", "activate"))
    ]
    assert sorted(suspicious) == ["activate_cluster", "change_password"]
    assert list(inspect.signature(CloudHsm.change_password).parameters)[1] == "session_id"


def test_a_cluster_whose_only_admin_password_is_lost_cannot_manage_users(hsm, world):
    # The admin's password is forgotten: every guess fails, then the account locks.
    for guess in ("password1", "admin-pass", "admin-pass-2", "letmein12", "hunter222"):
        assert _code(lambda g=guess: hsm.login(world.cluster_id, "admin", g, "admin")) == (
            "CKR_PIN_INCORRECT"
        )
    assert _code(lambda: hsm.login(world.cluster_id, "admin", PASSWORDS["admin"], "admin")) == (
        "CKR_PIN_LOCKED"
    )
    # Activation cannot be replayed to set a new password ...
    assert _code(lambda: hsm.activate_cluster(world.cluster_id, "fresh-start")) == (
        "CKR_FUNCTION_FAILED"
    )
    # ... crypto users cannot manage users, and an unauthenticated session can do nothing.
    alice = world.login("alice")
    with pytest.raises(RoleError):
        hsm.change_password(alice, "admin", "fresh-start")
    anonymous = hsm.open_session(world.cluster_id)
    assert _code(lambda: hsm.change_password(anonymous, "admin", "fresh-start")) == (
        "CKR_USER_NOT_LOGGED_IN"
    )
    # A backup holds the same users, so restoring does not bring the admin back either.
    world.advance(hours=25)
    backup = hsm.describe_backups()["Backups"][0]["BackupId"]
    restored = hsm.create_cluster(
        {"HsmType": "hsm2m.medium", "SubnetIds": ["subnet-r1"], "SourceBackupId": backup}
    )["Cluster"]["ClusterId"]
    world.advance(minutes=6)
    hsm.create_hsm({"ClusterId": restored, "AvailabilityZone": "us-east-1a"})
    world.advance(minutes=11)
    assert _code(lambda: hsm.login(restored, "admin", PASSWORDS["admin"], "admin")) == (
        "CKR_PIN_LOCKED"
    )


# --- audit --------------------------------------------------------------------------------------


def test_data_plane_calls_are_audited_with_the_hsm_user_and_no_secrets(hsm, world):
    with pytest.raises(Pkcs11Error):
        hsm.login(world.cluster_id, "alice", "wrong-password")
    alice = world.login("alice")
    hsm.generate_symmetric(alice, "aes", 32, label="audited")
    events = hsm.audit_events()
    failed = [e for e in events if e["operation"] == "Login" and e["result"] != "ok"]
    assert failed[-1]["principal"] == "alice" and failed[-1]["result"] == "CKR_PIN_INCORRECT"
    generated = [e for e in events if e["operation"] == "KeyGenerateSymmetric"][-1]
    assert generated["principal"] == "alice"
    assert generated["target"] == f"{world.cluster_id}/0x0000000000000001"
    assert generated["result"] == "ok"
    dumped = json.dumps(events)
    assert "wrong-password" not in dumped
    assert all(password not in dumped for password in PASSWORDS.values())
    assert dt.datetime.fromisoformat(generated["time"])
