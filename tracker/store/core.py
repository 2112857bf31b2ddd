"""Store(url): snapshots, fetch attempts and events in any SQLAlchemy database; returns models, never ORM objects."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, create_engine, event, insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from ..errors import StoreError
from ..models import Change, Event, Fetch, Row, Snapshot
from . import migrate
from .bulk import dump_key, event_values, insert_events
from .codec import Encoded, gc_paused, pack_rows
from .latest import replace_latest
from .lock import HeldLock, store_lock
from .outbox import Outbox
from .queries import Queries, T
from .runstate import BoardState, begin_run
from .schema import BoardRow, EventRow, FetchRow, SnapshotRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewSnapshot:
    """A snapshot about to be stored: rows, hashes and its leader."""

    board: str
    observed_at: datetime
    rows: Sequence[Row]
    content_hash: str
    raw_sha: str | None
    leader: Row | None
    leader_value: float | None
    backfilled: bool = False
    encoded: Encoded | None = None
    notify: bool = True


@dataclass(frozen=True)
class FetchInfo:
    """What a fetch attempt did, for the fetch table."""

    started_at: datetime
    status: str
    origin: str = "run"
    http_status: int | None = None
    bytes: int = 0
    duration: float = 0.0
    error: str | None = None
    raw_sha: str | None = None
    parse_hash: str | None = None
    warnings: Sequence[str] = ()
    etag: str | None = None
    last_modified: str | None = None
    ref: str | None = None
    encoding: str | None = None


class Store(Queries):
    """The database of boards, snapshots, fetch attempts and events."""

    def __init__(self, url: str, *, lock_wait: float = 10.0) -> None:
        self.url = url
        try:
            kwargs: dict[str, Any] = {}
            if url in ("sqlite://", "sqlite:///:memory:"):
                kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
            elif url.startswith("sqlite"):
                kwargs = {"connect_args": {"timeout": 30}}
            self.engine: Engine = create_engine(url, **kwargs)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"cannot open the database {self.safe_url}: {migrate.describe(exc)}; check [storage] "
                             f"url or TRACKER_DATABASE_URL") from exc
        migrate.ensure(self.engine, self.safe_url, lock_wait)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self._held: HeldLock | None = None
        self.outbox = Outbox(self._session, self.safe_url, self._check_lock)
        self.worker: str | None = None  # tracker.workers: the pool worker (or leased run) writing; on fetch rows

    @property
    def safe_url(self) -> str:
        """The database URL with any password masked."""
        from sqlalchemy.engine import make_url

        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except Exception:
            return self.url.split("@")[-1]

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @contextmanager
    def lock(self, wait: float, holder: str = "tracker") -> Iterator[None]:
        """Hold the store's writer lock (a lock file beside SQLite, an advisory lock on PostgreSQL).

        Waits up to `wait` seconds for another holder, then raises LockedError naming it. While it is held,
        every write first checks that it still is (a lost PostgreSQL lock stops the writer with a StoreError).
        """
        with store_lock(self.engine, self.safe_url, wait, holder) as held:
            self._held = held
            try:
                yield
            finally:
                self._held = None

    def _check_lock(self) -> None:
        if self._held is not None:
            self._held.check()

    def _run(self, what: str, fn: Callable[[Session], T], *, write: bool = False) -> T:
        if write:
            self._check_lock()
        try:
            with self._session.begin() as session:
                return fn(session)
        except SQLAlchemyError as exc:
            raise StoreError(migrate.error_text(what, self.safe_url, exc)) from exc

    # ---- writes -------------------------------------------------------------------------------------

    def ensure_board(self, board: str, title: str, url: str) -> None:
        """Create or update the board's row (url as written in the config: ${VAR} never expanded)."""
        def fn(s: Session) -> None:
            row = s.get(BoardRow, board)
            if row is None:
                s.add(BoardRow(id=board, title=title, url=url, created_at=datetime.now(UTC)))
            elif (row.title, row.url) != (title, url):
                row.title, row.url = title, url
        self._run(f"registering board {board}", fn, write=True)

    def begin_run(self, boards: Sequence[tuple[str, str, str]]) -> dict[str, BoardState]:
        """Register every board of a run (id, title, url) and read its last good fetch and failure streak, in
        one transaction for all of them (instead of three per board)."""
        return begin_run(self, boards)

    def save(self, snap: NewSnapshot, changes: Sequence[Change], fetch: FetchInfo,
             health: Change | None = None) -> tuple[Snapshot, list[Event]]:
        """Store a snapshot, its events, its fetch record and a source-health event in one transaction.

        Core statements only: the snapshot and fetch rows one INSERT each, the events one executemany. No cyclic
        garbage collection meanwhile (see gc_paused): a big board's save makes 100,000s of short-lived objects.
        """
        def fn(s: Session) -> tuple[Snapshot, list[Event]]:
            with gc_paused():
                return write(s)

        def write(s: Session) -> tuple[Snapshot, list[Event]]:
            leader = snap.leader
            conn = s.connection()
            values = {"board_id": snap.board, "observed_at": snap.observed_at, "stored_at": datetime.now(UTC),
                      "content_hash": snap.content_hash, "raw_sha": snap.raw_sha, "row_count": len(snap.rows),
                      "leader_key": dump_key(leader.key) if leader else None,
                      "leader_model": leader.model if leader else None, "leader_value": snap.leader_value,
                      "backfilled": snap.backfilled, "rows_blob": pack_rows(snap.rows, snap.encoded)}
            snapshot_id = _insert_one(conn, _SNAPSHOT, values)
            fetch_id = _insert_one(conn, _FETCH, self._fetch_values(snap.board, fetch, snapshot_id))
            # the `latest_rows` SQL view (migration 0006) reads latest_row: replaced with this snapshot's rows
            replace_latest(s, snap.board, snapshot_id, snap.rows, leader.key if leader else None)
            events = insert_events(conn, _EVENT, changes, board=snap.board, observed_at=snap.observed_at,
                                   snapshot_id=snapshot_id, fetch_id=fetch_id, backfilled=snap.backfilled,
                                   notify=snap.notify, values=self._event_row)
            if health is not None:
                events += insert_events(conn, _EVENT, [health], board=snap.board, observed_at=fetch.started_at,
                                        snapshot_id=None, fetch_id=fetch_id, backfilled=False, notify=snap.notify)
            stored = Snapshot(id=snapshot_id, board=snap.board, observed_at=_utc(snap.observed_at),
                              rows=tuple(snap.rows), content_hash=snap.content_hash, raw_sha=snap.raw_sha,
                              leader_key=tuple(leader.key) if leader else None,
                              leader_model=leader.model if leader else None, leader_value=snap.leader_value,
                              backfilled=snap.backfilled, row_count=len(snap.rows))
            return stored, events
        return self._run(f"saving a snapshot of {snap.board}", fn, write=True)

    def record_fetch(self, board: str, fetch: FetchInfo, health: Change | None = None,
                     observed_at: datetime | None = None, backfilled: bool = False,
                     notify: bool = True) -> tuple[Fetch, Event | None]:
        """Record a fetch that stored no snapshot, with its source-health event (failed, recovered) if any."""
        def fn(s: Session) -> tuple[Fetch, Event | None]:
            conn = s.connection()
            fetch_id = _insert_one(conn, _FETCH, self._fetch_values(board, fetch, None))
            ev = None
            if health is not None:
                ev = insert_events(conn, _EVENT, [health], board=board, observed_at=observed_at or fetch.started_at,
                                   snapshot_id=None, fetch_id=fetch_id, backfilled=backfilled, notify=notify)[0]
            return _fetch_model(fetch_id, board, fetch, None), ev
        return self._run(f"recording a fetch of {board}", fn, write=True)

    def add_event(self, board: str, change: Change, observed_at: datetime, notify: bool = True) -> Event:
        """Store an event that belongs to no snapshot (source health)."""
        def fn(s: Session) -> Event:
            return insert_events(s.connection(), _EVENT, [change], board=board, observed_at=observed_at,
                                 snapshot_id=None, fetch_id=None, backfilled=False, notify=notify)[0]
        return self._run(f"recording an event of {board}", fn, write=True)

    _event_row = staticmethod(event_values)  # a Change as the event columns that vary (tests make it fail)

    def _fetch_values(self, board: str, f: FetchInfo, snapshot_id: int | None) -> dict[str, Any]:
        return {"board_id": board, "started_at": f.started_at, "status": f.status, "origin": f.origin,
                "http_status": f.http_status, "bytes": f.bytes, "duration": f.duration, "error": f.error,
                "raw_sha": f.raw_sha, "parse_hash": f.parse_hash, "snapshot_id": snapshot_id,
                "warnings": json.dumps(list(f.warnings)) if f.warnings else None, "etag": f.etag,
                "last_modified": f.last_modified, "ref": f.ref, "encoding": f.encoding,
                "worker": self.worker}  # which worker ran it (tracker.workers; None outside a pool)


def _table(orm: Any) -> Table:
    table = orm.__table__
    assert isinstance(table, Table)
    return table


_SNAPSHOT, _FETCH, _EVENT = _table(SnapshotRow), _table(FetchRow), _table(EventRow)


_INSERT = {t: insert(t).returning(t.c.id) for t in (_SNAPSHOT, _FETCH)}  # built once: compiled once, then cached


def _insert_one(conn: Connection, table: Table, values: dict[str, Any]) -> int:
    """Insert one row (Core, no ORM unit of work) and return its id."""
    return int(conn.execute(_INSERT[table], values).scalar_one())


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _fetch_model(fetch_id: int, board: str, f: FetchInfo, snapshot_id: int | None) -> Fetch:
    """The Fetch a recorded FetchInfo reads back as (fetch_of of its row), without reading it back."""
    return Fetch(id=fetch_id, board=board, started_at=_utc(f.started_at), status=f.status,
                 http_status=f.http_status, bytes=f.bytes, duration=f.duration, error=f.error, raw_sha=f.raw_sha,
                 snapshot_id=snapshot_id, warnings=tuple(f.warnings), etag=f.etag, last_modified=f.last_modified,
                 parse_hash=f.parse_hash, origin=f.origin, encoding=f.encoding)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
