"""An exclusive lock file that says who holds it (the SQLite store's writer lock)."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from ..errors import LockedError, StoreError

LOCK_KEY = 0x7472616B  # "trak": the PostgreSQL advisory-lock key of a tracker store


@contextmanager
def store_lock(engine: Engine, what: str, wait: float, holder: str) -> Iterator[None]:
    """The writer lock of a store: a lock file beside an SQLite file, an advisory lock on PostgreSQL, else none."""
    db = engine.url.database
    if engine.dialect.name == "sqlite" and db and db != ":memory:":
        with file_lock(Path(db + ".lock"), wait, holder, what):
            yield
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT set_config('application_name', :h, false)"), {"h": holder})
            deadline = time.monotonic() + wait
            while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar():
                if time.monotonic() >= deadline:
                    who = conn.execute(text(
                        "SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                        "WHERE l.locktype = 'advisory' AND l.objid = :k AND l.granted LIMIT 1"),
                        {"k": LOCK_KEY}).first()
                    name = f"tracker process {who[0]} ({who[1]})" if who else "another tracker process"
                    raise LockedError(f"{name} is using {what} (waited {wait:g}s); try again later, or raise "
                                      f"[storage] lock_wait")
                time.sleep(0.2)
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                conn.commit()
    else:
        yield


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
