"""PgHosts: the per-host gate shared by a worker pool (fetch.gate.SharedHosts on PostgreSQL).

One request in flight per host across the pool: a session advisory lock per host, taken on a connection of its
own and held for the whole request (if the process dies, PostgreSQL drops the lock with the connection). The
per_host_delay across the pool: `host_gate.last_at`, when the pool's last request to the host ended, by the
database's clock, read and written while the host's lock is held; `started_at` marks a request begun, so one whose
worker died before it ended makes the next wait the whole delay.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ..errors import StoreError
from .dberror import describe

logger = logging.getLogger(__name__)
HOST_NS = 0x74726B68  # "trkh": the first key of a host's advisory lock; the second is a hash of the host
STEP = 1.0  # seconds per blocking attempt, so a stopping worker is not kept waiting for a busy host


def host_key(host: str) -> int:
    """The host's advisory-lock key (a signed 32-bit hash; a collision only serializes two hosts)."""
    return int.from_bytes(hashlib.sha256(host.lower().encode()).digest()[:4], "big", signed=True)


class PgHosts:
    """SharedHosts on PostgreSQL; lock(), pause(), done() and unlock() of one host come from one thread."""

    def __init__(self, engine: Engine, where: str) -> None:
        self.engine = engine
        self.where = where
        self.stop = threading.Event()
        self._held: dict[str, Connection] = {}
        self._ago: dict[str, tuple[float | None, bool, float]] = {}  # host -> (since last end, unfinished, read at)
        self._guard = threading.Lock()

    def lock(self, host: str, timeout: float) -> bool:
        """Take the pool-wide lock of `host`, waiting up to `timeout` seconds; False when that ran out."""
        deadline = time.monotonic() + max(timeout, 0.0)
        try:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as exc:
            raise StoreError(f"the pool's host gate for {host}: cannot reach {self.where}: {describe(exc)}") from exc
        try:
            key = {"ns": HOST_NS, "k": host_key(host)}
            if conn.execute(text("SELECT pg_try_advisory_lock(:ns, :k)"), key).scalar():  # free: the usual case
                return self._locked(host, conn)
            while True:  # busy: wait for it, a second at a time
                left = deadline - time.monotonic()
                step = max(1, int(min(left, STEP) * 1000))
                conn.execute(text("SELECT set_config('lock_timeout', :ms, false)"), {"ms": str(step)})
                try:
                    conn.execute(text("SELECT pg_advisory_lock(:ns, :k)"), key)
                    break
                except DBAPIError as exc:
                    if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available: try again
                        raise
                if self.stop.is_set() or time.monotonic() >= deadline:
                    conn.execute(text("SELECT set_config('lock_timeout', '0', false)"))
                    conn.close()
                    return False
        except SQLAlchemyError as exc:
            _drop(conn)
            raise StoreError(f"the pool's host gate for {host} on {self.where}: {describe(exc)}") from exc
        return self._locked(host, conn)

    def _locked(self, host: str, conn: Connection) -> bool:
        """With the lock held: note that a request starts, and read when the last one ended (a fresh snapshot)."""
        try:
            ago, unfinished = conn.execute(text(
                "WITH old AS (SELECT last_at, started_at FROM host_gate WHERE host = :h), "
                "mark AS (INSERT INTO host_gate (host, started_at) VALUES (:h, clock_timestamp()) "
                "ON CONFLICT (host) DO UPDATE SET started_at = EXCLUDED.started_at) "
                "SELECT EXTRACT(EPOCH FROM (clock_timestamp() - max(last_at)))::float, "
                "coalesce(bool_or(started_at > coalesce(last_at, '-infinity')), false) FROM old"), {"h": host}).one()
        except SQLAlchemyError as exc:
            _drop(conn)
            raise StoreError(f"the pool's host gate for {host} on {self.where}: {describe(exc)}") from exc
        with self._guard:
            self._held[host] = conn
            self._ago[host] = (None if ago is None else float(ago), bool(unfinished), time.monotonic())
        return True

    def pause(self, host: str, delay: float) -> float:
        """Seconds until `host` may be asked again: `delay` after the pool's last request to it ended.

        A request that started and never ended (its worker died mid-request, which let go of the lock) counts as
        ending just now: its real end is unknown but came before the lock was free.
        """
        self._conn(host)
        with self._guard:
            ago, unfinished, read = self._ago.get(host, (None, False, time.monotonic()))
        if unfinished:
            return max(0.0, delay - (time.monotonic() - read))
        return 0.0 if ago is None else max(0.0, delay - ago - (time.monotonic() - read))

    def done(self, host: str) -> None:
        """Note that a request to `host` just ended (never raises: a failure is logged)."""
        try:
            self._conn(host).execute(text("UPDATE host_gate SET last_at = clock_timestamp() WHERE host = :h"),
                                     {"h": host})
        except (SQLAlchemyError, StoreError) as exc:
            logger.warning("the pool's host gate could not record a request to %s: %s", host, exc)

    def unlock(self, host: str) -> None:
        """Release the lock of `host` (never raises: a lost connection has released it already)."""
        with self._guard:
            conn = self._held.pop(host, None)
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:ns, :k), set_config('lock_timeout', '0', false)"),
                         {"ns": HOST_NS, "k": host_key(host)})
            conn.close()
        except SQLAlchemyError:
            _drop(conn)

    def _conn(self, host: str) -> Connection:
        with self._guard:
            conn = self._held.get(host)
        if conn is None:
            raise StoreError(f"the pool's host gate: {host} is not locked by this thread")
        return conn


def _drop(conn: Connection) -> None:
    """Throw a broken connection away (its session, and any lock it held, is gone)."""
    try:
        conn.invalidate()
        conn.close()
    except SQLAlchemyError:
        pass
