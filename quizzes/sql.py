"""Hand-written SQL for the hot paths (review, dashboard, mock exam), in one place.

Why: the review page and every answer read the queue, the learner's banks and a card with its
question and revision; the dashboard aggregates the learner's log and cards; every exam page
reads its item and navigator. Built with the ORM, those few queries cost far more Python
(building the query, compiling it, making model instances) than database time, so they are
written out here with the same conditions as the ORM reads in :mod:`.selectors`, which serve
everything else. ``tests/quizzes/test_review_queue.py`` checks that the two agree and that the
queue statement reads only from its indexes; ``test_selectors.py`` pins the dashboard's
figures; the suite runs on SQLite and PostgreSQL. Table and column names come from the models'
``_meta``, values always as parameters; where SQLite and PostgreSQL spell JSON differently,
a table keyed by ``connection.vendor`` holds both.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any, cast

from django.db import connection
from django.db.models import Field, Model

from accounts.sql import (
    fetch_one,
    field_converters,
    in_list,
    model_field,
    rows_as_models,
    select_columns,
)

from .models import (
    Bank,
    BankSubscription,
    Card,
    Exam,
    ExamItem,
    Question,
    QuestionRevision,
    ReviewLog,
    ReviewSettings,
)

DUE_COUNT_CAP = 1000


@functools.cache
def study_banks_sql() -> str:
    bank, chosen = Bank._meta.db_table, BankSubscription._meta.db_table
    return (
        f"SELECT b.id, b.question_serial FROM {bank} b"  # noqa: S608 - names from _meta
        f" WHERE b.is_published = %s AND ("
        f"b.id IN (SELECT s.bank_id FROM {chosen} s WHERE s.user_id = %s)"
        f" OR (b.is_default = %s AND NOT EXISTS (SELECT 1 FROM {chosen} s"
        f" JOIN {bank} sb ON sb.id = s.bank_id WHERE s.user_id = %s AND sb.is_published = %s))"
        f") ORDER BY b.title, b.id"
    )


#: The condition of the ``question_not_live`` partial index, as the database renders it (the
#: planner uses the index only for this very expression).
NOT_LIVE = {
    "postgresql": "NOT (q.status = 'published') OR q.is_archived OR q.current_revision_id IS NULL",
    "sqlite": "NOT (q.status = 'published') OR q.is_archived = 1 OR q.current_revision_id IS NULL",
}


@functools.cache
def queue_sql(vendor: str, bank_count: int) -> str:
    """Every count of the review queue and the first due and new card, in one statement.

    The conditions are :func:`studied_cards` (due), :func:`new_cards_for` (new) and
    :func:`review_logs` (today's answers and new cards). Cards of questions not studied
    (drafts, archived) are left out by id, from the ``question_not_live`` index, so no card
    is joined to its question. The partial indexes' conditions (``state > 0``,
    ``state = 0``, ``source = 'review' AND voided_at IS NULL``, :data:`NOT_LIVE`) are
    written out as the indexes have them, so the planner sees that they apply.
    """
    card, question, log = Card._meta.db_table, Question._meta.db_table, ReviewLog._meta.db_table
    banks = in_list(bank_count)
    cards = (
        f"FROM {card} c WHERE c.user_id = %s AND c.suspended = %s"  # noqa: S608 - names from _meta
        f" AND c.bank_id IN ({banks}) AND c.question_id NOT IN (SELECT q.id FROM {question} q"
        f" WHERE q.bank_id IN ({banks}) AND ({NOT_LIVE[vendor]}))"
    )
    due = f"{cards} AND c.state > 0 AND c.due <= %s"
    new = f"{cards} AND c.state = 0"
    logs = (
        f"FROM {log} WHERE user_id = %s AND source = '{ReviewLog.Source.REVIEW}'"
        f" AND voided_at IS NULL AND reviewed_at >= %s"
    )
    return (
        f"SELECT (SELECT COUNT(*) FROM (SELECT 1 AS one {due}"  # noqa: S608 - names from _meta
        f" ORDER BY c.due LIMIT {DUE_COUNT_CAP + 1}) due_rows),"
        f" (SELECT c.id {due} ORDER BY c.due, c.id LIMIT 1),"
        f" (SELECT COUNT(*) FROM (SELECT 1 AS one {new} ORDER BY c.bank_id, c.question_id"
        f" LIMIT %s) new_rows),"
        f" (SELECT c.id {new} ORDER BY c.bank_id, c.question_id LIMIT 1),"
        f" (SELECT COUNT(*) {logs}),"
        f" (SELECT COUNT(*) {logs} AND new_card = %s)"
    )


def _tables(*aliased: tuple[type[Model], str]) -> tuple[str, list[str]]:
    """The columns of each (model, alias), for :func:`accounts.sql.rows_as_models`, and the
    models' table names."""
    columns = ", ".join(select_columns(model, alias) for model, alias in aliased)
    return columns, [model._meta.db_table for model, _ in aliased]


