"""HSM users and quorum: cluster activation, crypto users and admins, passwords, and M-of-N
approvals guarding user management.
"""

from __future__ import annotations

from . import lifecycle, passwords, sessions
from .errors import Pkcs11Error, QuorumError
from .state import (
    JSON,
    QUORUM_SERVICES,
    QUORUM_TOKEN_TTL,
    USERNAME,
    Context,
    HsmState,
    Role,
)


def activate_cluster(engine: HsmState, cluster_id: str, password: str) -> None:
    """CloudHSM CLI ``cluster activate``: the built-in unactivated admin sets its password
    and becomes ``admin``; the cluster becomes ACTIVE. Works once, on an INITIALIZED
    cluster: it is not a way to reset a lost password."""
    with engine._audited("ClusterActivate", "admin", cluster_id):
        cluster = sessions.reachable_cluster(engine, cluster_id)
        if cluster["_"]["activated"] or cluster["State"] != "INITIALIZED":
            raise Pkcs11Error("CKR_FUNCTION_FAILED", "the cluster is already activated")
        admin = engine._storage.get("hsm.user", engine._user_id(cluster_id, "admin"))
        if admin is None or admin["role"] != "unactivated-admin":
            raise Pkcs11Error("CKR_FUNCTION_FAILED", "no unactivated admin to activate")
        admin["password"] = passwords.password_record(engine._random, password)
        admin["role"] = "admin"
        engine._storage.put("hsm.user", engine._user_id(cluster_id, "admin"), admin)
        cluster["_"]["activated"] = True
        cluster["State"] = "ACTIVE"
        cluster["StateMessage"] = "Cluster is active."
        lifecycle.refresh_health(cluster)
        lifecycle.schedule(engine, cluster)
        engine._put_cluster(cluster)


def user_exists(engine: HsmState, cluster_id: str, username: str, role: Role) -> bool:
    """Whether the cluster has this user with this role (public, like ``user list``)."""
    user = engine._storage.get("hsm.user", engine._user_id(cluster_id, username.lower()))
    return user is not None and user["role"] == role


def list_users(engine: HsmState, cluster_id: str) -> list[JSON]:
    """CloudHSM CLI ``user list`` (no login needed): username, role, locked, mfa,
    cluster-coverage."""
    with engine._audited("UserList", "anonymous", cluster_id):
        cluster = sessions.reachable_cluster(engine, cluster_id)
        coverage = "full"
        users = []
        for user in sorted(engine._users(cluster["ClusterId"]), key=lambda u: u["username"]):
            role = user["role"]
            users.append(
                {
                    "username": user["username"],
                    "role": "internal(APPLIANCE_USER)" if role == "appliance" else role,
                    "locked": "true" if user["locked"] else "false",
                    "mfa": [],
                    "quorum": [],
                    "cluster-coverage": coverage,
                }
            )
        return users


def _user_logged_in(engine: HsmState, cluster_id: str, username: str, except_session: str) -> bool:
    now = engine._now()
    return any(
        session["cluster_id"] == cluster_id
        and session.get("username") == username
        and session["expires"] > now
        and session_id != except_session
        for session_id, session in engine._storage.list("hsm.session")
    )


def create_user(
    engine: HsmState,
    session_id: str,
    username: str,
    password: str,
    role: Role,
    *,
    approval: str | None = None,
) -> None:
    """CloudHSM CLI ``user create`` (admin; quorum-guarded when the ``user`` quorum > 1)."""
    name = (username or "").lower()
    with engine._audited("UserCreate", "anonymous", name) as audit:
        ctx = sessions.load_session(engine, session_id)
        audit.principal = ctx.username or "anonymous"
        sessions.require_admin(engine, ctx, "create users")
        _consume_quorum(engine, ctx, "user", approval)
        if not USERNAME.fullmatch(name):
            raise Pkcs11Error(
                "CKR_ARGUMENTS_BAD", "usernames are 1 to 31 letters, digits or underscores"
            )
        if role not in ("admin", "crypto-user"):
            raise Pkcs11Error("CKR_ARGUMENTS_BAD", "role must be admin or crypto-user")
        cluster_id = ctx.cluster["ClusterId"]
        if engine._storage.get("hsm.user", engine._user_id(cluster_id, name)) is not None:
            raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"user {name} already exists")
        engine._storage.put(
            "hsm.user",
            engine._user_id(cluster_id, name),
            {
                "cluster_id": cluster_id,
                "username": name,
                "role": role,
                "password": passwords.password_record(engine._random, password),
                "failed_logins": 0,
                "locked": False,
            },
        )
        audit.detail = {"role": role}


