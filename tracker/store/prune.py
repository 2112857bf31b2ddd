"""What `tracker prune` removes, and the per-board cap on failed documents kept in the archive.

Never removed: snapshots, events, fetch records, and the raw document of every snapshot. Removed: archived
documents that no snapshot refers to (failed or superseded fetches, orphans of interrupted runs) once they are
older than the cut-off, except each board's newest `keep_failed` failed documents; temporary files of interrupted
writes older than an hour. Then the database is vacuumed (SQLite VACUUM, PostgreSQL VACUUM ANALYZE).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..errors import StoreError
from .archive import Archive, stored, temp_files
from .core import Store
from .dberror import error_text
from .schema import FetchRow, SnapshotRow

logger = logging.getLogger(__name__)
TEMP_AGE = 3600.0


@dataclass(frozen=True)
class PruneResult:
    """What a prune removed."""

    documents: int = 0
    temp_files: int = 0
    bytes: int = 0
    vacuumed: bool = False

    def summary(self) -> str:
        """One line for the terminal."""
        mb = self.bytes / 1e6
        return (f"pruned {self.documents} raw document(s) and {self.temp_files} temporary file(s), {mb:.1f} MB freed"
                + ("; database vacuumed" if self.vacuumed else ""))


def _kept(store: Store, keep_failed: int, since: datetime | None) -> set[str]:
    """Hashes that must stay: every snapshot's document, each board's newest failures, anything fetched since."""
    def fn(s: Session) -> set[str]:
        keep = {h for h in s.scalars(select(SnapshotRow.raw_sha).where(SnapshotRow.raw_sha.is_not(None))) if h}
        if since is not None:
            keep |= {h for h in s.scalars(select(FetchRow.raw_sha).where(
                FetchRow.raw_sha.is_not(None), FetchRow.started_at >= since)) if h}
        per_board: dict[str, list[str]] = {}
        q = select(FetchRow.board_id, FetchRow.raw_sha).where(
            FetchRow.status == "failed", FetchRow.raw_sha.is_not(None)).order_by(FetchRow.id.desc())
        for board, sha in s.execute(q):
            shas = per_board.setdefault(board, [])
            if sha and len(shas) < keep_failed and sha not in shas:
                shas.append(sha)
        for shas in per_board.values():
            keep.update(shas)
        return keep
    return store._run("reading what the archive must keep", fn)


def trim_failed(store: Store, archive: Archive, board: str, keep_failed: int) -> int:
    """Remove the board's failed documents beyond its newest `keep_failed` (none that a snapshot needs)."""
    def fn(s: Session) -> list[str]:
        q = select(FetchRow.raw_sha).where(FetchRow.board_id == board, FetchRow.status == "failed",
                                           FetchRow.raw_sha.is_not(None)).order_by(FetchRow.id.desc())
        return list(dict.fromkeys(h for h in s.scalars(q) if h))
    shas = store._run(f"reading failed fetches of {board}", fn)
    old = shas[keep_failed:]
    if not old:
        return 0
    keep = _kept(store, keep_failed, None)
    removed = 0
    for sha in old:
        if sha not in keep and archive.delete(sha):
            removed += 1
    return removed


def prune(store: Store, archive: Archive, older_than: datetime, keep_failed: int, *,
          vacuum: bool = True) -> PruneResult:
    """Remove unneeded raw documents archived before `older_than`, stale temp files, then vacuum."""
    keep = _kept(store, keep_failed, older_than)
    cutoff = older_than.timestamp()
    documents = size = 0
    for sha, path in stored(archive.root).items():
        try:
            st = path.stat()
        except OSError:
            continue
        if sha in keep or st.st_mtime >= cutoff:
            continue
        if archive.delete(sha):
            documents += 1
            size += st.st_size
    temps = 0
    for tmp in temp_files(archive.root):
        try:
            st = tmp.stat()
            if time.time() - st.st_mtime > TEMP_AGE:
                tmp.unlink()
                temps += 1
                size += st.st_size
        except OSError:
            continue
    if vacuum:
        _vacuum(store)
    logger.info("prune: %d documents, %d temp files, %d bytes", documents, temps, size)
    return PruneResult(documents, temps, size, vacuum)


def _vacuum(store: Store) -> None:
    store._check_lock()
    statement = "VACUUM ANALYZE" if store.engine.dialect.name == "postgresql" else "VACUUM"
    try:
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(statement))
            if store.engine.dialect.name == "sqlite":
                conn.execute(text("ANALYZE"))
    except SQLAlchemyError as exc:
        raise StoreError(error_text("vacuuming", store.safe_url, exc)) from exc


__all__ = ["PruneResult", "prune", "trim_failed"]
