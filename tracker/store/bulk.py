"""Bulk writes at the Core level: many rows in one executemany, their new ids back in parameter order.

On SQLite the statement goes to the driver's executemany as plain tuples (SQLAlchemy's per-row parameter
processing is most of an ORM insert's cost); the ids are the newest ones of the table, which only this
transaction can have written (SQLite has one writer at a time and gives each row the largest id + 1). Other
PostgreSQL through psycopg draws the ids from the table's sequence and COPYs the rows with them (pgcopy.py); other
databases use SQLAlchemy's insertmanyvalues with RETURNING sorted by parameter order. Either way the rows go
10,000 at a time, so a 400,000-event import never holds all its parameters at once.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from itertools import groupby, islice
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Boolean, Float, Integer, String, Table, insert
from sqlalchemy.engine import Connection

from ..models import Change, ChangeKind, Event
from . import pgcopy
from .codec import gc_paused

_NATIVE = (Integer, String, Float, Boolean)  # types sqlite3 stores as given (True as 1, an int in REAL as a float)
# the columns of an event that come from its Change: those that vary from event to event, then those that almost
# never do (they are set only on leader_changed and new_sota), which insert_many writes into the statement
EVENT_VARYING = ("type", "model", "key", "metric", "value", "previous_model", "previous_value", "message")
EVENT_RARE = ("significant", "margin", "published", "backdated")
EVENT_COLUMNS = EVENT_VARYING + EVENT_RARE
_CHUNK = 10_000  # rows per executemany: a 400,000-event import never holds all its parameter tuples at once


def dump_key(key: Sequence[str] | None) -> str | None:
    """A row key as stored: a JSON list as `json.dumps(list(key), ensure_ascii=False)` writes it."""
    if key is None:
        return None
    try:
        if len(key) == 1:  # nothing to separate: orjson's compact form is json's
            return orjson.dumps(tuple(key)).decode()
        return "[" + ", ".join([orjson.dumps(k).decode() for k in key]) + "]"
    except TypeError:  # a lone surrogate or a non-text part: the json module says what is wrong
        return json.dumps(list(key), ensure_ascii=False)


def insert_many(conn: Connection, table: Table, common: Mapping[str, Any], columns: Sequence[str],
                rows: Iterable[Sequence[Any]], rare: Sequence[str] = ()) -> list[int]:
    """Insert one row per item of `rows` (values of `columns`, then of `rare`, plus `common` in every row); their
    ids in order.

    `rare` columns are those whose values are the same in long runs of rows: each run is one statement with them
    written into it, as `common` is (sqlite3 looks for an adapter before binding None or a bool, which costs
    about 0.3 µs a value more than text or a number; 50 ms on 40,000 events).
    """
    if pgcopy.usable(conn):
        return _copied(conn, table, common, (*columns, *rare), rows)
    if conn.dialect.name != "sqlite":
        names = (*columns, *rare)
        params = ({**common, **dict(zip(names, row, strict=True))} for row in rows)
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids: list[int] = []
        while batch := list(islice(params, _CHUNK)):
            ids.extend(conn.execute(stmt, batch).scalars())
        return ids
    dialect = conn.dialect
    procs = {i: p for i, name in enumerate(columns)
             if not isinstance(table.c[name].type, _NATIVE) and (p := _processor(table, name, dialect))}
    width, count = len(columns), 0
    statements: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}
    for shape, run in groupby(rows, key=itemgetter(slice(width, None))):
        if shape not in statements:
            statements[shape] = _statement(table, dialect, {**common, **dict(zip(rare, shape, strict=True))},
                                           columns)
        sql, head = statements[shape]
        values: Iterable[tuple[Any, ...]] = map(itemgetter(slice(0, width)), run)
        if procs:
            values = (tuple(procs[i](v) if i in procs else v for i, v in enumerate(row)) for row in values)
        while chunk := list(islice(values, _CHUNK)):
            conn.exec_driver_sql(sql, [head + tuple(row) for row in chunk] if head else chunk)
            count += len(chunk)
    if not count:
        return []
    name = dialect.identifier_preparer.format_table(table)
    last = int(conn.exec_driver_sql(f"SELECT max(id) FROM {name}").scalar_one())
    first = last - count + 1
    if conn.exec_driver_sql(f"SELECT count(*) FROM {name} WHERE id >= ?", (first,)).scalar_one() == count:
        return list(range(first, last + 1))  # the usual case: consecutive ids
    newest = conn.exec_driver_sql(f"SELECT id FROM {name} ORDER BY id DESC LIMIT ?", (count,)).scalars()
    return sorted(newest)


def _copied(conn: Connection, table: Table, common: Mapping[str, Any], names: Sequence[str],
            rows: Iterable[Sequence[Any]]) -> list[int]:
    """insert_many on PostgreSQL with psycopg: ids drawn from the sequence, then the rows COPYed with them."""
    dialect = conn.dialect
    fixed = tuple(_bind(table, name, dialect)(value) for name, value in common.items())
    procs = {i: p for i, name in enumerate(names)
             if not isinstance(table.c[name].type, _NATIVE) and (p := _processor(table, name, dialect))}
    columns = ("id", *common, *names)
    ids: list[int] = []
    it = iter(rows)
    while chunk := list(islice(it, _CHUNK)):
        new = pgcopy.new_ids(conn, table.name, len(chunk))
        if procs:
            chunk = [tuple(procs[i](v) if i in procs else v for i, v in enumerate(row)) for row in chunk]
        pgcopy.copy_rows(conn, table.name, columns, ((i, *fixed, *row) for i, row in zip(new, chunk, strict=True)))
        ids.extend(new)
    return ids


def _statement(table: Table, dialect: Any, fixed: Mapping[str, Any],
               columns: Sequence[str]) -> tuple[str, tuple[Any, ...]]:
    """The INSERT of `columns` as parameters with the `fixed` values written in where a literal is exact, and the
    fixed values that still need binding (they come first in every row's parameters)."""
    head: list[Any] = []
    marks: list[str] = []
    for name, value in fixed.items():
        v = _bind(table, name, dialect)(value)
        lit = _literal(v)
        marks.append(lit if lit is not None else "?")
        if lit is None:
            head.append(v)
    names = ", ".join(dialect.identifier_preparer.quote(n) for n in (*fixed, *columns))
    sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) "
           f"VALUES ({', '.join(marks + ['?'] * len(columns))})")
    return sql, tuple(head)


