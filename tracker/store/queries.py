"""The read side of the store: snapshots, fetches, events and board status as models (a mixin of Store)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, defer, sessionmaker

from ..diff import Record
from ..errors import StoreError
from ..models import BoardStatus, ChangeKind, Event, Fetch, Row, Snapshot
from .bulk import dump_key as dump_key  # re-exported: the stored form of a key
from .codec import unpack_rows
from .dberror import error_text
from .schema import EventRow, FetchRow, SnapshotRow

T = TypeVar("T")


def _key(text: str | None) -> tuple[str, ...] | None:
    return tuple(json.loads(text)) if text else None


class Queries:
    """Every read of the store; Store provides `_run`."""

    _session: sessionmaker[Session]

    def _run(self, what: str, fn: Callable[[Session], T], *, write: bool = False) -> T:
        raise NotImplementedError

    @property
    def safe_url(self) -> str:
        """The database URL with any password masked (Store provides it)."""
        raise NotImplementedError


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
        """The board's snapshots without rows, oldest first (the last `n` when given); no row blob is read."""
        def fn(s: Session) -> list[Snapshot]:
            q = select(*_LIGHT).where(SnapshotRow.board_id == board).order_by(SnapshotRow.id.desc())
            if n is not None:
                q = q.limit(n)
            keys: dict[str | None, tuple[str, ...] | None] = {}  # a leader's key text is decoded once
            out = []
            for r in reversed(s.execute(q).all()):
                key = keys[r[5]] if r[5] in keys else keys.setdefault(r[5], _key(r[5]))
                out.append(Snapshot(id=r[0], board=r[1], observed_at=r[2], rows=(), content_hash=r[3], raw_sha=r[4],
                                    leader_key=key, leader_model=r[6], leader_value=r[7], backfilled=bool(r[8]),
                                    row_count=r[9]))
            return out
        result: list[Snapshot] = self._run(f"reading the history of {board}", fn)
        return result

    def count_events(self, board: str, types: Sequence[str], since: datetime | None = None,
                     until: datetime | None = None) -> dict[str, int]:
        """How many events of each type the board has (observed in [since, until] when given), counted in SQL."""
        q = select(EventRow.type, func.count()).where(EventRow.board_id == board, EventRow.type.in_(list(types)))
        if since is not None:
            q = q.where(EventRow.observed_at >= since)
        if until is not None:
            q = q.where(EventRow.observed_at <= until)

        def fn(s: Session) -> dict[str, int]:
            return {str(t): int(n) for t, n in s.execute(q.group_by(EventRow.type))}
        result: dict[str, int] = self._run(f"counting the events of {board}", fn)
        return result

    def _one(self, query: Any, with_rows: bool, what: str) -> Snapshot | None:
        if not with_rows:
            query = query.options(defer(SnapshotRow.rows_blob))

        def fn(s: Session) -> Snapshot | None:
            r = s.scalars(query).first()
            if r is None:
                return None
            return snapshot_of(r, unpack_rows(r.rows_blob) if with_rows else ())
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
            return fetch_of(r) if r is not None else None
        result: Fetch | None = self._run(f"reading fetches of {board}", fn)
        return result

    def fetches(self, board: str, n: int = 20) -> list[Fetch]:
        """The board's last `n` fetch attempts, newest first."""
        def fn(s: Session) -> list[Fetch]:
            q = select(FetchRow).where(FetchRow.board_id == board).order_by(FetchRow.id.desc()).limit(n)
            return [fetch_of(r) for r in s.scalars(q)]
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
            return [event_of(r) for r in s.scalars(q)]
        result: list[Event] = self._run("reading events", fn)
        return result

    def iter_events(self, boards: Sequence[str] | None = None, types: Sequence[str] = (),
                    since: datetime | None = None, until: datetime | None = None, limit: int | None = None,
                    batch: int = 500) -> Iterator[Event]:
        """Stored events oldest first, streamed `batch` rows at a time; `limit` keeps the newest N (still oldest first).

        `boards` None means every board. The read transaction stays open until the iterator is exhausted or closed.
        """
        q = select(EventRow)
        if boards is not None:
            q = q.where(EventRow.board_id.in_(list(boards)))
        if types:
            q = q.where(EventRow.type.in_(list(types)))
        if since is not None:
            q = q.where(EventRow.observed_at >= since)
        if until is not None:
            q = q.where(EventRow.observed_at <= until)
        if limit is not None:
            newest = q.with_only_columns(EventRow.id).order_by(EventRow.id.desc()).limit(limit).subquery()
            q = select(EventRow).where(EventRow.id.in_(select(newest.c.id)))
        q = q.order_by(EventRow.id.asc()).execution_options(yield_per=batch)
        try:
            with self._session() as s:
                for r in s.scalars(q):
                    yield event_of(r)
        except SQLAlchemyError as exc:
            raise StoreError(error_text("reading events", self.safe_url, exc)) from exc

    def snapshot_list(self, board: str) -> list[tuple[Snapshot, int]]:
        """The board's snapshots without rows, oldest first, each with the number of events recorded with it."""
        def fn(s: Session) -> list[tuple[Snapshot, int]]:
            counts = dict(s.execute(select(EventRow.snapshot_id, func.count()).where(
                EventRow.board_id == board, EventRow.snapshot_id.is_not(None)).group_by(EventRow.snapshot_id)).all())
            q = select(SnapshotRow).options(defer(SnapshotRow.rows_blob)).where(
                SnapshotRow.board_id == board).order_by(SnapshotRow.id.asc())
            return [(snapshot_of(r, ()), int(counts.get(r.id, 0))) for r in s.scalars(q)]
        result: list[tuple[Snapshot, int]] = self._run(f"reading the snapshots of {board}", fn)
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


