"""The store's single-writer lock: an exclusive lock file beside an SQLite file, a session-level advisory lock on
PostgreSQL held by a dedicated autocommit connection (never "idle in transaction", so
`idle_in_transaction_session_timeout` cannot end it), checked before every write transaction.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from ..errors import LockedError, StoreError
from .dberror import describe, error_text

LOCK_KEY = 0x7472616B  # "trak": the PostgreSQL advisory-lock key of a tracker store


class HeldLock:
    """A lock this process holds; check() raises StoreError if it was lost (SQLite file locks cannot be)."""

    def check(self) -> None:
        """Raise StoreError when the lock is no longer held."""


class _PgLock(HeldLock):
    def __init__(self, conn: Connection, where: str) -> None:
        self.conn = conn
        self.where = where
        self.guard = threading.Lock()

    def check(self) -> None:
        with self.guard:
            try:
                held = self.conn.execute(text(
                    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = :k AND granted "
                    "AND pid = pg_backend_pid()"), {"k": LOCK_KEY}).first()
            except SQLAlchemyError as exc:
                reason = describe(exc)
                raise StoreError(f"the writer lock on {self.where} was lost (its connection closed: {reason}); "
                                 f"stopping so that two writers never run; run the command again") from None
            if held is None:
                raise StoreError(f"the writer lock on {self.where} was lost; stopping so that two writers never "
                                 f"run; run the command again")


@contextmanager
def store_lock(engine: Engine, what: str, wait: float, holder: str) -> Iterator[HeldLock]:
    """The writer lock of a store: a lock file beside an SQLite file, an advisory lock on PostgreSQL, else none."""
    db = engine.url.database
    if engine.dialect.name == "sqlite" and db and db != ":memory:":
        with file_lock(Path(db + ".lock"), wait, holder, what):
            yield HeldLock()
    elif engine.dialect.name == "postgresql":
        with _pg_lock(engine, what, wait, holder) as held:
            yield held
    else:
        yield HeldLock()


@contextmanager
def _pg_lock(engine: Engine, what: str, wait: float, holder: str) -> Iterator[HeldLock]:
    try:
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot connect to {what} to take the writer lock: {describe(exc)}") from exc
    try:
        _acquire(conn, what, wait, holder)
        held = _PgLock(conn, what)
        try:
            yield held
        finally:
            try:
                with held.guard:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            except SQLAlchemyError:
                pass  # the connection is gone, and the lock with it
    finally:
        try:
            conn.close()
        except SQLAlchemyError:
            conn.invalidate()


def _acquire(conn: Connection, what: str, wait: float, holder: str) -> None:
    try:
        conn.execute(text("SELECT set_config('application_name', :h, false)"), {"h": holder[:60]})
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
    except SQLAlchemyError as exc:
        raise StoreError(error_text("taking the writer lock", what, exc)) from exc


@contextmanager
def file_lock(path: Path, wait: float, holder: str, what: str) -> Iterator[None]:
    """An exclusive flock on `path`, waiting up to `wait` seconds; the file says who holds it."""
    try:
        fh = path.open("a+")
    except OSError as exc:
        raise StoreError(f"cannot open the lock file {path}: {exc.strerror or exc}; check that its folder exists "
                         f"and is writable ([storage] url)") from exc
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