@functools.cache
def queue_card_sql() -> str:
    columns, (card, question, revision) = _tables(
        (Card, "c"), (Question, "q"), (QuestionRevision, "r")
    )
    return (
        f"SELECT {columns} FROM {card} c JOIN {question} q ON q.id = c.question_id"  # noqa: S608 - names from _meta
        f" LEFT JOIN {revision} r ON r.id = q.current_revision_id WHERE c.id = %s"
    )


def queue_card(card_id: int) -> Card:
    """The card with its question and the question's current revision, in one query."""
    row = fetch_one(queue_card_sql(), [card_id])
    if row is None:
        raise Card.DoesNotExist(card_id)
    card, question, revision = rows_as_models(row, [Card, Question, QuestionRevision])
    assert isinstance(card, Card) and isinstance(question, Question)
    question.current_revision = cast(QuestionRevision | None, revision)
    card.question = question
    return card


@functools.cache
def revision_sql() -> str:
    columns, (revision, question) = _tables((QuestionRevision, "r"), (Question, "q"))
    return (
        f"SELECT {columns} FROM {revision} r"  # noqa: S608 - names from _meta
        f" JOIN {question} q ON q.id = r.question_id WHERE r.id = %s"
    )


def revision_with_question(revision_id: int) -> QuestionRevision | None:
    """The revision with its question (an answer names the revision it was shown)."""
    row = fetch_one(revision_sql(), [revision_id])
    if row is None:
        return None
    revision, question = rows_as_models(row, [QuestionRevision, Question])
    assert isinstance(revision, QuestionRevision) and isinstance(question, Question)
    revision.question = question
    return revision


@functools.cache
def settings_sql() -> str:
    return (
        f"SELECT {select_columns(ReviewSettings, 's')}"  # noqa: S608 - names from _meta
        f" FROM {ReviewSettings._meta.db_table} s WHERE s.user_id = %s"
    )


@functools.cache
def card_lock_sql(for_update: bool) -> str:
    return (
        f"SELECT {select_columns(Card, 'c')}"  # noqa: S608 - names from _meta
        f" FROM {Card._meta.db_table} c WHERE c.user_id = %s AND c.question_id = %s"
        + (" FOR UPDATE" if for_update else "")
    )


#: The columns an answer changes (the card's user, question and bank never change).
SCHEDULE_FIELDS = [
    "state", "step", "stability", "difficulty", "due", "last_review", "reps", "lapses",
    "leech", "version",
]  # fmt: skip


# Every answer writes one card and one log while it holds the card's lock (on SQLite, the
# database's write lock), so both are single plain statements, built once from the models'
# fields and adapted by the fields themselves, as Model.save() would. Neither model has
# save signals or pre-save field logic to skip (ReviewLog.save()'s is repeated below).


@functools.cache
def _card_schedule_sql() -> str:
    columns = ", ".join(f"{model_field(Card, name).column} = %s" for name in SCHEDULE_FIELDS)
    table = Card._meta.db_table
    return f"UPDATE {table} SET {columns} WHERE id = %s"  # noqa: S608 - names from _meta


