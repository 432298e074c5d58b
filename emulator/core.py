"""Host-supplied services the engine runs on: clock, randomness, storage, sealing, audit.

The engine never reads the wall clock, ``os.urandom`` or a database directly; the host passes
these in, so tests can freeze time and labs can fast-forward it, and the sandbox app can keep
state in its database.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import datetime as dt
import marshal
import os
import random
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "AuditLog",
    "Clock",
    "ManualClock",
    "MemoryStorage",
    "OffsetClock",
    "RandomSource",
    "Sealer",
    "SealingError",
    "SeededRandom",
    "Storage",
    "SystemClock",
    "SystemRandom",
    "b64d",
    "b64e",
    "iso_time",
    "json_copy",
]

JSON = dict[str, Any]


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(text: str) -> bytes:
    # base64.b64decode(..., validate=True) without its Python-level wrapper.
    return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)


# --- time -----------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class OffsetClock:
    """Wall clock plus a fixed offset: how a sandbox account 'fast-forwards' its own time."""

    def __init__(self, offset: dt.timedelta) -> None:
        self.offset = offset

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


class ManualClock:
    """A clock that moves only when told to (tests, simulations)."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta) -> None:
        self._now += delta

    def set(self, when: dt.datetime) -> None:
        self._now = when


# --- randomness -----------------------------------------------------------------------------


class RandomSource(Protocol):
    def token_bytes(self, n: int) -> bytes:
        """``n`` random bytes."""
        ...


class SystemRandom:
    def token_bytes(self, n: int) -> bytes:
        return os.urandom(n)


class SeededRandom:
    """Deterministic bytes for tests. Never use for real keys."""

    def __init__(self, seed: int = 0) -> None:
        self._random = random.Random(seed)

    def token_bytes(self, n: int) -> bytes:
        return self._random.randbytes(n)


# --- storage --------------------------------------------------------------------------------


class Storage(Protocol):
    """Where engine objects live: JSON-able dicts addressed by (kind, object_id).

    ``kind`` is a short namespace such as ``"kms.key"`` or ``"hsm.cluster"``. Records are
    returned as copies: mutating a returned dict never changes stored state until ``put``.
    The host decides transactions (the sandbox wraps each request in one, with a row lock).
    """

    def get(self, kind: str, object_id: str) -> JSON | None: ...

    def put(self, kind: str, object_id: str, data: JSON) -> None: ...

    def delete(self, kind: str, object_id: str) -> None: ...

    def list(self, kind: str) -> builtins.list[tuple[str, JSON]]:
        """All records of a kind, sorted by object id."""
        ...

    def append_event(self, log: str, event: JSON) -> None:
        """Append to an append-only log (``"kms"`` CloudTrail-like, ``"hsm"`` audit)."""
        ...

    def events(self, log: str) -> builtins.list[JSON]:
        """Events of a log, oldest first."""
        ...


def json_copy(value: Any) -> Any:
    """Copy JSON-shaped data: dicts and lists (exactly those types) are copied recursively,
    everything else (str, numbers, bytes, None, tuples...) is immutable or shared as is."""
    kind = type(value)
    if kind is dict:
        return _copy_dict(value)
    if kind is list:
        return _copy_list(value)
    return value


def _copy_dict(source: JSON) -> JSON:
    # A C-level shallow copy, then only the nested containers are replaced: records are
    # mostly scalars, so this avoids a Python call per value.
    copied = source.copy()
    for key, item in source.items():
        kind = type(item)
        if kind is dict:
            copied[key] = _copy_dict(item)
        elif kind is list:
            copied[key] = _copy_list(item)
    return copied


def _copy_list(source: list[Any]) -> list[Any]:
    copied = source.copy()
    for index, item in enumerate(source):
        kind = type(item)
        if kind is dict:
            copied[index] = _copy_dict(item)
        elif kind is list:
            copied[index] = _copy_list(item)
    return copied


