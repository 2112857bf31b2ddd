"""What a run needs to know about every board before fetching, read in one transaction for all boards.

`tracker run` used to spend three transactions per board before its fetch (register the board, count its
failures, read its last good fetch) and one after; with begin_run the boards are registered and read together,
so an unchanged board costs one transaction: the fetch record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, aliased

from ..models import BoardStatus, Fetch
from .queries import _aware, fetch_of
from .schema import BoardRow, FetchRow, SnapshotRow

if TYPE_CHECKING:
    from .core import Store

_CHUNK = 500  # board ids per IN (...) list


@dataclass(frozen=True)
class BoardState:
    """A board as a run starts: its last good fetch and how many `run` fetches failed since."""

    last_good: Fetch | None
    failures: int


def begin_run(store: Store, boards: Sequence[tuple[str, str, str]]) -> dict[str, BoardState]:
    """Register boards (id, title, url: created, or title and url updated) and read each one's state, together.

    The same answers as ensure_board, last_good_fetch and consecutive_failures board by board.
    """
    def fn(s: Session) -> dict[str, BoardState]:
        out: dict[str, BoardState] = {}
        for i in range(0, len(boards), _CHUNK):
            chunk = boards[i:i + _CHUNK]
            ids = [b[0] for b in chunk]
            _register(s, chunk, ids)
            last = {r.board_id: fetch_of(r) for r in s.scalars(select(FetchRow).where(FetchRow.id.in_(
                select(func.max(FetchRow.id)).where(FetchRow.board_id.in_(ids), FetchRow.status != "failed")
                .group_by(FetchRow.board_id))))}
            failed = _failures(s, ids)
            out.update({b: BoardState(last.get(b), int(failed.get(b, 0))) for b in ids})
        return out
    result: dict[str, BoardState] = store._run(f"registering and reading {len(boards)} board(s)", fn, write=True)
    return result


def fetch_times(store: Store, boards: Sequence[str]) -> dict[str, tuple[datetime | None, int]]:
    """Each board's last fetch attempt (any outcome; None if never) and its failure streak, for many boards in a
    few statements (`tracker run --due`: the same answers as last_fetch_at and consecutive_failures)."""
    def fn(s: Session) -> dict[str, tuple[datetime | None, int]]:
        out: dict[str, tuple[datetime | None, int]] = {}
        for i in range(0, len(boards), _CHUNK):
            ids = list(boards[i:i + _CHUNK])
            last = {str(b): t for b, t in s.execute(select(FetchRow.board_id, func.max(FetchRow.started_at))
                                                     .where(FetchRow.board_id.in_(ids)).group_by(FetchRow.board_id))}
            failed = _failures(s, ids)
            out.update({b: (_aware(last.get(b)), failed.get(b, 0)) for b in ids})
        return out
    result: dict[str, tuple[datetime | None, int]] = store._run(f"reading the fetches of {len(boards)} board(s)", fn)
    return result


def statuses(store: Store, boards: Sequence[tuple[str, str, str]]) -> dict[str, BoardStatus]:
    """Each board's counters and health (board, title, url in): Store.status for many boards in a few statements
    (`tracker boards` over thousands of generated boards)."""
    def fn(s: Session) -> dict[str, BoardStatus]:
        out: dict[str, BoardStatus] = {}
        for i in range(0, len(boards), _CHUNK):
            chunk = boards[i:i + _CHUNK]
            ids = [b[0] for b in chunk]
            snaps = {str(b): (int(n), _aware(t)) for b, n, t in s.execute(
                select(SnapshotRow.board_id, func.count(), func.max(SnapshotRow.observed_at))
                .where(SnapshotRow.board_id.in_(ids)).group_by(SnapshotRow.board_id))}
            counts = {str(b): (int(n), int(last)) for b, n, last in s.execute(
                select(FetchRow.board_id, func.count(), func.max(FetchRow.id))
                .where(FetchRow.board_id.in_(ids)).group_by(FetchRow.board_id))}
            ok_ids = [int(i) for i in s.scalars(select(func.max(FetchRow.id)).where(
                FetchRow.board_id.in_(ids), FetchRow.status != "failed").group_by(FetchRow.board_id))]
            last_ids = [last for _, last in counts.values()]
            rows = {r.id: r for r in s.scalars(select(FetchRow).where(FetchRow.id.in_(last_ids + ok_ids)))}
            good = {rows[i].board_id: rows[i] for i in ok_ids if i in rows}
            failed = _failures(s, ids)
            for b, title, url in chunk:
                n_fetch, last_id = counts.get(b, (0, 0))
                last = rows.get(last_id)
                ok = good.get(b)
                n_snap, change = snaps.get(b, (0, None))
                out[b] = BoardStatus(b, title, url, n_snap, n_fetch, _aware(last.started_at) if last else None,
                                     _aware(ok.started_at) if ok else None, change, failed.get(b, 0),
                                     last.error if last is not None and last.status == "failed" else None)
        return out
    result: dict[str, BoardStatus] = store._run(f"reading the status of {len(boards)} board(s)", fn)
    return result


def _failures(s: Session, ids: list[str]) -> dict[str, int]:
    ok = aliased(FetchRow)
    last_ok = select(func.max(ok.id)).where(ok.board_id == FetchRow.board_id, ok.status != "failed") \
        .scalar_subquery()
    return {str(b): int(n) for b, n in s.execute(select(FetchRow.board_id, func.count()).where(
        FetchRow.board_id.in_(ids), FetchRow.status == "failed", FetchRow.origin == "run",
        FetchRow.id > func.coalesce(last_ok, 0)).group_by(FetchRow.board_id))}


def _register(s: Session, chunk: Sequence[tuple[str, str, str]], ids: list[str]) -> None:
    known = {r[0]: (r[1], r[2]) for r in s.execute(
        select(BoardRow.id, BoardRow.title, BoardRow.url).where(BoardRow.id.in_(ids)))}
    now = datetime.now(UTC)
    new = [{"id": b, "title": t, "url": u, "created_at": now} for b, t, u in dict.fromkeys(chunk) if b not in known]
    if new:
        s.execute(insert(BoardRow), new)
    for b, t, u in chunk:
        if b in known and known[b] != (t, u):
            s.execute(update(BoardRow).where(BoardRow.id == b).values(title=t, url=u))
            known[b] = (t, u)
