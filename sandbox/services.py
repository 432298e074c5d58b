"""Writes: sandbox accounts, access keys, files, the simulated clock, reset, lab progress.

The engine itself runs through :func:`sandbox_call`, which locks the account row for the
whole call (``select_for_update`` inside ``transaction.atomic``) so two requests of the same
learner, on any app server, run one after the other against a consistent state.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import secrets
import string
import threading
from collections.abc import Callable, Iterator

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.sql import fetch_one, model_field, row_as, select_columns

from .engine import EngineError, SandboxEngine, sandbox_sealer
from .models import (
    ConsoleEntry,
    LabProgress,
    SandboxAccessKey,
    SandboxAccount,
    SandboxEvent,
    SandboxFile,
    SandboxObject,
)
from .storage_orm import OrmStorage

MAX_FILE_BYTES = 1024 * 1024
MAX_ACCESS_KEYS = 4
CONSOLE_HISTORY_KEPT = 200
ANALYST_USER = "analyst"
DEVELOPER_USER = "developer"
ROOT_USER = "root"
ACCESS_KEY_USERS = (ROOT_USER, ANALYST_USER, DEVELOPER_USER)
_AKID_ALPHABET = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


# --- accounts -----------------------------------------------------------------------------------


def _new_account_id() -> str:
    # 12 digits without a leading zero, so it never loses a digit in a spreadsheet.
    return str(secrets.randbelow(9 * 10**11) + 10**11)


@functools.cache
def _account_sql(by: str, *, lock: bool = False) -> str:
    """The whole account row found by its field ``by`` (``FOR UPDATE`` where supported)."""
    table, column = SandboxAccount._meta.db_table, model_field(SandboxAccount, by).column
    sql = f"SELECT {select_columns(SandboxAccount, 'a')} FROM {table} a WHERE a.{column} = %s"  # noqa: S608 - names from _meta
    return sql + (" FOR UPDATE" if lock and connection.features.has_select_for_update else "")


def sandbox_for(user: User) -> SandboxAccount:
    """The learner's sandbox account, created on first use. Every sandbox page and console
    command reads it first, hence one hand-written statement."""
    row = fetch_one(_account_sql("user"), [user.pk])
    if row is not None:
        return row_as(row, SandboxAccount)
    for _ in range(10):
        try:
            with transaction.atomic():
                return SandboxAccount.objects.create(user=user, account_id=_new_account_id())
        except IntegrityError:
            existing = SandboxAccount.objects.filter(user=user).first()
            if existing is not None:
                return existing
    raise RuntimeError("could not allocate a unique sandbox account id")


def sandbox_call[T](
    *,
    account: SandboxAccount,
    action: Callable[[SandboxEngine], T],
    principal_user: str = ROOT_USER,
) -> T:
    """Run ``action`` against the account's engine while holding the account's row lock.

    Engine errors (AWS-named KMS errors, CloudHSM errors) are part of the story: what the
    engine wrote before raising (audit events of failed calls, failed-login counters) is
    committed, then the error is raised to the caller. Any other exception rolls back.
    """
    with engine_transaction():
        outcome, error = _run_engine(lock_account(account.pk), action, principal_user)
    if error is not None:
        raise error
    return outcome[0]


def lock_account(account_pk: int) -> SandboxAccount:
    """Lock the account row (``SELECT ... FOR UPDATE``) and read all of it; inside a
    transaction. Every engine call runs it, hence one hand-written statement."""
    row = fetch_one(_account_sql("id", lock=True), [account_pk])
    if row is None:
        raise SandboxAccount.DoesNotExist(account_pk)
    return row_as(row, SandboxAccount)


_SQLITE_WRITER = threading.RLock()


@contextlib.contextmanager
def engine_transaction() -> Iterator[None]:
    """``transaction.atomic`` for an engine call.

    On PostgreSQL the account row lock does the serializing. SQLite has one writer for the
    whole file and makes the others poll with growing sleeps, so threads of one process
    queue on a mutex first and take turns without sleeping.
    """
    if connection.vendor != "sqlite":
        with transaction.atomic():
            yield
        return
    with _SQLITE_WRITER, transaction.atomic():
        yield


def sandbox_call_locked[T](
    *,
    account: SandboxAccount,
    action: Callable[[SandboxEngine], T],
    principal_user: str = ROOT_USER,
) -> T:
    """Like ``sandbox_call`` for a caller that already holds the account's row lock in its
    own transaction (the KMS endpoint locks it while authenticating, in the same query).

    An engine error is raised after the engine's writes are flushed: the caller must catch
    it inside its transaction to keep those writes (the audit event of the failed call).
    """
    outcome, error = _run_engine(account, action, principal_user)
    if error is not None:
        raise error
    return outcome[0]


def _run_engine[T](
    account: SandboxAccount, action: Callable[[SandboxEngine], T], principal_user: str
) -> tuple[list[T], Exception | None]:
    storage = OrmStorage(account)
    engine = SandboxEngine(account, storage, principal_user=principal_user)
    try:
        outcome = [action(engine)]
        error = None
    except EngineError as exc:
        outcome, error = [], exc
    storage.flush()
    return outcome, error


def sandbox_reset(*, account: SandboxAccount) -> None:
    """Forget every engine object, event, console line and file; keep access keys."""
    with transaction.atomic():
        locked = SandboxAccount.objects.select_for_update().get(pk=account.pk)
        SandboxObject.objects.filter(account=locked).delete()
        SandboxEvent.objects.filter(account=locked).delete()
        ConsoleEntry.objects.filter(account=locked).delete()
        SandboxFile.objects.filter(account=locked).delete()
        locked.clock_offset_seconds = 0
        locked.reset_at = timezone.now()
        locked.save(update_fields=["clock_offset_seconds", "reset_at"])
        LabProgress.objects.filter(user=locked.user).update(passed_steps=[])


def sandbox_advance_clock(*, account: SandboxAccount, seconds: int) -> None:
    """Fast-forward the account's simulated clock (it never runs backwards)."""
    if seconds <= 0:
        raise ValidationError("The clock only moves forward.")
    with transaction.atomic():
        locked = SandboxAccount.objects.select_for_update().get(pk=account.pk)
        locked.clock_offset_seconds += seconds
        locked.save(update_fields=["clock_offset_seconds"])
        account.clock_offset_seconds = locked.clock_offset_seconds