# Where a stored container holds further containers: (member, its plan) pairs, a plan of
# None for a member with none inside (a C-level .copy() copies it completely).
_Plan = tuple[tuple[Any, "_Plan | None"], ...]


def _planned_copy(source: Any) -> tuple[Any, _Plan]:
    """``json_copy`` of a dict or list, and the plan that copies the copy again."""
    copied = source.copy()
    plan = []
    for member, item in source.items() if type(source) is dict else enumerate(source):
        kind = type(item)
        if kind is dict or kind is list:
            copied[member], inner = _planned_copy(item)
            plan.append((member, inner or None))
    return copied, tuple(plan)


def _copy_by_plan(source: Any, plan: _Plan) -> Any:
    copied = source.copy()
    for member, inner in plan:
        item = source[member]
        copied[member] = item.copy() if inner is None else _copy_by_plan(item, inner)
    return copied


class MemoryStorage:
    """The in-memory ``Storage``: a dict of dicts.

    A record is stored with its copy plan (where its nested dicts and lists are), made when it
    is put: ``get`` then copies it with one C-level ``.copy()`` per container instead of
    looking at every value on every read. Stored records are never handed out, so the plan
    stays true until the next ``put``.

    Events are kept as marshal snapshots (bytes-like values come back as ``bytes``), or as
    they are when ``AuditLog`` vouches that nothing else references them; ``events`` always
    returns copies.
    """

    def __init__(self) -> None:
        # kind -> object id -> (private copy of the record, its copy plan; None when the
        # record is not a dict).
        self._objects: dict[str, dict[str, tuple[Any, _Plan | None]]] = {}
        self._events: dict[str, list[bytes | JSON]] = {}

    @staticmethod
    def _copy_out(stored: tuple[Any, _Plan | None]) -> Any:
        record, plan = stored
        return json_copy(record) if plan is None else _copy_by_plan(record, plan)

    def get(self, kind: str, object_id: str) -> JSON | None:
        objects = self._objects.get(kind)
        stored = objects.get(object_id) if objects is not None else None
        if stored is None:
            return None
        record, plan = stored
        if plan is None:
            copied: JSON | None = json_copy(record)
            return copied
        copied = record.copy()  # _copy_by_plan, its first level inlined: the hot path
        for member, inner in plan:
            item = record[member]
            copied[member] = item.copy() if inner is None else _copy_by_plan(item, inner)
        return copied

    def put(self, kind: str, object_id: str, data: JSON) -> None:
        stored = _planned_copy(data) if type(data) is dict else (json_copy(data), None)
        self._objects.setdefault(kind, {})[object_id] = stored

    def delete(self, kind: str, object_id: str) -> None:
        self._objects.get(kind, {}).pop(object_id, None)

    def list(self, kind: str) -> builtins.list[tuple[str, JSON]]:
        items = self._objects.get(kind, {})
        return [(key, self._copy_out(items[key])) for key in sorted(items)]

    def append_event(self, log: str, event: JSON) -> None:
        # Events are written on every call and read rarely: keep a marshal snapshot (one C
        # call, cheaper than copying the nested dicts), unmarshalled into fresh dicts when
        # read. Values marshal cannot take are kept as a json_copy instead.
        try:
            snapshot: bytes | JSON = marshal.dumps(event)
        except ValueError:
            snapshot = json_copy(event)
        self._events.setdefault(log, []).append(snapshot)

    def _event_list(self, log: str) -> builtins.list[bytes | JSON]:
        """The stored events of ``log``; ``AuditLog`` appends fresh events (ones nothing else
        references, see ``AuditLog.record``) to it as they are. Copied when read."""
        return self._events.setdefault(log, [])

    def events(self, log: str) -> builtins.list[JSON]:
        # marshal.loads only ever sees the snapshots append_event made in this process.
        return [
            marshal.loads(event) if type(event) is bytes else json_copy(event)  # noqa: S302
            for event in self._events.get(log, [])
        ]

    def __iter__(self) -> Iterator[str]:
        return iter(self._objects)