# a snapshot without its row blob, in this column order (history: thousands of them, no ORM objects)
_LIGHT = (SnapshotRow.id, SnapshotRow.board_id, SnapshotRow.observed_at, SnapshotRow.content_hash, SnapshotRow.raw_sha,
          SnapshotRow.leader_key, SnapshotRow.leader_model, SnapshotRow.leader_value, SnapshotRow.backfilled,
          SnapshotRow.row_count)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def snapshot_of(r: SnapshotRow, rows: Sequence[Row]) -> Snapshot:
    """A snapshot row as a model."""
    return Snapshot(id=r.id, board=r.board_id, observed_at=r.observed_at, rows=tuple(rows),
                    content_hash=r.content_hash, raw_sha=r.raw_sha, leader_key=_key(r.leader_key),
                    leader_model=r.leader_model, leader_value=r.leader_value, backfilled=bool(r.backfilled),
                    row_count=r.row_count)


def fetch_of(r: FetchRow) -> Fetch:
    """A fetch row as a model."""
    return Fetch(id=r.id, board=r.board_id, started_at=r.started_at, status=r.status, http_status=r.http_status,
                 bytes=r.bytes, duration=r.duration, error=r.error, raw_sha=r.raw_sha, snapshot_id=r.snapshot_id,
                 warnings=tuple(json.loads(r.warnings)) if r.warnings else (), etag=r.etag,
                 last_modified=r.last_modified, parse_hash=r.parse_hash, origin=r.origin, encoding=r.encoding)


def event_of(r: EventRow) -> Event:
    """An event row as a model."""
    return Event(id=r.id, type=ChangeKind(r.type), board=r.board_id, observed_at=r.observed_at,
                 snapshot_id=r.snapshot_id, model=r.model, key=_key(r.key), metric=r.metric, value=r.value,
                 previous_model=r.previous_model, previous_value=r.previous_value, message=r.message,
                 backfilled=bool(r.backfilled), notify=bool(r.notify), significant=r.significant,
                 published=r.published, backdated=bool(r.backdated), margin=r.margin)