# --- access keys --------------------------------------------------------------------------------


def _secret_identity(access_key_id: str) -> str:
    return f"sandbox.access-key:{access_key_id}"


def access_key_create(
    *, account: SandboxAccount, user_name: str = ROOT_USER
) -> tuple[SandboxAccessKey, str]:
    """A new key pair; returns the row and the secret (shown to its owner, never logged)."""
    if user_name not in ACCESS_KEY_USERS:
        raise ValidationError(
            "Access keys are for the account root and the IAM users analyst and developer."
        )
    active = account.access_keys.filter(status=SandboxAccessKey.Status.ACTIVE).count()
    if active >= MAX_ACCESS_KEYS:
        raise ValidationError(
            f"You already have {active} active access keys; revoke one before creating another."
        )
    sealer = sandbox_sealer()
    for _ in range(10):
        access_key_id = "AKIA" + "".join(secrets.choice(_AKID_ALPHABET) for _ in range(16))
        secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
        try:
            with transaction.atomic():
                key = SandboxAccessKey.objects.create(
                    account=account,
                    user_name=user_name,
                    access_key_id=access_key_id,
                    sealed_secret=sealer.seal(secret.encode(), _secret_identity(access_key_id)),
                )
            return key, secret
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a unique access key id")


def access_key_secret(key: SandboxAccessKey) -> str:
    return sandbox_sealer().unseal(key.sealed_secret, _secret_identity(key.access_key_id)).decode()