def card_schedule_save(card: Card) -> None:
    """``card.save(update_fields=SCHEDULE_FIELDS)`` in one statement."""
    params = [
        field.get_db_prep_save(getattr(card, field.attname), connection)
        for field in (model_field(Card, name) for name in SCHEDULE_FIELDS)
    ]
    with connection.cursor() as cursor:
        cursor.execute(_card_schedule_sql(), [*params, card.pk])


def _log_fields() -> list[Any]:
    return [field for field in ReviewLog._meta.concrete_fields if not field.primary_key]


@functools.cache
def _log_insert_sql(returning: bool) -> str:
    columns = ", ".join(field.column for field in _log_fields())
    values = ", ".join(["%s"] * len(_log_fields()))
    return (
        f"INSERT INTO {ReviewLog._meta.db_table} ({columns})"  # noqa: S608 - names from _meta
        f" VALUES ({values})" + (" RETURNING id" if returning else "")
    )


def review_log_insert(log: ReviewLog) -> ReviewLog:
    """``log.save()`` for a new log, in one statement (the unique submission id may raise
    ``IntegrityError``, as with the ORM)."""
    log.new_card = (log.state_before or {}).get("state") == Card.State.NEW
    params = [
        field.get_db_prep_save(getattr(log, field.attname), connection) for field in _log_fields()
    ]
    returning = connection.features.can_return_columns_from_insert
    with connection.cursor() as cursor:
        cursor.execute(_log_insert_sql(returning), params)
        log.pk = cursor.fetchone()[0] if returning else cursor.lastrowid
    log._state.adding = False
    log._state.db = connection.alias
    return log


#: The card state an answer was given in, read from the log's ``state_before`` JSON.
STATE_BEFORE = {
    "postgresql": "CAST(state_before ->> 'state' AS integer)",
    "sqlite": "JSON_EXTRACT(state_before, '$.state')",
}


@functools.cache
def log_totals_sql(vendor: str) -> str:
    """True retention (all time, 30 days) and time spent (today, 7 days, all time) over the
    learner's standing review answers, in one pass: the dashboard's heaviest read, whose
    seven filtered aggregates cost the ORM three times the query's own time to build."""
    log = ReviewLog._meta.db_table
    in_review = f"{STATE_BEFORE[vendor]} = %s"
    return (
        f"SELECT COUNT(CASE WHEN {in_review} THEN 1 END),"  # noqa: S608 - names from _meta
        f" COUNT(CASE WHEN {in_review} AND correct = %s THEN 1 END),"
        f" COUNT(CASE WHEN {in_review} AND reviewed_at >= %s THEN 1 END),"
        f" COUNT(CASE WHEN {in_review} AND reviewed_at >= %s AND correct = %s THEN 1 END),"
        f" SUM(CASE WHEN reviewed_at >= %s THEN duration_ms END),"
        f" SUM(CASE WHEN reviewed_at >= %s THEN duration_ms END),"
        f" SUM(duration_ms)"
        f" FROM {log} WHERE user_id = %s AND source = '{ReviewLog.Source.REVIEW}'"
        f" AND voided_at IS NULL"
    )


@functools.cache
def review_times_sql() -> str:
    """When the learner's standing review answers since a moment were given (the streak)."""
    return (
        f"SELECT reviewed_at FROM {ReviewLog._meta.db_table}"  # noqa: S608 - names from _meta
        f" WHERE user_id = %s AND source = '{ReviewLog.Source.REVIEW}' AND voided_at IS NULL"
        f" AND reviewed_at >= %s"
    )


def review_times(user_id: int, since: dt.datetime) -> list[dt.datetime]:
    """Aware UTC datetimes, without the ORM's per-row conversion (a year of answers is
    thousands of rows): SQLite returns the stored text, PostgreSQL aware datetimes."""
    since_value = connection.ops.adapt_datetimefield_value(since)
    return [_as_utc(value) for (value,) in _fetch_all(review_times_sql(), [user_id, since_value])]


