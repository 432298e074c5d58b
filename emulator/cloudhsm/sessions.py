"""PKCS#11-style sessions and login: opening a session on an ACTIVE HSM, logging in with
lockout, logging out, and the audited ``key_call`` every data-plane operation runs in.
"""

from __future__ import annotations

from types import TracebackType

from emulator.core import iso_time

from . import lifecycle, passwords
from .errors import (
    CloudHsmResourceNotFoundException,
    HsmAvailabilityError,
    HsmError,
    Pkcs11Error,
    RoleError,
)
from .state import (
    JSON,
    MAX_FAILED_LOGINS,
    SESSION_TTL,
    Audit,
    Audited,
    Context,
    HsmState,
    Role,
    key_reference,
)


class _KeyCall:
    """``with``: a data-plane call on a session: loads it (audited from the start, as by
    ``Audited``) and yields ``(context, audit)``; the audit principal is the session's user.
    """

    __slots__ = ("_audited", "_handle", "_hsm", "_session_id")

    def __init__(self, hsm: HsmState, operation: str, session_id: str, handle: object) -> None:
        self._audited = Audited(hsm._audit, operation, "anonymous", None)
        self._hsm = hsm
        self._session_id = session_id
        self._handle = handle

    def __enter__(self) -> tuple[Context, Audit]:
        audit = self._audited.audit
        try:
            ctx = load_session(self._hsm, self._session_id, audit)
            audit.principal = ctx.username or "anonymous"
            handle = self._handle
            audit.target = (
                key_target(ctx, handle) if handle is not None else ctx.cluster["ClusterId"]
            )
        except BaseException as exc:
            self._audited.__exit__(type(exc), exc, exc.__traceback__)  # records an HsmError
            raise
        return ctx, audit

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._audited.__exit__(exc_type, exc, traceback)


def active_hsms(cluster: JSON) -> list[str]:
    return sorted(h for h, s in cluster["_"]["hsms"].items() if s["state"] == "ACTIVE")


def reachable_cluster(engine: HsmState, cluster_id: str) -> JSON:
    try:
        cluster = lifecycle.advance(engine, engine._cluster_record(cluster_id))
    except CloudHsmResourceNotFoundException:
        raise Pkcs11Error("CKR_TOKEN_NOT_PRESENT", f"no cluster {cluster_id}") from None
    if cluster["State"] not in ("INITIALIZED", "ACTIVE", "DEGRADED"):
        raise HsmAvailabilityError(
            "CKR_TOKEN_NOT_PRESENT",
            f"the cluster is {cluster['State']}; clients connect to initialized clusters",
        )
    if not active_hsms(cluster):
        raise HsmAvailabilityError("CKR_TOKEN_NOT_PRESENT", "the cluster has no ACTIVE HSM")
    return cluster


def open_session(engine: HsmState, cluster_id: str, *, read_write: bool = True) -> str:
    """C_OpenSession: a new unauthenticated session on one ACTIVE HSM; returns its id."""
    with engine._audited("OpenSession", "anonymous", cluster_id) as audit:
        cluster = reachable_cluster(engine, cluster_id)
        hsms = active_hsms(cluster)
        session_id = "sess-" + engine._random.token_bytes(16).hex()
        now = engine._now()
        engine._storage.put(
            "hsm.session",
            session_id,
            {
                "cluster_id": cluster_id,
                "hsm_id": hsms[engine._random.token_bytes(1)[0] % len(hsms)],
                "read_write": read_write,
                "username": None,
                "role": None,
                "opened": now,
                "expires": now + SESSION_TTL.total_seconds(),
            },
        )
        audit.detail = {"read_write": read_write}
        return session_id