# --- sealing key material at rest -----------------------------------------------------------


class SealingError(Exception):
    """A sealed blob could not be opened (wrong master key, wrong identity or tampering)."""

    def __repr__(self) -> str:
        return "SealingError()"


class Sealer:
    """AES-256-GCM under a host-supplied master key, with the object's identity as AAD.

    A blob sealed for one object cannot be opened as another's, so swapping records in the
    database fails loudly instead of silently using the wrong key.
    """

    VERSION = b"\x01"

    def __init__(self, master_key: bytes, random_source: RandomSource | None = None) -> None:
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes")
        self._aead = AESGCM(master_key)
        self._random = random_source or SystemRandom()

    def __repr__(self) -> str:
        return "Sealer(<master key hidden>)"

    def seal(self, material: bytes, identity: str) -> str:
        nonce = self._random.token_bytes(12)
        sealed = self._aead.encrypt(nonce, material, self.VERSION + identity.encode())
        return b64e(self.VERSION + nonce + sealed)

    def unseal(self, blob: str, identity: str) -> bytes:
        try:
            raw = b64d(blob)
            if raw[:1] != self.VERSION:
                raise SealingError()
            return self._aead.decrypt(raw[1:13], raw[13:], self.VERSION + identity.encode())
        except SealingError:
            raise
        except Exception:
            raise SealingError() from None


# --- audit ----------------------------------------------------------------------------------


_ISO_SECONDS: dict[dt.datetime, str] = {}
_UTC = dt.UTC
_DATETIME = dt.datetime
_THREE_DIGITS = tuple(f"{number:03d}" for number in range(1000))


def iso_time(when: dt.datetime) -> str:
    """``when.isoformat()``, faster for the UTC datetimes the clocks here return.

    ``datetime.isoformat`` is slow; for UTC datetimes the text up to the second is memoised
    by the whole second (a pure function of it, bounded) and the microseconds appended.
    """
    if when.tzinfo is _UTC and type(when) is _DATETIME:
        # Keyed by the naive UTC second: hashing an aware datetime is itself slow.
        second = when.replace(microsecond=0, tzinfo=None)
        prefix = _ISO_SECONDS.get(second)
        if prefix is None:
            if len(_ISO_SECONDS) >= 64:
                _ISO_SECONDS.clear()
            prefix = _ISO_SECONDS[second] = second.isoformat()
        micro = when.microsecond
        if not micro:
            return prefix + "+00:00"
        digits = _THREE_DIGITS
        return f"{prefix}.{digits[micro // 1000]}{digits[micro % 1000]}+00:00"
    return when.isoformat()


class AuditLog:
    """Append-only record of every operation, kept in ``Storage``.

    Never put key material or plaintext in ``detail``.
    """

    def __init__(self, storage: Storage, log: str, clock: Clock) -> None:
        self._storage = storage
        self._log = log
        self._clock = clock
        self.source: str | None = None  # the calling client, as CloudTrail's userAgent
        # The AWS service that made the call on the principal's behalf (CloudTrail's
        # userIdentity.invokedBy), e.g. "s3.amazonaws.com" for SSE-KMS.
        self.invoked_by: str | None = None
        # Where fresh events go without a copy: only a MemoryStorage (not a subclass).
        self._adopt = storage._event_list(log).append if type(storage) is MemoryStorage else None

    def record(
        self,
        *,
        principal: str,
        operation: str,
        target: str | None,
        result: str,
        detail: JSON | None = None,
        time: str | None = None,
        fresh: bool = False,
    ) -> None:
        """Append one event.

        ``time`` is the ISO 8601 time of the call when the caller has already read the
        clock for it (``iso_time(clock.now())``); by default the clock is read. ``fresh``
        says the caller built ``detail`` for this event alone, of plain dicts and lists and
        immutable values that nothing else references or will change: the event is then
        wholly new, and ``MemoryStorage`` keeps it without a defensive copy.
        """
        event = {
            "time": iso_time(self._clock.now()) if time is None else time,
            "principal": principal,
            "operation": operation,
            "target": target,
            "result": result,
            "detail": detail or {},
        }
        if self.source is not None:
            event["source"] = self.source
        if self.invoked_by is not None:
            event["invokedBy"] = self.invoked_by
        if fresh and self._adopt is not None:
            self._adopt(event)
        else:
            self._storage.append_event(self._log, event)

    def events(self) -> list[JSON]:
        return self._storage.events(self._log)


