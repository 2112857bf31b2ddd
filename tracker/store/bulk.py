"""Bulk writes at the Core level: many rows in one executemany, their new ids back in parameter order.

On SQLite the statement goes to the driver's executemany as plain tuples (SQLAlchemy's per-row parameter
processing is most of an ORM insert's cost); the ids are the newest ones of the table, which only this
transaction can have written (SQLite has one writer at a time and gives each row the largest id + 1). Other
databases use SQLAlchemy's insertmanyvalues with RETURNING sorted by parameter order.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Boolean, Float, Integer, String, Table, insert
from sqlalchemy.engine import Connection

from ..models import Change, Event
from .codec import gc_paused

_NATIVE = (Integer, String, Float, Boolean)  # types sqlite3 stores as given (True as 1, an int in REAL as a float)
EVENT_COLUMNS = ("type", "model", "key", "metric", "value", "previous_model", "previous_value", "message",
                 "significant", "margin", "published", "backdated")


def dump_key(key: Sequence[str] | None) -> str | None:
    """A row key as stored: a JSON list as `json.dumps(list(key), ensure_ascii=False)` writes it."""
    if key is None:
        return None
    try:
        return "[" + ", ".join([orjson.dumps(k).decode() for k in key]) + "]"
    except TypeError:  # a lone surrogate or a non-text part: the json module says what is wrong
        return json.dumps(list(key), ensure_ascii=False)


def insert_many(conn: Connection, table: Table, common: Mapping[str, Any], columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> list[int]:
    """Insert one row per item of `rows` (values of `columns`, plus `common` in every row); their ids in order."""
    if not rows:
        return []
    if conn.dialect.name != "sqlite":
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        params = [{**common, **dict(zip(columns, row, strict=True))} for row in rows]
        return list(conn.execute(stmt, params).scalars())
    dialect = conn.dialect
    procs = [(i, p) for i, name in enumerate(columns)
             if not isinstance(table.c[name].type, _NATIVE) and (p := _processor(table, name, dialect))]
    if procs:
        pmap = dict(procs)
        rows = [tuple(pmap[i](v) if i in pmap else v for i, v in enumerate(row)) for row in rows]
    # values shared by every row go into the statement as literals where that is exact (a third fewer parameters
    # to bind per row); the rest stay parameters
    head: list[Any] = []
    marks: list[str] = []
    for name, value in common.items():
        v = _bind(table, name, dialect)(value)
        lit = _literal(v)
        marks.append(lit if lit is not None else "?")
        if lit is None:
            head.append(v)
    names = ", ".join(dialect.identifier_preparer.quote(n) for n in (*common, *columns))
    name = dialect.identifier_preparer.format_table(table)
    sql = f"INSERT INTO {name} ({names}) VALUES ({', '.join(marks + ['?'] * len(columns))})"
    first_values = tuple(head)
    conn.exec_driver_sql(sql, [first_values + tuple(row) for row in rows] if head else [tuple(r) for r in rows])
    last = int(conn.exec_driver_sql(f"SELECT max(id) FROM {name}").scalar_one())
    first = last - len(rows) + 1
    if conn.exec_driver_sql(f"SELECT count(*) FROM {name} WHERE id >= ?", (first,)).scalar_one() == len(rows):
        return list(range(first, last + 1))  # the usual case: consecutive ids
    newest = conn.exec_driver_sql(f"SELECT id FROM {name} ORDER BY id DESC LIMIT ?", (len(rows),)).scalars()
    return sorted(newest)


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


def event_values(c: Change) -> tuple[Any, ...]:
    """The event columns of a change (EVENT_COLUMNS), as stored."""
    return (c.kind.value, c.model, dump_key(c.key), c.metric, c.value, c.previous_model, c.previous_value,
            c.message, c.significant, c.margin, c.published, c.backdated)


def insert_events(conn: Connection, table: Table, changes: Sequence[Change], *, board: str, observed_at: datetime,
                  snapshot_id: int | None, fetch_id: int | None, backfilled: bool, notify: bool,
                  values: Callable[[Change], tuple[Any, ...]] = event_values) -> list[Event]:
    """Store changes as events of one board and moment (one executemany) and return them as Events."""
    with gc_paused():
        return _insert_events(conn, table, changes, board, observed_at, snapshot_id, fetch_id, backfilled, notify,
                              values)


def _insert_events(conn: Connection, table: Table, changes: Sequence[Change], board: str, observed_at: datetime,
                   snapshot_id: int | None, fetch_id: int | None, backfilled: bool, notify: bool,
                   values: Callable[[Change], tuple[Any, ...]]) -> list[Event]:
    alert = notify and not backfilled
    common = {"board_id": board, "observed_at": observed_at, "snapshot_id": snapshot_id, "fetch_id": fetch_id,
              "backfilled": backfilled, "notify": alert, "alert_pending": alert}
    rows = [values(c) for c in changes]
    ids = insert_many(conn, table, common, EVENT_COLUMNS, rows)
    when = observed_at if observed_at.tzinfo is not None else observed_at.replace(tzinfo=UTC)
    return _models([(i, c.kind, board, when, snapshot_id, c.model, c.key, c.metric, c.value, c.previous_model,
                     c.previous_value, c.message, backfilled, alert, c.significant, c.published, c.backdated,
                     c.margin) for i, c in zip(ids, changes, strict=True)])


_EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(Event))
# Event is a frozen dataclass without __slots__ or __post_init__: filling its __dict__ gives the same object as
# Event(*values) at half the cost (tests/test_perf_store.py compares them), which matters for 40,000 events
_FAST = not hasattr(Event, "__slots__") and not hasattr(Event, "__post_init__")


def _models(items: list[tuple[Any, ...]]) -> list[Event]:
    if not _FAST:
        return [Event(*values) for values in items]
    new, fields, out = object.__new__, _EVENT_FIELDS, []
    for values in items:
        e = new(Event)
        e.__dict__.update(zip(fields, values, strict=True))
        out.append(e)
    return out