def _processor(table: Table, name: str, dialect: Any) -> Any:
    """What SQLAlchemy does to a value of this column before the driver sees it (None: nothing)."""
    return table.c[name].type.dialect_impl(dialect).bind_processor(dialect)


def _bind(table: Table, name: str, dialect: Any) -> Any:
    proc = _processor(table, name, dialect)
    return proc if proc is not None else _same


def _same(value: Any) -> Any:
    return value


def _literal(value: Any) -> str | None:
    """`value` as an exact SQLite literal (NULL, an integer, or quoted text), or None to bind it instead."""
    if value is None:
        return "NULL"
    if isinstance(value, bool | int):
        return str(int(value))
    if isinstance(value, str) and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


_TYPE = {kind: kind.value for kind in ChangeKind}  # the plain text (sqlite3 binds a str subclass slowly)


def event_values(c: Change) -> tuple[Any, ...]:
    """The event columns of a change (EVENT_COLUMNS), as stored."""
    return (_TYPE[c.kind], c.model, dump_key(c.key), c.metric, c.value, c.previous_model, c.previous_value,
            c.message, c.significant, c.margin, c.published, c.backdated)


def insert_events(conn: Connection, table: Table, changes: Sequence[Change], *, board: str, observed_at: datetime,
                  snapshot_id: int | None, fetch_id: int | None, backfilled: bool, notify: bool,
                  values: Callable[[Change], tuple[Any, ...]] = event_values) -> list[Event]:
    """Store changes as events of one board and moment (one executemany) and return them as Events."""
    with gc_paused():
        alert = notify and not backfilled
        common = {"board_id": board, "observed_at": observed_at, "snapshot_id": snapshot_id, "fetch_id": fetch_id,
                  "backfilled": backfilled, "notify": alert, "alert_pending": alert}
        ids = insert_many(conn, table, common, EVENT_VARYING, map(values, changes), EVENT_RARE)
        when = observed_at if observed_at.tzinfo is not None else observed_at.replace(tzinfo=UTC)
        if not _FAST:
            return [Event(i, c.kind, board, when, snapshot_id, c.model, c.key, c.metric, c.value, c.previous_model,
                          c.previous_value, c.message, backfilled, alert, c.significant, c.published, c.backdated,
                          c.margin) for i, c in zip(ids, changes, strict=True)]
        return [_event(i, c, board, when, snapshot_id, backfilled, alert) for i, c in zip(ids, changes, strict=True)]


_EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(Event))
# Event is a frozen dataclass without __slots__ or __post_init__: filling its __dict__ gives the same object as
# Event(*values) at half the cost (tests/test_perf_store.py compares them), which matters for 40,000 events
_FAST = not hasattr(Event, "__slots__") and not hasattr(Event, "__post_init__")


def _event(event_id: int, c: Change, board: str, observed_at: datetime, snapshot_id: int | None, backfilled: bool,
           notify: bool) -> Event:
    """The Event a stored change reads back as."""
    event = object.__new__(Event)
    event.__dict__.update(zip(_EVENT_FIELDS, (
        event_id, c.kind, board, observed_at, snapshot_id, c.model, c.key, c.metric, c.value, c.previous_model,
        c.previous_value, c.message, backfilled, notify, c.significant, c.published, c.backdated, c.margin),
        strict=True))
    return event


def _models(items: Iterable[tuple[Any, ...]]) -> list[Event]:
    """Events from their field values in Event's order (as Event(*values) builds them)."""
    if not _FAST:
        return [Event(*values) for values in items]
    out = []
    for values in items:
        event = object.__new__(Event)
        event.__dict__.update(zip(_EVENT_FIELDS, values, strict=True))
        out.append(event)
    return out
