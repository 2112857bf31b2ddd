"""An exclusive lock file that says who holds it (the SQLite store's writer lock)."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .errors import LockedError, StoreError


@contextmanager
def file_lock(path: Path, wait: float, holder: str, what: str) -> Iterator[None]:
    """An exclusive flock on `path`, waiting up to `wait` seconds; the file says who holds it."""
    try:
        fh = path.open("a+")
    except OSError as exc:
        raise StoreError(f"cannot open the lock file {path}: {exc}") from exc
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    who = fh.read().strip() or "another tracker process"
                    raise LockedError(f"{who} is using {what} (waited {wait:g}s); try again later, or raise "
                                      f"[storage] lock_wait") from None
                time.sleep(0.1)
        fh.seek(0)
        fh.truncate()
        fh.write(f"tracker process {os.getpid()} ({holder}, since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC)")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    finally:
        fh.close()
