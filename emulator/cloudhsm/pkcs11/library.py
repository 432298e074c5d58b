"""The CloudHSM PKCS #11 library's own state, as it lives in the application's process: one
slot (the cluster), the application's sessions, its login, and the operation each session
has in progress. Everything the HSMs keep (users, keys, engine sessions, audit) is reached
through an :class:`~.wire.HsmLink`, one call per HSM round trip.

PKCS #11 login belongs to the application: C_Login on one session logs in all of them, and
a session opened later joins the login (``join_login``); C_Logout, or closing the last
session, ends it. Handles of sessions are small numbers of this library; object handles
are the HSM's key references.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from ..errors import HsmError, Pkcs11Error
from . import constants as c
from . import templates
from .templates import Template
from .wire import HsmLink

SLOT_ID = 0
MAX_SESSIONS = 1024


@dataclasses.dataclass
class Operation:
    """An operation begun by C_*Init: the engine call it will make, and what has arrived."""

    kind: str  # encrypt, decrypt, sign, verify, digest
    mechanism: str
    handle: int | None
    options: dict[str, Any]
    data: bytearray = dataclasses.field(default_factory=bytearray)
    result: bytes | None = None  # computed by a size query, handed out by the next call


@dataclasses.dataclass
class Session:
    engine_id: str
    read_write: bool
    operation: Operation | None = None
    found: list[int] | None = None  # C_FindObjectsInit's results still to hand out
    pending_wrap: tuple[tuple[Any, ...], bytes] | None = None


class Pkcs11Library:
    """What a C_* call does in the client library; raises ``Pkcs11Error`` with the CKR."""

    def __init__(self, link: HsmLink, cluster_id: str) -> None:
        self.link = link
        self.cluster_id = cluster_id
        self.sessions: dict[int, Session] = {}
        self.username: str | None = None  # the application's login
        self._next_handle = 1

    # --- the HSMs ----------------------------------------------------------------------------

    def hsm(self, call: str, /, **arguments: Any) -> Any:
        """One round trip; an engine error outside PKCS #11 (an API-style code) becomes
        CKR_FUNCTION_FAILED so that the application always sees a CK_RV."""
        try:
            return self.link.call(call, **arguments)
        except HsmError as error:
            if error.code not in c.CKR:
                raise Pkcs11Error("CKR_FUNCTION_FAILED", error.message) from None
            raise

    def session(self, handle: int) -> Session:
        try:
            return self.sessions[handle]
        except KeyError:
            raise Pkcs11Error("CKR_SESSION_HANDLE_INVALID", "no such session") from None

    @staticmethod
    def check_slot(slot: int) -> None:
        if slot != SLOT_ID:
            raise Pkcs11Error("CKR_SLOT_ID_INVALID", f"no slot {slot}")

    # --- slot and token ------------------------------------------------------------------------

    def token_info(self, slot: int) -> dict[str, Any]:
        self.check_slot(slot)
        info = self.hsm("cluster_info", cluster_id=self.cluster_id)
        read_write = sum(1 for session in self.sessions.values() if session.read_write)
        return {
            **info,
            "sessions": len(self.sessions),
            "rw_sessions": read_write,
            "utc_time": dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S00"),
        }

    # --- sessions and login --------------------------------------------------------------------

    def open_session(self, slot: int, flags: int) -> int:
        self.check_slot(slot)
        if not flags & c.CKF_SERIAL_SESSION:
            raise Pkcs11Error(
                "CKR_SESSION_PARALLEL_NOT_SUPPORTED", "CKF_SERIAL_SESSION is required"
            )
        if len(self.sessions) >= MAX_SESSIONS:
            raise Pkcs11Error("CKR_SESSION_COUNT", "too many sessions")
        read_write = bool(flags & c.CKF_RW_SESSION)
        engine_id = self.hsm("open_session", cluster_id=self.cluster_id, read_write=read_write)
        if self.username is not None:
            logged_in = next(iter(self.sessions.values())).engine_id
            try:
                self.hsm("join_login", session_id=engine_id, logged_in_session_id=logged_in)
            except HsmError:
                self.hsm("close_session", session_id=engine_id)
                raise
        handle = self._next_handle
        self._next_handle += 1
        self.sessions[handle] = Session(engine_id, read_write)
        return handle

    def close_session(self, handle: int) -> None:
        session = self.session(handle)
        del self.sessions[handle]
        if not self.sessions:
            self.username = None
        try:
            self.hsm("close_session", session_id=session.engine_id)
        except Pkcs11Error as error:
            if error.code != "CKR_SESSION_HANDLE_INVALID":  # already expired on the HSM
                raise

    def close_all_sessions(self, slot: int) -> None:
        self.check_slot(slot)
        for handle in list(self.sessions):
            self.close_session(handle)

    def session_info(self, handle: int) -> tuple[int, int, int]:
        """(slot, state, flags) of a session."""
        session = self.session(handle)
        user = self.username is not None
        if session.read_write:
            state = c.CKS_RW_USER_FUNCTIONS if user else c.CKS_RW_PUBLIC_SESSION
        else:
            state = c.CKS_RO_USER_FUNCTIONS if user else c.CKS_RO_PUBLIC_SESSION
        flags = c.CKF_SERIAL_SESSION | (c.CKF_RW_SESSION if session.read_write else 0)
        return SLOT_ID, state, flags

    def login(self, handle: int, user_type: int, pin: bytes | None) -> None:
        """C_Login with ``username:password`` as the PIN, as the CloudHSM client takes it.
        Only crypto users (CKU_USER) log in through PKCS #11."""
        session = self.session(handle)
        if user_type != c.CKU_USER:
            raise Pkcs11Error(
                "CKR_USER_TYPE_INVALID", "the CloudHSM PKCS #11 library logs in crypto users only"
            )
        if self.username is not None:
            raise Pkcs11Error("CKR_USER_ALREADY_LOGGED_IN", "the application is logged in")
        username, _, password = (pin or b"").decode(errors="replace").partition(":")
        if not username or not password:
            raise Pkcs11Error("CKR_PIN_INCORRECT", "the PIN is username:password")
        self.hsm(
            "login",
            session_id=session.engine_id,
            username=username,
            password=password,
            role="crypto-user",
        )
        self.username = username.lower()
        for other in self.sessions.values():
            if other is not session:
                self.hsm(
                    "join_login",
                    session_id=other.engine_id,
                    logged_in_session_id=session.engine_id,
                )

    def logout(self, handle: int) -> None:
        self.session(handle)
        if self.username is None:
            raise Pkcs11Error("CKR_USER_NOT_LOGGED_IN", "the application is not logged in")
        self.username = None
        for session in self.sessions.values():
            session.operation = session.found = session.pending_wrap = None
            try:
                self.hsm("logout", session_id=session.engine_id)
            except Pkcs11Error as error:
                if error.code != "CKR_USER_NOT_LOGGED_IN":
                    raise

    def finalize(self) -> None:
        """C_Finalize (or the application going away): close what is still open."""
        for handle in list(self.sessions):
            try:
                self.close_session(handle)
            except HsmError:
                self.sessions.pop(handle, None)

    # --- objects --------------------------------------------------------------------------------

    def generate_key(self, handle: int, mechanism: int, template: Template) -> int:
        session = self.session(handle)
        key_type = c.KEY_GENERATION.get(mechanism)
        if key_type not in ("aes", "generic-secret"):
            raise Pkcs11Error("CKR_MECHANISM_INVALID", "not a secret key generation mechanism")
        templates.expect_class(template, "secret-key")
        templates.expect_key_type(template, key_type)
        length = template.get(c.CKA_VALUE_LEN)
        if length is None:
            raise Pkcs11Error("CKR_TEMPLATE_INCOMPLETE", "CKA_VALUE_LEN is missing")
        label, attributes, token = templates.split_creation(template, frozenset({c.CKA_VALUE_LEN}))
        result: int = self.hsm(
            "generate_symmetric",
            session_id=session.engine_id,
            key_type=key_type,
            length_bytes=int(length),
            label=label,
            attributes=attributes,
            token=token,
        )
        return result

    def generate_key_pair(
        self, handle: int, mechanism: int, public: Template, private: Template
    ) -> tuple[int, int]:
        session = self.session(handle)
        key_type = c.KEY_GENERATION.get(mechanism)
        if key_type not in ("rsa", "ec"):
            raise Pkcs11Error("CKR_MECHANISM_INVALID", "not a key pair generation mechanism")
        for template, key_class in ((public, "public-key"), (private, "private-key")):
            templates.expect_class(template, key_class)
            templates.expect_key_type(template, key_type)
        shape: dict[str, Any] = {}
        if key_type == "rsa":
            bits = public.get(c.CKA_MODULUS_BITS)
            if bits is None:
                raise Pkcs11Error("CKR_TEMPLATE_INCOMPLETE", "CKA_MODULUS_BITS is missing")
            shape["modulus_bits"] = int(bits)
            exponent = public.get(c.CKA_PUBLIC_EXPONENT)
            if isinstance(exponent, bytes) and exponent:
                shape["public_exponent"] = int.from_bytes(exponent, "big")
            used = frozenset({c.CKA_MODULUS_BITS, c.CKA_PUBLIC_EXPONENT})
        else:
            params = public.get(c.CKA_EC_PARAMS)
            if not isinstance(params, bytes):
                raise Pkcs11Error("CKR_TEMPLATE_INCOMPLETE", "CKA_EC_PARAMS is missing")
            if params not in c.CURVE_OIDS:
                raise Pkcs11Error("CKR_CURVE_NOT_SUPPORTED", "unsupported EC parameters")
            shape["curve"] = c.CURVE_OIDS[params]
            used = frozenset({c.CKA_EC_PARAMS})
        public_label, public_attributes, public_token = templates.split_creation(public, used)
        private_label, private_attributes, token = templates.split_creation(private, used)
        # The engine stores a pair as token or session objects together.
        public_attributes["label"], private_attributes["label"] = public_label, private_label
        pair = self.hsm(
            "generate_key_pair",
            session_id=session.engine_id,
            key_type=key_type,
            public_attributes=public_attributes,
            private_attributes=private_attributes,
            token=token or public_token,
            **shape,
        )
        return int(pair[0]), int(pair[1])

    def create_object(self, handle: int, template: Template) -> int:
        session = self.session(handle)
        key_class = c.CKO.get(int(template.get(c.CKA_CLASS, -1)))
        key_type = c.CKK.get(int(template.get(c.CKA_KEY_TYPE, -1)))
        if key_class is None or key_type is None:
            raise Pkcs11Error(
                "CKR_TEMPLATE_INCOMPLETE", "CKA_CLASS and CKA_KEY_TYPE of a key are needed"
            )
        engine_type, material = templates.import_material(template, key_class, key_type)
        label, attributes, token = templates.split_creation(template, templates.CREATE_SKIP)
        result: int = self.hsm(
            "import_key",
            session_id=session.engine_id,
            key_type=engine_type,
            material=material,
            label=label,
            attributes=attributes,
            token=token,
        )
        return result

    def destroy_object(self, handle: int, key: int) -> None:
        self.hsm("destroy_key", session_id=self.session(handle).engine_id, handle=key)

    def describe(self, session: Session, key: int) -> dict[str, Any]:
        described = self.hsm("describe_key", session_id=session.engine_id, handle=key)
        attributes: dict[str, Any] = described["attributes"]
        return attributes

    def get_attribute_values(
        self, handle: int, key: int, wanted: list[Any]
    ) -> tuple[list[tuple[int, Any]], str]:
        """C_GetAttributeValue: each asked type with its value (None: unavailable), and the
        call's CKR (SENSITIVE, TYPE_INVALID and BUFFER_TOO_SMALL still return the list)."""
        session = self.session(handle)
        attributes = self.describe(session, key)
        answers: list[tuple[int, Any]] = []
        outcome = "CKR_OK"
        for request in wanted:
            try:
                value = self._attribute_value(session, key, attributes, request.type)
            except Pkcs11Error as error:
                if error.code not in ("CKR_ATTRIBUTE_SENSITIVE", "CKR_ATTRIBUTE_TYPE_INVALID"):
                    raise
                answers.append((request.type, None))
                outcome = error.code if outcome == "CKR_OK" else outcome
                continue
            if request.size and request.size < _native_length(request.type, value):
                answers.append((request.type, None))
                outcome = "CKR_BUFFER_TOO_SMALL" if outcome == "CKR_OK" else outcome
                continue
            answers.append((request.type, value))
        return answers, outcome

    def _attribute_value(
        self, session: Session, key: int, attributes: dict[str, Any], kind: int
    ) -> Any:
        try:
            return templates.public_value(kind, attributes)
        except KeyError:
            pass
        key_class = attributes["class"]
        secret_value = kind == c.CKA_VALUE and key_class == "secret-key"
        private_part = key_class == "private-key" and (
            kind in templates.PRIVATE_COMPONENTS
            if attributes["key-type"] == "rsa"
            else kind == c.CKA_VALUE
        )
        if not (secret_value or private_part):
            raise Pkcs11Error("CKR_ATTRIBUTE_TYPE_INVALID", f"no attribute 0x{kind:x}")
        if attributes["sensitive"] or not attributes["extractable"]:
            raise Pkcs11Error("CKR_ATTRIBUTE_SENSITIVE", "the key value cannot be revealed")
        value = self.hsm("get_attribute", session_id=session.engine_id, handle=key, name="value")
        return value if secret_value else templates.private_component(kind, value)

    def set_attribute_values(self, handle: int, key: int, template: Template) -> None:
        session = self.session(handle)
        for kind in template:
            if kind not in c.BOOLEAN_ATTRIBUTES and kind not in (c.CKA_LABEL, c.CKA_ID):
                code = "CKR_ATTRIBUTE_READ_ONLY" if kind in _KNOWN else "CKR_ATTRIBUTE_TYPE_INVALID"
                raise Pkcs11Error(code, f"attribute 0x{kind:x} cannot be set")
        for name, value in templates.engine_attributes(template).items():
            self.hsm(
                "set_attribute", session_id=session.engine_id, handle=key, name=name, value=value
            )

    def find_objects_init(self, handle: int, template: Template) -> None:
        session = self.session(handle)
        if session.found is not None:
            raise Pkcs11Error("CKR_OPERATION_ACTIVE", "a search is in progress")
        filters = templates.find_filters(template)
        found: list[int] = []
        if filters is not None:
            found = list(self.hsm("find_keys", session_id=session.engine_id, filters=filters))
        session.found = found

    def find_objects(self, handle: int, most: int) -> list[int]:
        session = self.session(handle)
        if session.found is None:
            raise Pkcs11Error("CKR_OPERATION_NOT_INITIALIZED", "call C_FindObjectsInit first")
        batch, session.found = session.found[:most], session.found[most:]
        return batch

    def find_objects_final(self, handle: int) -> None:
        session = self.session(handle)
        if session.found is None:
            raise Pkcs11Error("CKR_OPERATION_NOT_INITIALIZED", "no search in progress")
        session.found = None

    def generate_random(self, handle: int, length: int) -> bytes:
        session = self.session(handle)
        if length == 0:
            return b""
        result: bytes = self.hsm("generate_random", session_id=session.engine_id, length=length)
        return result


_KNOWN = frozenset(
    {c.CKA_CLASS, c.CKA_KEY_TYPE, c.CKA_VALUE, c.CKA_VALUE_LEN, c.CKA_MODULUS}
    | {c.CKA_MODULUS_BITS, c.CKA_PUBLIC_EXPONENT, c.CKA_EC_PARAMS, c.CKA_EC_POINT}
    | {c.CKA_CHECK_VALUE, c.CKA_KEY_GEN_MECHANISM, *templates.PRIVATE_COMPONENTS}
)


def _native_length(kind: int, value: Any) -> int:
    if kind in c.VALUE_BYTE:
        return 1
    if kind in c.VALUE_ULONG:
        return 8
    return len(value)