def access_key_revoke(*, key: SandboxAccessKey) -> None:
    if key.status == SandboxAccessKey.Status.INACTIVE:
        return
    key.status = SandboxAccessKey.Status.INACTIVE
    key.revoked_at = timezone.now()
    key.save(update_fields=["status", "revoked_at"])


def access_key_rotate(*, key: SandboxAccessKey) -> tuple[SandboxAccessKey, str]:
    """Replace a key: revoke it and issue a new one for the same sandbox user."""
    with transaction.atomic():
        access_key_revoke(key=key)
        return access_key_create(account=key.account, user_name=key.user_name)


def access_key_mark_used(*, key: SandboxAccessKey, now: dt.datetime) -> None:
    # Written at most once a minute per key so the hot path stays one read.
    if key.last_used_at is None or now - key.last_used_at > dt.timedelta(minutes=1):
        SandboxAccessKey.objects.filter(pk=key.pk).update(last_used_at=now)


# --- files --------------------------------------------------------------------------------------


def file_save(*, account: SandboxAccount, name: str, content: bytes) -> SandboxFile:
    """Create or replace a sandbox file (for ``fileb://name`` and the envelope lab)."""
    if len(content) > MAX_FILE_BYTES:
        raise ValidationError(f"Files are limited to {MAX_FILE_BYTES // 1024} KiB in the sandbox.")
    existing = SandboxFile.objects.filter(account=account, name=name).first()
    if existing is None and account.files.count() >= account.max_files:
        raise ValidationError(
            f"Your sandbox holds at most {account.max_files} files; delete one first."
        )
    digest = hashlib.sha256(content).hexdigest()
    if existing is not None:
        existing.content = content
        existing.size = len(content)
        existing.sha256 = digest
        existing.full_clean(exclude=["account"])
        existing.save()
        return existing
    sandbox_file = SandboxFile(
        account=account, name=name, content=content, size=len(content), sha256=digest
    )
    sandbox_file.full_clean(exclude=["account"])
    sandbox_file.save()
    return sandbox_file


def file_delete(*, account: SandboxAccount, name: str) -> None:
    SandboxFile.objects.filter(account=account, name=name).delete()


# --- console history ------------------------------------------------------------------------------


@functools.cache
def _console_prune_sql() -> str:
    """Delete the account's entries older than the newest ``CONSOLE_HISTORY_KEPT``: one
    statement after every command, hence written out (the ORM's delete cost more to build)."""
    quote = connection.ops.quote_name
    table = quote(ConsoleEntry._meta.db_table)
    account, key = (
        quote(str(model_field(ConsoleEntry, name).column)) for name in ("account", "id")
    )
    return (
        f"DELETE FROM {table} WHERE {account} = %s AND {key} < (SELECT {key} FROM {table}"  # noqa: S608
        f" WHERE {account} = %s ORDER BY {key} DESC LIMIT 1 OFFSET %s)"
    )


def console_record(*, account: SandboxAccount, command: str, output: str, ok: bool) -> ConsoleEntry:
    entry = ConsoleEntry.objects.create(account=account, command=command, output=output, ok=ok)
    with connection.cursor() as cursor:
        cursor.execute(_console_prune_sql(), [account.pk, account.pk, CONSOLE_HISTORY_KEPT - 1])
    return entry


def console_clear(*, account: SandboxAccount) -> None:
    ConsoleEntry.objects.filter(account=account).delete()


# --- lab progress ---------------------------------------------------------------------------------


def lab_progress_record(
    *, user: User, lab_slug: str, passed_steps: list[str], complete: bool
) -> LabProgress:
    progress, _ = LabProgress.objects.get_or_create(user=user, lab_slug=lab_slug)
    now = timezone.now()
    progress.passed_steps = passed_steps
    progress.checked_at = now
    if complete and progress.completed_at is None:
        progress.completed_at = now
    progress.save(update_fields=["passed_steps", "checked_at", "completed_at"])
    return progress