def load_session(engine: HsmState, session_id: str, audit: Audit | None = None) -> Context:
    """The session and its advanced cluster. One clock reading serves the expiry check,
    the due work and (given ``audit``) the audit record's time."""
    when = engine._clock.now()
    now = when.timestamp()
    if audit is not None:
        audit.time = iso_time(when)
    session = engine._storage.get("hsm.session", session_id)
    if session is None:
        raise Pkcs11Error("CKR_SESSION_HANDLE_INVALID", "no such session")
    if session["expires"] <= now:
        _end_session(engine, session_id, session)
        raise Pkcs11Error("CKR_SESSION_HANDLE_INVALID", "the session has expired")
    cluster = engine._storage.get("hsm.cluster", session["cluster_id"])
    if cluster is None or cluster["State"] in ("DELETE_IN_PROGRESS", "DELETED"):
        raise Pkcs11Error("CKR_SESSION_HANDLE_INVALID", "the cluster is gone")
    cluster = lifecycle.advance(engine, cluster, now)
    return Context(session_id, session, cluster)


def _end_session(engine: HsmState, session_id: str, session: JSON) -> None:
    _drop_session_keys(engine, session["cluster_id"], session_id)
    engine._storage.delete("hsm.session", session_id)


def _drop_session_keys(engine: HsmState, cluster_id: str, session_id: str) -> None:
    for key in engine._keys(cluster_id):
        if key["session_id"] == session_id:
            engine._delete_key(key)


def login(
    engine: HsmState,
    cluster_id: str,
    username: str,
    password: str,
    role: Role = "crypto-user",
    *,
    read_write: bool = True,
) -> str:
    """Open a session and log in (CloudHSM CLI ``login``); returns the session id.

    The session is closed again if the login fails.
    """
    session_id = open_session(engine, cluster_id, read_write=read_write)
    try:
        session_login(engine, session_id, username, password, role)
    except HsmError:
        close_session(engine, session_id)
        raise
    return session_id


def session_login(
    engine: HsmState, session_id: str, username: str, password: str, role: Role
) -> None:
    """C_Login on an open session.

    Five wrong passwords in a row lock the account: attempts one to five answer
    CKR_PIN_INCORRECT, and from then on every attempt, even with the right password,
    answers CKR_PIN_LOCKED until an admin resets the password. A successful login resets the
    count. (A real multi-HSM cluster may allow a few more tries because the client spreads
    logins over HSMs; this emulator counts cluster-wide.)
    """
    name = (username or "").lower()
    with engine._audited("Login", name or "anonymous") as audit:
        ctx = load_session(engine, session_id)
        audit.target = ctx.cluster["ClusterId"]
        if ctx.username is not None:
            raise Pkcs11Error("CKR_USER_ALREADY_LOGGED_IN", "this session is logged in")
        if role not in ("admin", "crypto-user"):
            raise Pkcs11Error("CKR_USER_TYPE_INVALID", "role must be admin or crypto-user")
        if not ctx.cluster["_"]["activated"]:
            raise Pkcs11Error(
                "CKR_USER_PIN_NOT_INITIALIZED",
                "the cluster is not activated: run cluster activate first",
            )
        user = engine._storage.get("hsm.user", engine._user_id(ctx.cluster["ClusterId"], name))
        if user is None:
            raise Pkcs11Error("CKR_PIN_INCORRECT", "login failed")
        if user["role"] != role:
            raise Pkcs11Error("CKR_USER_TYPE_INVALID", f"{name} is not a {role}")
        if user["locked"]:
            raise Pkcs11Error("CKR_PIN_LOCKED", f"{name} is locked; an admin must reset it")
        if not passwords.password_matches(user, password):
            user["failed_logins"] += 1
            user["locked"] = user["failed_logins"] >= MAX_FAILED_LOGINS
            engine._storage.put("hsm.user", engine._user_id(user["cluster_id"], name), user)
            audit.detail = {"failed_logins": user["failed_logins"]}
            raise Pkcs11Error("CKR_PIN_INCORRECT", "login failed")
        if user["failed_logins"]:
            user["failed_logins"] = 0
            engine._storage.put("hsm.user", engine._user_id(user["cluster_id"], name), user)
        ctx.session.update(username=name, role=role)
        ctx.session["expires"] = engine._now() + SESSION_TTL.total_seconds()
        engine._storage.put("hsm.session", session_id, ctx.session)


