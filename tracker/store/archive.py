"""The raw-document archive: content-addressed (SHA-256), gzip-compressed files under `snapshots/`."""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import tempfile
from pathlib import Path

from ..errors import StoreError

logger = logging.getLogger(__name__)


def sha256(data: bytes) -> str:
    """The hex SHA-256 of a document: its address in the archive."""
    return hashlib.sha256(data).hexdigest()


class Archive:
    """Raw documents by hash; writes are atomic (temporary file, then rename) and never overwrite."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha: str) -> Path:
        """Where the document with hash `sha` lives."""
        return self.root / sha[:2] / f"{sha}.gz"

    def put(self, data: bytes) -> str:
        """Store a document (once) and return its hash."""
        sha = sha256(data)
        target = self.path(sha)
        if target.exists():
            return sha
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(gzip.compress(data, compresslevel=3, mtime=0))
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StoreError(f"cannot write raw document to {target}: {exc}; check [storage] snapshots") from exc
        logger.debug("archived %s (%d bytes)", sha[:12], len(data))
        return sha

    def get(self, sha: str) -> bytes:
        """The document with hash `sha`."""
        try:
            return gzip.decompress(self.path(sha).read_bytes())
        except (OSError, EOFError) as exc:
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


def stored(root: Path) -> dict[str, Path]:
    """Every archived document under `root`, by hash."""
    return {p.name.removesuffix(".gz"): p for p in root.glob("??/*.gz") if not p.name.startswith(".tmp-")}


def temp_files(root: Path) -> list[Path]:
    """Temporary files left behind by interrupted writes."""
    return list(root.glob("??/.tmp-*"))
