"""The `latest_row` table (migration 0006) and the reads `tracker site` needs in bulk.

Snapshot rows live in one compressed blob per snapshot, which SQL cannot open; `latest_row` holds each board's
newest snapshot's rows as plain columns so that the `latest_rows` view (and Datasette, or any SQL client) can
read them. It is replaced in the same transaction that saves a new snapshot (`replace_latest`, called from
Store.save), so it never disagrees with the snapshot table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import ForeignKey, Integer, Text, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..models import Row
from . import pgcopy
from .schema import Base, EventRow, SnapshotRow

if TYPE_CHECKING:
    from .core import Store


class LatestRowRow(Base):
    """One row of a board's newest snapshot, in source order, with its fields and numbers as JSON text."""

    __tablename__ = "latest_row"
    board_id: Mapped[str] = mapped_column(ForeignKey("board.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshot.id"))
    key: Mapped[str] = mapped_column(Text)  # the entry's key fields as a JSON list
    model: Mapped[str] = mapped_column(Text)
    fields: Mapped[str] = mapped_column(Text)  # JSON object: field -> cleaned text
    numbers: Mapped[str] = mapped_column(Text)  # JSON object: numeric field -> number (null when empty)
    leader: Mapped[int] = mapped_column(Integer, default=0)  # 1 for the snapshot's leader


_CHUNK = 10_000  # rows per executemany
COLUMNS = ("board_id", "position", "snapshot_id", "key", "model", "fields", "numbers", "leader")


def latest_values(board: str, snapshot_id: int, rows: Sequence[Row],
                  leader_key: Sequence[str] | None) -> list[tuple[object, ...]]:
    """The latest_row values of a snapshot's rows, as tuples in COLUMNS order (JSON by orjson: NaN is null)."""
    return list(_values(board, snapshot_id, rows, leader_key))


def _values(board: str, snapshot_id: int, rows: Sequence[Row],
            leader_key: Sequence[str] | None) -> Iterator[tuple[object, ...]]:
    lead = tuple(leader_key) if leader_key is not None else None
    dumps = orjson.dumps
    for i, r in enumerate(rows):
        fields, values = r.fields, r.values
        yield (board, i, snapshot_id, dumps(r.key).decode(), r.model,
               dumps(fields if type(fields) is dict else dict(fields)).decode(),
               dumps(values if type(values) is dict else dict(values)).decode(), int(r.key == lead))


def replace_latest(s: Session, board: str, snapshot_id: int, rows: Sequence[Row],
                   leader_key: Sequence[str] | None) -> None:
    """Make `rows` the board's latest_row set (inside the caller's transaction).

    One DELETE, then DBAPI executemany of plain tuples a chunk at a time: SQLAlchemy's per-row parameter handling
    would cost about as much again as the insert itself on a 20,000-row board. Deleting the rows and inserting the
    new ones measured faster than updating them in place or INSERT OR REPLACE (every row's snapshot_id changes).
    """
    conn = s.connection()
    conn.execute(delete(LatestRowRow).where(LatestRowRow.board_id == board))
    if pgcopy.usable(conn):  # PostgreSQL through psycopg: one COPY (pgcopy.py says why)
        pgcopy.copy_rows(conn, "latest_row", COLUMNS, _values(board, snapshot_id, rows, leader_key))
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO latest_row ({', '.join(COLUMNS)}) VALUES ({', '.join([mark] * 8)})"
    values = _values(board, snapshot_id, rows, leader_key)
    while chunk := list(islice(values, _CHUNK)):
        conn.exec_driver_sql(sql, chunk)


def heads(store: Store, until: datetime | None = None,
          types: Sequence[str] = ()) -> dict[str, tuple[int, int | None]]:
    """Per board: the id of its newest snapshot and of its newest event (of `types`, all when empty; observed at
    or before `until`), in two grouped queries; boards without a snapshot are absent."""
    snaps = select(SnapshotRow.board_id, func.max(SnapshotRow.id)).group_by(SnapshotRow.board_id)
    events = select(EventRow.board_id, func.max(EventRow.id)).group_by(EventRow.board_id)
    if types:
        events = events.where(EventRow.type.in_(list(types)))
    if until is not None:
        snaps = snaps.where(SnapshotRow.observed_at <= until)
        events = events.where(EventRow.observed_at <= until)

    def fn(s: Session) -> dict[str, tuple[int, int | None]]:
        last_event = {b: int(i) for b, i in s.execute(events)}
        return {b: (int(i), last_event.get(b)) for b, i in s.execute(snaps)}
    result: dict[str, tuple[int, int | None]] = store._run("reading the newest snapshot of every board", fn)
    return result