def _as_utc(value: dt.datetime | str) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@functools.cache
def exam_item_sql() -> str:
    columns, (item, exam, revision) = _tables((ExamItem, "i"), (Exam, "e"), (QuestionRevision, "r"))
    return (
        f"SELECT {columns} FROM {item} i JOIN {exam} e ON e.id = i.exam_id"  # noqa: S608 - names from _meta
        f" JOIN {revision} r ON r.id = i.revision_id"
        f" WHERE i.exam_id = %s AND e.user_id = %s AND i.position = %s"
    )


def exam_item(*, exam_id: int, user_id: int, position: int) -> ExamItem | None:
    """The item at ``position`` of the user's own exam, with its exam and revision, in one
    query (the exam page shows one on every click through a 65-question exam)."""
    row = fetch_one(exam_item_sql(), [exam_id, user_id, position])
    if row is None:
        return None
    item, exam, revision = rows_as_models(row, [ExamItem, Exam, QuestionRevision])
    assert isinstance(item, ExamItem) and isinstance(exam, Exam)
    assert isinstance(revision, QuestionRevision)
    item.exam, item.revision = exam, revision
    return item


#: A revision's question type, read from its ``data`` JSON.
REVISION_TYPE = {"postgresql": "r.data ->> 'type'", "sqlite": "JSON_EXTRACT(r.data, '$.type')"}


@functools.cache
def exam_navigator_sql(vendor: str) -> str:
    item, revision = ExamItem._meta.db_table, QuestionRevision._meta.db_table
    return (
        f"SELECT i.position, i.answer, i.flagged, {REVISION_TYPE[vendor]}"  # noqa: S608 - names from _meta
        f" FROM {item} i JOIN {revision} r ON r.id = i.revision_id"
        f" WHERE i.exam_id = %s ORDER BY i.position"
    )


def _converted(
    rows: list[tuple[Any, ...]], fields: Sequence[Field[Any, Any] | None]
) -> list[tuple[Any, ...]]:
    """Rows with each column that has a model field converted as the ORM would (JSON, time
    zones, booleans); None leaves a column as the database returned it."""
    steps: list[tuple[int, Any, Any]] = []
    for index, field in enumerate(fields):
        if field is not None:
            steps.extend((index, convert, field.cached_col) for convert in field_converters(field))
    converted = []
    for row in rows:
        values = list(row)
        for index, convert, column in steps:
            values[index] = convert(values[index], column, connection)
        converted.append(tuple(values))
    return converted


def _fetch_all(statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall())


def exam_navigator_rows(exam_id: int) -> list[tuple[Any, ...]]:
    """(position, answer, flagged, question type) of every item of the exam, in order: what
    the navigator shows on every page and save of a mock exam."""
    item = functools.partial(model_field, ExamItem)
    rows = _fetch_all(exam_navigator_sql(connection.vendor), [exam_id])
    return _converted(rows, [None, item("answer"), item("flagged"), None])


@functools.cache
def mastery_sql(vendor: str, bank_count: int) -> str:
    question, card = Question._meta.db_table, Card._meta.db_table
    banks = in_list(bank_count)
    return (
        f"SELECT q.id, q.topics, c.stability, c.last_review, c.lapses FROM {question} q"  # noqa: S608 - names from _meta
        f" LEFT JOIN {card} c ON c.question_id = q.id AND c.user_id = %s AND c.state > 0"
        f" WHERE q.bank_id IN ({banks}) AND NOT ({NOT_LIVE[vendor]})"
    )


def mastery_rows(user_id: int, bank_ids: list[int]) -> list[tuple[Any, ...]]:
    """(question id, topics, stability, last review, lapses) of every studied question, the
    card's columns None for a question the learner has not seen yet: mastery per topic."""
    rows = _fetch_all(mastery_sql(connection.vendor, len(bank_ids)), [user_id, *bank_ids])
    card = functools.partial(model_field, Card)
    return _converted(
        rows, [None, model_field(Question, "topics"), None, card("last_review"), None]
    )