def delete_user(
    engine: HsmState, session_id: str, username: str, role: Role, *, approval: str | None = None
) -> None:
    """CloudHSM CLI ``user delete`` (admin). A user who is logged in or owns keys stays."""
    name = (username or "").lower()
    with engine._audited("UserDelete", "anonymous", name) as audit:
        ctx = sessions.load_session(engine, session_id)
        audit.principal = ctx.username or "anonymous"
        me = sessions.require_admin(engine, ctx, "delete users")
        _consume_quorum(engine, ctx, "user", approval)
        cluster_id = ctx.cluster["ClusterId"]
        user = engine._storage.get("hsm.user", engine._user_id(cluster_id, name))
        if user is None or user["role"] != role:
            raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"no {role} named {name}")
        if name == me or _user_logged_in(engine, cluster_id, name, session_id):
            raise Pkcs11Error(
                "CKR_USER_ANOTHER_ALREADY_LOGGED_IN", f"{name} is logged in; cannot delete"
            )
        keys = engine._keys(cluster_id)
        if any(k["owner"] == name and k["session_id"] is None for k in keys):
            raise Pkcs11Error(
                "CKR_ACTION_PROHIBITED", f"{name} owns keys; delete or hand them over first"
            )
        for key in keys:
            if name in key["shared"]:
                key["shared"].remove(name)
                engine._put_key(key)
        engine._storage.delete("hsm.user", engine._user_id(cluster_id, name))


def change_password(
    engine: HsmState,
    session_id: str,
    username: str,
    new_password: str,
    *,
    approval: str | None = None,
) -> None:
    """CloudHSM CLI ``user change-password``.

    Anyone may change their own password. An admin may set another user's password, which
    also unlocks a locked account; the other user must not be logged in. This needs an
    authenticated admin session: nothing resets a password otherwise.
    """
    name = (username or "").lower()
    with engine._audited("UserChangePassword", "anonymous", name) as audit:
        ctx = sessions.load_session(engine, session_id)
        me = sessions.require_login(ctx)
        audit.principal = me
        cluster_id = ctx.cluster["ClusterId"]
        user = engine._storage.get("hsm.user", engine._user_id(cluster_id, name))
        if name != me:
            sessions.require_admin(engine, ctx, "change another user's password")
            _consume_quorum(engine, ctx, "user", approval)
        if user is None or user["role"] not in ("admin", "crypto-user"):
            raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"no user named {name}")
        if name != me and _user_logged_in(engine, cluster_id, name, session_id):
            raise Pkcs11Error(
                "CKR_USER_ANOTHER_ALREADY_LOGGED_IN",
                f"{name} is logged in; their password cannot be changed now",
            )
        user["password"] = passwords.password_record(engine._random, new_password)
        audit.detail = {"unlocked": bool(user["locked"])}
        user["failed_logins"] = 0
        user["locked"] = False
        engine._storage.put("hsm.user", engine._user_id(cluster_id, name), user)


def get_quorum_values(engine: HsmState, cluster_id: str) -> dict[str, int]:
    """The quorum value (M) per admin service: ``user`` and ``quorum``. 1 means off."""
    with engine._audited("QuorumGetValues", "anonymous", cluster_id):
        cluster = sessions.reachable_cluster(engine, cluster_id)
        return dict(cluster["_"]["quorum"])


def set_quorum_value(
    engine: HsmState, session_id: str, service: str, value: int, *, approval: str | None = None
) -> None:
    """CloudHSM CLI ``quorum token-sign set-quorum-value`` (admin). ``value`` is M; it
    must not exceed the number of admins. Changing it needs the ``quorum`` service's
    approvals when that quorum is above 1."""
    with engine._audited("QuorumSetValue", "anonymous", service) as audit:
        ctx = sessions.load_session(engine, session_id)
        audit.principal = ctx.username or "anonymous"
        sessions.require_admin(engine, ctx, "set quorum values")
        if service not in QUORUM_SERVICES:
            raise Pkcs11Error("CKR_ARGUMENTS_BAD", "service must be user or quorum")
        admins = [u for u in engine._users(ctx.cluster["ClusterId"]) if u["role"] == "admin"]
        if not isinstance(value, int) or not 1 <= value <= min(8, len(admins)):
            raise Pkcs11Error(
                "CKR_ARGUMENTS_BAD",
                f"the quorum value must be 1 to {min(8, len(admins))} (the number of admins)",
            )
        _consume_quorum(engine, ctx, "quorum", approval)
        ctx.cluster["_"]["quorum"][service] = value
        engine._put_cluster(ctx.cluster)
        audit.detail = {"value": value}


