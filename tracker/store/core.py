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
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from ..errors import StoreError
from ..models import Change, Event, Fetch, Row, Snapshot
from . import migrate
from .codec import Encoded, pack_rows
from .lock import HeldLock, store_lock
from .outbox import Outbox
from .queries import Queries, T, dump_key, event_from, fetch_of, snapshot_of
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

    def save(self, snap: NewSnapshot, changes: Sequence[Change], fetch: FetchInfo,
             health: Change | None = None) -> tuple[Snapshot, list[Event]]:
        """Store a snapshot, its events, its fetch record and a source-health event in one transaction."""
        def fn(s: Session) -> tuple[Snapshot, list[Event]]:
            leader = snap.leader
            row = SnapshotRow(
                board_id=snap.board, observed_at=snap.observed_at, stored_at=datetime.now(UTC),
                content_hash=snap.content_hash, raw_sha=snap.raw_sha, row_count=len(snap.rows),
                leader_key=dump_key(leader.key) if leader else None,
                leader_model=leader.model if leader else None,
                leader_value=snap.leader_value, backfilled=snap.backfilled,
                rows_blob=pack_rows(snap.rows, snap.encoded))
            s.add(row)
            s.flush()
            f = self._fetch_row(snap.board, fetch, row.id)
            s.add(f)
            s.flush()
            events = [self._event_row(snap.board, c, snap.observed_at, row.id, f.id, snap.backfilled, snap.notify)
                      for c in changes]
            if health is not None:
                events.append(self._event_row(snap.board, health, fetch.started_at, None, f.id, False, snap.notify))
            keys = [c.key for c in changes] + ([health.key] if health is not None else [])
            return snapshot_of(row, snap.rows), self._insert_events(s, events, keys)
        return self._run(f"saving a snapshot of {snap.board}", fn, write=True)

    def record_fetch(self, board: str, fetch: FetchInfo, health: Change | None = None,
                     observed_at: datetime | None = None, backfilled: bool = False,
                     notify: bool = True) -> tuple[Fetch, Event | None]:
        """Record a fetch that stored no snapshot, with its source-health event (failed, recovered) if any."""
        def fn(s: Session) -> tuple[Fetch, Event | None]:
            f = self._fetch_row(board, fetch, None)
            s.add(f)
            s.flush()
            ev = None
            if health is not None:
                row = self._event_row(board, health, observed_at or fetch.started_at, None, f.id, backfilled,
                                      notify)
                ev = self._insert_events(s, [row], [health.key])[0]
            return fetch_of(f), ev
        return self._run(f"recording a fetch of {board}", fn, write=True)

    def add_event(self, board: str, change: Change, observed_at: datetime, notify: bool = True) -> Event:
        """Store an event that belongs to no snapshot (source health)."""
        def fn(s: Session) -> Event:
            row = self._event_row(board, change, observed_at, None, None, False, notify)
            return self._insert_events(s, [row], [change.key])[0]
        return self._run(f"recording an event of {board}", fn, write=True)

    @staticmethod
    def _insert_events(s: Session, events: list[dict[str, Any]], keys: list[tuple[str, ...] | None]) -> list[Event]:
        """Bulk-insert events (one executemany, ids returned in order); far cheaper than ORM objects.

        `keys` are the events' keys as tuples, so the returned Events need not decode the stored JSON again.
        """
        if not events:
            return []
        table = EventRow.__table__
        assert isinstance(table, Table)
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids = list(s.connection().execute(stmt, events).scalars())
        return [event_from(i, e, k) for i, e, k in zip(ids, events, keys, strict=True)]

    @staticmethod
    def _fetch_row(board: str, f: FetchInfo, snapshot_id: int | None) -> FetchRow:
        return FetchRow(board_id=board, started_at=f.started_at, status=f.status, origin=f.origin,
                        http_status=f.http_status, bytes=f.bytes, duration=f.duration, error=f.error,
                        raw_sha=f.raw_sha, parse_hash=f.parse_hash, snapshot_id=snapshot_id,
                        warnings=json.dumps(list(f.warnings)) if f.warnings else None, etag=f.etag,
                        last_modified=f.last_modified, ref=f.ref, encoding=f.encoding)

    @staticmethod
    def _event_row(board: str, c: Change, observed_at: datetime, snapshot_id: int | None, fetch_id: int | None,
                   backfilled: bool, notify: bool = True) -> dict[str, Any]:
        alert = notify and not backfilled
        return {"board_id": board, "type": c.kind.value, "observed_at": observed_at, "snapshot_id": snapshot_id,
                "fetch_id": fetch_id, "model": c.model, "key": dump_key(c.key), "metric": c.metric, "value": c.value,
                "previous_model": c.previous_model, "previous_value": c.previous_value, "message": c.message,
                "backfilled": backfilled, "notify": alert, "alert_pending": alert, "significant": c.significant,
                "margin": c.margin, "published": c.published, "backdated": c.backdated}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