def join_login(engine: HsmState, session_id: str, logged_in_session_id: str) -> None:
    """C_OpenSession in an application that is already logged in: PKCS#11 login belongs to
    the application, so the new session gets the user of another of its sessions (same
    cluster, still open and logged in) without a second password check."""
    with engine._audited("Login", "anonymous") as audit:
        ctx = load_session(engine, session_id)
        audit.target = ctx.cluster["ClusterId"]
        if ctx.username is not None:
            raise Pkcs11Error("CKR_USER_ALREADY_LOGGED_IN", "this session is logged in")
        source = load_session(engine, logged_in_session_id)
        if source.username is None or source.cluster["ClusterId"] != ctx.cluster["ClusterId"]:
            raise Pkcs11Error("CKR_USER_NOT_LOGGED_IN", "the application is not logged in")
        audit.principal = source.username
        audit.detail = {"joined": True}
        ctx.session.update(username=source.username, role=source.role)
        engine._storage.put("hsm.session", session_id, ctx.session)


def client_cluster_info(engine: HsmState, cluster_id: str) -> JSON:
    """What the CloudHSM client reports as its token (C_GetTokenInfo): the cluster's state
    and ACTIVE HSMs, or CKR_TOKEN_NOT_PRESENT. Reads only; not audited, as the client's own
    connection checks are not CloudTrail events."""
    cluster = reachable_cluster(engine, cluster_id)
    return {
        "cluster_id": cluster_id,
        "state": cluster["State"],
        "active_hsms": len(active_hsms(cluster)),
        "hsm_type": cluster.get("HsmType", "hsm1.medium"),
        "activated": bool(cluster["_"]["activated"]),
    }


def logout(engine: HsmState, session_id: str) -> None:
    """C_Logout: the session stays open but unauthenticated; its session keys are gone and
    private handles become CKR_OBJECT_HANDLE_INVALID."""
    with engine._audited("Logout", "anonymous") as audit:
        ctx = load_session(engine, session_id)
        audit.principal = ctx.username or "anonymous"
        audit.target = ctx.cluster["ClusterId"]
        if ctx.username is None:
            raise Pkcs11Error("CKR_USER_NOT_LOGGED_IN", "the session is not logged in")
        _drop_session_keys(engine, ctx.cluster["ClusterId"], session_id)
        ctx.session.update(username=None, role=None)
        engine._storage.put("hsm.session", session_id, ctx.session)


def close_session(engine: HsmState, session_id: str) -> None:
    """C_CloseSession: ends the session and destroys its session keys."""
    with engine._audited("CloseSession", "anonymous") as audit:
        session = engine._storage.get("hsm.session", session_id)
        if session is None:
            raise Pkcs11Error("CKR_SESSION_HANDLE_INVALID", "no such session")
        audit.principal = session.get("username") or "anonymous"
        audit.target = session["cluster_id"]
        _end_session(engine, session_id, session)


def session_info(engine: HsmState, session_id: str) -> JSON:
    """The session's cluster, HSM, user, role and read/write flag."""
    with key_call(engine, "SessionInfo", session_id) as (ctx, _audit):
        return {
            "cluster_id": ctx.cluster["ClusterId"],
            "hsm_id": ctx.session["hsm_id"],
            "username": ctx.username,
            "role": ctx.role,
            "read_write": ctx.session["read_write"],
        }


def require_login(ctx: Context) -> str:
    if ctx.username is None:
        raise Pkcs11Error("CKR_USER_NOT_LOGGED_IN", "log in first")
    return ctx.username


def require_admin(engine: HsmState, ctx: Context, what: str) -> str:
    username = require_login(ctx)
    if ctx.role != "admin":
        raise RoleError(f"only an admin can {what}; you are logged in as a {ctx.role}")
    return username


def require_crypto_user(engine: HsmState, ctx: Context) -> str:
    username = require_login(ctx)
    if ctx.role != "crypto-user":
        raise RoleError(
            "admins manage users and quorum; only crypto users manage keys and run "
            "cryptographic operations"
        )
    return username


def key_target(ctx: Context, handle: object) -> str:
    name = key_reference(handle) if isinstance(handle, int) else str(handle)
    return f"{ctx.cluster['ClusterId']}/{name}"


def key_call(engine: HsmState, operation: str, session_id: str, handle: object = None) -> _KeyCall:
    """``with key_call(engine, ...) as (ctx, audit)``: load the session, audited."""
    return _KeyCall(engine, operation, session_id, handle)