def quorum_generate(engine: HsmState, session_id: str, service: str) -> str:
    """CloudHSM CLI ``quorum token-sign generate`` (admin): a token other admins approve.
    One active token per user and service; a new one replaces the old."""
    with engine._audited("QuorumTokenGenerate", "anonymous", service) as audit:
        ctx = sessions.load_session(engine, session_id)
        me = sessions.require_admin(engine, ctx, "generate quorum tokens")
        audit.principal = me
        if service not in QUORUM_SERVICES:
            raise Pkcs11Error("CKR_ARGUMENTS_BAD", "service must be user or quorum")
        cluster_id = ctx.cluster["ClusterId"]
        for token_id, token in engine._storage.list("hsm.quorum"):
            if (token["cluster_id"], token["requester"], token["service"]) == (
                cluster_id,
                me,
                service,
            ):
                engine._storage.delete("hsm.quorum", token_id)
        token_id = "qt-" + engine._random.token_bytes(8).hex()
        engine._storage.put(
            "hsm.quorum",
            token_id,
            {
                "cluster_id": cluster_id,
                "service": service,
                "requester": me,
                "approvals": [],
                "expires": engine._now() + QUORUM_TOKEN_TTL.total_seconds(),
            },
        )
        audit.target = token_id
        return token_id


def quorum_approve(engine: HsmState, session_id: str, token_id: str) -> int:
    """An admin approves (signs) a quorum token; returns how many admins have approved.

    This stands in for signing the token file with the admin's registered private key.
    The requester may approve too: M counts distinct admins.
    """
    with engine._audited("QuorumTokenApprove", "anonymous", token_id) as audit:
        ctx = sessions.load_session(engine, session_id)
        me = sessions.require_admin(engine, ctx, "approve quorum tokens")
        audit.principal = me
        token = engine._storage.get("hsm.quorum", token_id)
        if token is None or token["cluster_id"] != ctx.cluster["ClusterId"]:
            raise QuorumError("no such quorum token")
        if token["expires"] <= engine._now():
            raise QuorumError("the quorum token has expired")
        if me not in token["approvals"]:
            token["approvals"].append(me)
            engine._storage.put("hsm.quorum", token_id, token)
        return len(token["approvals"])


def quorum_tokens(engine: HsmState, session_id: str) -> list[JSON]:
    """CloudHSM CLI ``quorum token-sign list``: the cluster's live tokens."""
    with sessions.key_call(engine, "QuorumTokenList", session_id) as (ctx, _audit):
        sessions.require_login(ctx)
        return _live_tokens(engine, ctx)


def _live_tokens(engine: HsmState, ctx: Context) -> list[JSON]:
    now = engine._now()
    return [
        {
            "token": token_id,
            "service": token["service"],
            "username": token["requester"],
            "approvals": len(token["approvals"]),
            "minimum-required": ctx.cluster["_"]["quorum"][token["service"]],
        }
        for token_id, token in engine._storage.list("hsm.quorum")
        if token["cluster_id"] == ctx.cluster["ClusterId"] and token["expires"] > now
    ]


def _consume_quorum(engine: HsmState, ctx: Context, service: str, approval: str | None) -> None:
    required = int(ctx.cluster["_"]["quorum"].get(service, 1))
    if required <= 1:
        return
    if not approval:
        raise QuorumError(
            f"the {service} service needs {required} admin approvals: run quorum token-sign "
            "generate, have admins approve it, and pass it as the approval"
        )
    token = engine._storage.get("hsm.quorum", approval)
    if (
        token is None
        or token["cluster_id"] != ctx.cluster["ClusterId"]
        or token["requester"] != ctx.username
        or token["service"] != service
    ):
        raise QuorumError("the approval is not your quorum token for this service")
    if token["expires"] <= engine._now():
        raise QuorumError("the quorum token has expired")
    if len(token["approvals"]) < required:
        raise QuorumError(f"the quorum token has {len(token['approvals'])} of {required} approvals")
    engine._storage.delete("hsm.quorum", approval)
