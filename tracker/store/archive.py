"""The raw-document archive: content-addressed (SHA-256), compressed files under `snapshots/`.

New documents are zstd frames; gzip files written by earlier versions stay readable (told apart by their first
bytes). Every file keeps the name `<sha>.gz` it has had since 0.1.0, so prune and older stores see one archive.
Writes are atomic (temporary file, then rename). Each put() is fsynced before it returns, unless a `group()` is
open: then the files are fsynced together when it closes (or at flush()), once per run instead of once per file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import StoreError
from .codec import compress, decompress

logger = logging.getLogger(__name__)


def sha256(data: bytes) -> str:
    """The hex SHA-256 of a document: its address in the archive."""
    return hashlib.sha256(data).hexdigest()


class Archive:
    """Raw documents by hash; writes are atomic (temporary file, then rename) and never overwrite."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._groups = 0  # open group() blocks: while > 0, fsyncs wait for flush()
        self._unsynced: list[Path] = []  # renamed into place, not yet fsynced (with their directories)

    def path(self, sha: str) -> Path:
        """Where the document with hash `sha` lives."""
        return self.root / sha[:2] / f"{sha}.gz"

    def put(self, data: bytes) -> str:
        """Store a document (once) and return its hash; durable on return unless a group() is open."""
        sha = sha256(data)
        target = self.path(sha)
        if target.exists() and target.stat().st_size > 0:
            return sha
        deferred = self._groups > 0
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(compress(data))
                    fh.flush()
                    if not deferred:
                        os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StoreError(f"cannot write raw document to {target}: {exc}; check [storage] snapshots") from exc
        if deferred:
            with self._lock:
                self._unsynced.append(target)
        logger.debug("archived %s (%d bytes)", sha[:12], len(data))
        return sha

    @contextmanager
    def group(self) -> Iterator[None]:
        """Defer the fsync of every put() inside to one flush() when the block ends (group commit)."""
        with self._lock:
            self._groups += 1
        try:
            yield
        finally:
            with self._lock:
                self._groups -= 1
            self.flush()

    def flush(self) -> int:
        """Make every document written since the last flush durable: the files, then their directories.

        Returns how many files were synced. Linux commits one journal transaction for the first fsync; the
        rest find their data on disk already, so a run pays about one fsync however many documents it wrote.
        """
        with self._lock:
            files, self._unsynced = self._unsynced, []
        try:
            for path in files:
                _fsync(path, os.O_RDONLY)
            for folder in {p.parent for p in files}:
                _fsync(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError as exc:
            raise StoreError(f"cannot sync the raw documents in {self.root}: {exc}; check [storage] snapshots") \
                from exc
        return len(files)

    def get(self, sha: str) -> bytes:
        """The document with hash `sha` (zstd, or gzip from tracker 0.1.0-0.2)."""
        try:
            return decompress(self.path(sha).read_bytes(), legacy="gzip")
        except Exception as exc:  # OSError, zlib.error, zstandard.ZstdError: missing, truncated or corrupt
            raise StoreError(f"raw document {sha} is missing or damaged in {self.root}: {exc}") from exc

    def delete(self, sha: str) -> bool:
        """Remove the document with hash `sha`; False when it was not there."""
        try:
            self.path(sha).unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StoreError(f"cannot remove {self.path(sha)}: {exc.strerror or exc}") from exc
        return True


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stored(root: Path) -> dict[str, Path]:
    """Every archived document under `root`, by hash."""
    return {p.name.removesuffix(".gz"): p for p in root.glob("??/*.gz") if not p.name.startswith(".tmp-")}


def temp_files(root: Path) -> list[Path]:
    """Temporary files left behind by interrupted writes."""
    return list(root.glob("??/.tmp-*"))