# --- what both engines share ---------------------------------------------------------------


class EngineError(Exception):
    """Base of every error an engine raises on purpose (:class:`~emulator.kms.KmsError`,
    :class:`~emulator.cloudhsm.HsmError`): ``code`` names it as AWS or PKCS#11 does,
    ``message`` says why and never holds key material, ``status`` is the HTTP status an API
    answers with."""

    code: str = "EngineError"
    message: str = ""
    status: int = 400


_ACCOUNT_ID = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")


@dataclass(frozen=True)
class Host:
    """What an engine runs on, given by whoever embeds it: where state lives, what time it
    is, where randomness comes from and what seals key material at rest."""

    storage: Storage
    clock: Clock
    random: RandomSource
    sealer: Sealer


class ServiceState:
    """A service of one account and Region over the host's storage, clock, randomness and
    sealer. It keeps nothing else between calls, so a fresh one per request behaves like a
    long-lived one."""

    def __init__(self, host: Host, account_id: str, region: str) -> None:
        if not _ACCOUNT_ID.fullmatch(account_id):
            raise ValueError("account_id must be 12 digits")
        if not _REGION.fullmatch(region):
            raise ValueError("region must look like us-east-1")
        self.host = host
        self._storage = host.storage
        self._clock = host.clock
        self._random = host.random
        self._sealer = host.sealer
        self.account_id = account_id
        self.region = region

    def __repr__(self) -> str:
        return f"{type(self).__name__}(account_id={self.account_id!r}, region={self.region!r})"

    def _now(self) -> float:
        return self._clock.now().timestamp()


class EngineState(ServiceState):
    """A service with its own audit log (``log``: ``"kms"`` or ``"hsm"``): KMS and CloudHSM."""

    def __init__(self, host: Host, account_id: str, region: str, log: str) -> None:
        super().__init__(host, account_id, region)
        self._audit = AuditLog(host.storage, log, host.clock)


# --- listing: filters and pages ------------------------------------------------------------


def matches_filters(
    record: Mapping[str, Any], filters: Mapping[str, Any], fields: Mapping[str, str]
) -> bool:
    """True when, for every filter given (``fields``: filter name -> record field), the
    record's field is one of the filter's values: how Describe* filters work."""
    return all(record[field] in filters[name] for name, field in fields.items() if name in filters)


class PageTokenError(ValueError):
    """A page token (Marker, NextToken) the listing did not hand out."""


def page_of[T](
    items: list[T],
    sort_key: Callable[[T], str],
    limit: int | None,
    token: str | None,
    *,
    prefix: str = "page:",
) -> tuple[list[T], str | None]:
    """One page of ``items`` sorted by ``sort_key`` (unique per item) and the opaque token of
    the next page, None on the last. ``limit`` None: everything after ``token``."""
    ordered = sorted(items, key=sort_key)
    if token is not None:
        try:
            after = base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
        except (binascii.Error, UnicodeError, ValueError):
            after = ""
        if not after.startswith(prefix):
            raise PageTokenError(token)
        after = after[len(prefix) :]
        ordered = [item for item in ordered if sort_key(item) > after]
    if limit is None or len(ordered) <= limit:
        return ordered if limit is None else ordered[:limit], None
    page = ordered[:limit]
    last = prefix + sort_key(page[-1])
    return page, base64.urlsafe_b64encode(last.encode("utf-8")).decode("ascii")
