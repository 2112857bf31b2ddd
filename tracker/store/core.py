"""Store(url): snapshots, fetch attempts and events in any SQLAlchemy database; returns models, never ORM objects."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, create_engine, event, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from ..diff import Record
from ..errors import StoreError
from ..models import BoardStatus, Change, ChangeKind, Event, Fetch, Row, Snapshot
from .codec import Encoded, pack_rows, unpack_rows
from .lock import store_lock
from .outbox import Outbox
from .schema import Base, BoardRow, EventRow, FetchRow, SnapshotRow

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


def _key(text: str | None) -> tuple[str, ...] | None:
    return tuple(json.loads(text)) if text else None


def _dump_key(key: Sequence[str] | None) -> str | None:
    return json.dumps(list(key), ensure_ascii=False) if key is not None else None


class Store:
    """The database of boards, snapshots, fetch attempts and events."""

    def __init__(self, url: str) -> None:
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
            Base.metadata.create_all(self.engine)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"cannot open the database {self.safe_url}: {exc}; check [storage] url or "
                             f"TRACKER_DATABASE_URL") from exc
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self.outbox = Outbox(self._session, self.safe_url)

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

        Waits up to `wait` seconds for another holder, then raises LockedError naming it.
        """
        with store_lock(self.engine, self.safe_url, wait, holder):
            yield

    def _run(self, what: str, fn: Any) -> Any:
        try:
            with self._session.begin() as session:
                return fn(session)
        except SQLAlchemyError as exc:
            raise StoreError(f"database error while {what} ({self.safe_url}): {exc}") from exc

    # ---- writes -------------------------------------------------------------------------------------

    def ensure_board(self, board: str, title: str, url: str) -> None:
        """Create or update the board's row."""
        def fn(s: Session) -> None:
            row = s.get(BoardRow, board)
            if row is None:
                s.add(BoardRow(id=board, title=title, url=url, created_at=datetime.now(UTC)))
            else:
                row.title, row.url = title, url
        self._run(f"registering board {board}", fn)

    def save(self, snap: NewSnapshot, changes: Sequence[Change], fetch: FetchInfo) -> tuple[Snapshot, list[Event]]:
        """Store a snapshot, its events and its fetch record in one transaction."""
        def fn(s: Session) -> tuple[Snapshot, list[Event]]:
            leader = snap.leader
            row = SnapshotRow(
                board_id=snap.board, observed_at=snap.observed_at, stored_at=datetime.now(UTC),
                content_hash=snap.content_hash, raw_sha=snap.raw_sha, row_count=len(snap.rows),
                leader_key=_dump_key(leader.key) if leader else None,
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
            return _snapshot(row, snap.rows), self._insert_events(s, events)
        result: tuple[Snapshot, list[Event]] = self._run(f"saving a snapshot of {snap.board}", fn)
        return result

    def record_fetch(self, board: str, fetch: FetchInfo, failure: Change | None = None,
                     observed_at: datetime | None = None, backfilled: bool = False,
                     notify: bool = True) -> tuple[Fetch, Event | None]:
        """Record a fetch that stored no snapshot; a failure also gets its source_failed event."""
        def fn(s: Session) -> tuple[Fetch, Event | None]:
            f = self._fetch_row(board, fetch, None)
            s.add(f)
            s.flush()
            ev = None
            if failure is not None:
                row = self._event_row(board, failure, observed_at or fetch.started_at, None, f.id, backfilled,
                                      notify)
                ev = self._insert_events(s, [row])[0]
            return _fetch(f), ev
        result: tuple[Fetch, Event | None] = self._run(f"recording a fetch of {board}", fn)
        return result

    def add_event(self, board: str, change: Change, observed_at: datetime, notify: bool = True) -> Event:
        """Store an event that belongs to no snapshot (source health)."""
        def fn(s: Session) -> Event:
            return self._insert_events(s, [self._event_row(board, change, observed_at, None, None, False, notify)])[0]
        result: Event = self._run(f"recording an event of {board}", fn)
        return result

    @staticmethod
    def _insert_events(s: Session, events: list[dict[str, Any]]) -> list[Event]:
        """Bulk-insert events (one executemany, ids returned in order); far cheaper than ORM objects."""
        if not events:
            return []
        table = EventRow.__table__
        assert isinstance(table, Table)
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids = list(s.connection().execute(stmt, events).scalars())
        return [_event_from(i, e) for i, e in zip(ids, events, strict=True)]

    @staticmethod
    def _fetch_row(board: str, f: FetchInfo, snapshot_id: int | None) -> FetchRow:
        return FetchRow(board_id=board, started_at=f.started_at, status=f.status, origin=f.origin,
                        http_status=f.http_status, bytes=f.bytes, duration=f.duration, error=f.error,
                        raw_sha=f.raw_sha, parse_hash=f.parse_hash, snapshot_id=snapshot_id,
                        warnings=json.dumps(list(f.warnings)) if f.warnings else None, etag=f.etag,
                        last_modified=f.last_modified, ref=f.ref)

    @staticmethod
    def _event_row(board: str, c: Change, observed_at: datetime, snapshot_id: int | None, fetch_id: int | None,
                   backfilled: bool, notify: bool = True) -> dict[str, Any]:
        return {"board_id": board, "type": c.kind.value, "observed_at": observed_at, "snapshot_id": snapshot_id,
                "fetch_id": fetch_id, "model": c.model, "key": _dump_key(c.key), "metric": c.metric, "value": c.value,
                "previous_model": c.previous_model, "previous_value": c.previous_value, "message": c.message,
                "backfilled": backfilled, "notify": notify and not backfilled}

    # ---- reads --------------------------------------------------------------------------------------

    def latest(self, board: str, *, with_rows: bool = True) -> Snapshot | None:
        """The board's most recent snapshot (by storage order), or None."""
        return self._one(select(SnapshotRow).where(SnapshotRow.board_id == board)
                         .order_by(SnapshotRow.id.desc()).limit(1), with_rows, f"reading the latest {board}")

    def snapshot(self, snapshot_id: int, *, with_rows: bool = True) -> Snapshot | None:
        """The snapshot with this id, or None."""
        return self._one(select(SnapshotRow).where(SnapshotRow.id == snapshot_id), with_rows,
                         f"reading snapshot {snapshot_id}")

    def snapshot_at(self, board: str, when: datetime, *, with_rows: bool = True) -> Snapshot | None:
        """The latest snapshot of `board` observed at or before `when`, or None."""
        return self._one(select(SnapshotRow).where(SnapshotRow.board_id == board, SnapshotRow.observed_at <= when)
                         .order_by(SnapshotRow.observed_at.desc(), SnapshotRow.id.desc()).limit(1), with_rows,
                         f"reading {board} as of {when.isoformat()}")

    def before(self, snap: Snapshot, *, with_rows: bool = True) -> Snapshot | None:
        """The snapshot stored just before `snap` on the same board, or None."""
        return self._one(select(SnapshotRow).where(SnapshotRow.board_id == snap.board, SnapshotRow.id < snap.id)
                         .order_by(SnapshotRow.id.desc()).limit(1), with_rows, f"reading {snap.board}")

    def history(self, board: str, n: int | None = None) -> list[Snapshot]:
        """The board's snapshots without rows, oldest first (the last `n` when given)."""
        def fn(s: Session) -> list[Snapshot]:
            q = select(SnapshotRow).where(SnapshotRow.board_id == board).order_by(SnapshotRow.id.desc())
            if n is not None:
                q = q.limit(n)
            return [_snapshot(r, ()) for r in reversed(s.scalars(q).all())]
        result: list[Snapshot] = self._run(f"reading the history of {board}", fn)
        return result

    def _one(self, query: Any, with_rows: bool, what: str) -> Snapshot | None:
        def fn(s: Session) -> Snapshot | None:
            r = s.scalars(query).first()
            if r is None:
                return None
            return _snapshot(r, unpack_rows(r.rows_blob) if with_rows else ())
        result: Snapshot | None = self._run(what, fn)
        return result

    def record(self, board: str, higher_is_better: bool, *, up_to: int | None = None) -> Record | None:
        """The best leader value of the board's snapshots (those with id <= up_to when given), first holder."""
        order = SnapshotRow.leader_value.desc() if higher_is_better else SnapshotRow.leader_value.asc()
        q = select(SnapshotRow.leader_value, SnapshotRow.leader_model).where(
            SnapshotRow.board_id == board, SnapshotRow.leader_value.is_not(None))
        if up_to is not None:
            q = q.where(SnapshotRow.id <= up_to)
        q = q.order_by(order, SnapshotRow.id.asc()).limit(1)

        def fn(s: Session) -> Record | None:
            r = s.execute(q).first()
            return Record(float(r[0] or 0.0), str(r[1])) if r is not None else None
        result: Record | None = self._run(f"reading the record of {board}", fn)
        return result

    def last_good_fetch(self, board: str) -> Fetch | None:
        """The most recent fetch that was not a failure, or None."""
        def fn(s: Session) -> Fetch | None:
            r = s.scalars(select(FetchRow).where(FetchRow.board_id == board, FetchRow.status != "failed")
                          .order_by(FetchRow.id.desc()).limit(1)).first()
            return _fetch(r) if r is not None else None
        result: Fetch | None = self._run(f"reading fetches of {board}", fn)
        return result

    def fetches(self, board: str, n: int = 20) -> list[Fetch]:
        """The board's last `n` fetch attempts, newest first."""
        def fn(s: Session) -> list[Fetch]:
            q = select(FetchRow).where(FetchRow.board_id == board).order_by(FetchRow.id.desc()).limit(n)
            return [_fetch(r) for r in s.scalars(q)]
        result: list[Fetch] = self._run(f"reading fetches of {board}", fn)
        return result

    def events(self, board: str | None = None, types: Sequence[str] = (), since: datetime | None = None,
               snapshot_id: int | None = None, limit: int | None = None, after_id: int | None = None,
               notify_only: bool = False) -> list[Event]:
        """Stored events, oldest first, filtered by board, types, observation time, snapshot or id."""
        q = select(EventRow)
        if after_id is not None:
            q = q.where(EventRow.id > after_id)
        if notify_only:
            q = q.where(EventRow.notify.is_(True))
        if board is not None:
            q = q.where(EventRow.board_id == board)
        if types:
            q = q.where(EventRow.type.in_(list(types)))
        if since is not None:
            q = q.where(EventRow.observed_at >= since)
        if snapshot_id is not None:
            q = q.where(EventRow.snapshot_id == snapshot_id)
        q = q.order_by(EventRow.id.asc())
        if limit is not None:
            q = q.limit(limit)

        def fn(s: Session) -> list[Event]:
            return [_event(r) for r in s.scalars(q)]
        result: list[Event] = self._run("reading events", fn)
        return result

    def status(self, board: str, title: str, url: str) -> BoardStatus:
        """Counters and health of one board."""
        failures = self.consecutive_failures(board)

        def fn(s: Session) -> BoardStatus:
            n_snap = s.scalar(select(func.count()).select_from(SnapshotRow).where(SnapshotRow.board_id == board))
            n_fetch = s.scalar(select(func.count()).select_from(FetchRow).where(FetchRow.board_id == board))
            last = s.scalars(select(FetchRow).where(FetchRow.board_id == board)
                             .order_by(FetchRow.id.desc()).limit(1)).first()
            ok = s.scalars(select(FetchRow).where(FetchRow.board_id == board, FetchRow.status != "failed")
                           .order_by(FetchRow.id.desc()).limit(1)).first()
            change = s.scalar(select(func.max(SnapshotRow.observed_at)).where(SnapshotRow.board_id == board))
            last_error = last.error if last is not None and last.status == "failed" else None
            return BoardStatus(board, title, url, int(n_snap or 0), int(n_fetch or 0),
                               last.started_at if last else None, ok.started_at if ok else None,
                               _aware(change), failures, last_error)
        result: BoardStatus = self._run(f"reading the status of {board}", fn)
        return result

    def refs(self, board: str, prefix: str) -> set[str]:
        """The source references (e.g. archive captures, git commits) already fetched for a board."""
        def fn(s: Session) -> set[str]:
            q = select(FetchRow.ref).where(FetchRow.board_id == board, FetchRow.ref.startswith(prefix))
            return {r for r in s.scalars(q) if r}
        result: set[str] = self._run(f"reading fetches of {board}", fn)
        return result

    def first_fetch_at(self, board: str) -> datetime | None:
        """When the board was first fetched, or None."""
        def fn(s: Session) -> datetime | None:
            return _aware(s.scalar(select(func.min(FetchRow.started_at)).where(FetchRow.board_id == board)))
        result: datetime | None = self._run(f"reading fetches of {board}", fn)
        return result

    def last_fetch_at(self, board: str) -> datetime | None:
        """When the board was last fetched (any outcome), or None."""
        def fn(s: Session) -> datetime | None:
            return _aware(s.scalar(select(func.max(FetchRow.started_at)).where(FetchRow.board_id == board)))
        result: datetime | None = self._run(f"reading fetches of {board}", fn)
        return result

    def consecutive_failures(self, board: str) -> int:
        """How many `tracker run` fetches of the board failed since its last good fetch."""
        def fn(s: Session) -> int:
            ok = s.scalar(select(func.max(FetchRow.id)).where(FetchRow.board_id == board, FetchRow.status != "failed"))
            q = select(func.count()).select_from(FetchRow).where(
                FetchRow.board_id == board, FetchRow.status == "failed", FetchRow.origin == "run")
            return int(s.scalar(q.where(FetchRow.id > ok) if ok is not None else q) or 0)
        result: int = self._run(f"reading fetches of {board}", fn)
        return result


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _snapshot(r: SnapshotRow, rows: Sequence[Row]) -> Snapshot:
    return Snapshot(id=r.id, board=r.board_id, observed_at=r.observed_at, rows=tuple(rows),
                    content_hash=r.content_hash, raw_sha=r.raw_sha, leader_key=_key(r.leader_key),
                    leader_model=r.leader_model, leader_value=r.leader_value, backfilled=bool(r.backfilled),
                    row_count=r.row_count)


def _fetch(r: FetchRow) -> Fetch:
    return Fetch(id=r.id, board=r.board_id, started_at=r.started_at, status=r.status, http_status=r.http_status,
                 bytes=r.bytes, duration=r.duration, error=r.error, raw_sha=r.raw_sha, snapshot_id=r.snapshot_id,
                 warnings=tuple(json.loads(r.warnings)) if r.warnings else (), etag=r.etag,
                 last_modified=r.last_modified, parse_hash=r.parse_hash, origin=r.origin)


def _event_from(event_id: int, d: dict[str, Any]) -> Event:
    return Event(id=event_id, type=ChangeKind(d["type"]), board=d["board_id"], observed_at=_aware(d["observed_at"])
                 or datetime.now(UTC), snapshot_id=d["snapshot_id"], model=d["model"], key=_key(d["key"]),
                 metric=d["metric"], value=d["value"], previous_model=d["previous_model"],
                 previous_value=d["previous_value"], message=d["message"], backfilled=bool(d["backfilled"]),
                 notify=bool(d["notify"]))


def _event(r: EventRow) -> Event:
    return Event(id=r.id, type=ChangeKind(r.type), board=r.board_id, observed_at=r.observed_at,
                 snapshot_id=r.snapshot_id, model=r.model, key=_key(r.key), metric=r.metric, value=r.value,
                 previous_model=r.previous_model, previous_value=r.previous_value, message=r.message,
                 backfilled=bool(r.backfilled), notify=bool(r.notify))
