"""A worker pool on one PostgreSQL: worker rows and heartbeats, the pool's own connections, and what the pool did.

A store is a *pool store* once a worker has registered in it (a row in `worker`, kept after the worker stops).
From then on `tracker run`, `import` and `backfill` take board leases instead of the store-wide lock. Workers
register under the store-wide lock, and single-writer commands decide under it too, so the switch cannot race.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from ..errors import StoreError
from .core import Store
from .dberror import describe
from .hostgate import PgHosts
from .leases import Leases
from .schema import FetchRow


@dataclass(frozen=True)
class WorkerInfo:
    """One row of `tracker workers`."""

    id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    heartbeat_age: float  # seconds, by the database's clock
    running: int  # boards it holds now
    runs: int  # fetches it recorded
    failures: int  # of which failed


def new_id() -> str:
    """A worker id: host, pid and a random suffix (pids repeat across machines and restarts)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def supported(store: Store) -> bool:
    """Whether this store can hold a worker pool (PostgreSQL only)."""
    return store.engine.dialect.name == "postgresql"


def url_supported(url: str) -> tuple[bool, str]:
    """Whether a database URL can hold a worker pool, without opening it; and the URL with its password masked."""
    try:
        parsed = make_url(url)
    except (SQLAlchemyError, ValueError):
        return False, url.split("@")[-1]
    return parsed.get_backend_name() == "postgresql", parsed.render_as_string(hide_password=True)


def is_pool(store: Store) -> bool:
    """Whether a worker ever registered in this store (always False on SQLite)."""
    if not supported(store):
        return False
    try:
        with store.engine.connect() as conn:
            return bool(conn.execute(text("SELECT EXISTS (SELECT 1 FROM worker)")).scalar())
    except SQLAlchemyError as exc:
        raise StoreError(f"reading the worker pool of {store.safe_url}: {describe(exc)}") from exc


def last_workers(store: Store, boards: Sequence[str]) -> dict[str, str]:
    """Which worker (or leased run) made each board's latest fetch, for boards that have one."""
    if not boards:
        return {}
    try:
        with store.engine.connect() as conn:
            last = (select(func.max(FetchRow.id)).where(FetchRow.worker.is_not(None))
                    .group_by(FetchRow.board_id).scalar_subquery())
            rows = conn.execute(select(FetchRow.board_id, FetchRow.worker).where(FetchRow.id.in_(last))).all()
    except SQLAlchemyError as exc:
        raise StoreError(f"reading fetches of {store.safe_url}: {describe(exc)}") from exc
    wanted = set(boards)
    return {str(b): str(w) for b, w in rows if b in wanted}


class Pool:
    """The pool's side of a store: its own small connection pool (so heartbeats never queue behind board runs),
    the leases, the shared host gate and the worker rows."""

    def __init__(self, store: Store, name: str, connections: int = 4) -> None:
        if not supported(store):
            raise StoreError(f"worker pools need PostgreSQL; {store.safe_url} is {store.engine.dialect.name}")
        self.where = store.safe_url
        self.name = name
        args: dict[str, Any] = {"application_name": name[:60], "connect_timeout": 5, "keepalives": 1,
                                "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}
        try:
            self.engine: Engine = create_engine(store.url, pool_size=connections, max_overflow=4,
                                                pool_timeout=10, connect_args=args)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open {self.where} for the worker pool: {describe(exc)}") from exc
        self.leases = Leases(self.engine, self.where)
        self.hosts = PgHosts(self.engine, self.where)

    def close(self) -> None:
        """Release the pool's connections."""
        self.hosts.stop.set()
        self.engine.dispose()

    def register(self, worker: str) -> None:
        """Add this worker's row (call under the store-wide lock: from now on the store is a pool store)."""
        host, pid = socket.gethostname()[:255], os.getpid()
        try:
            with self.engine.begin() as conn:
                conn.execute(text("INSERT INTO worker (id, host, pid, started_at, heartbeat_at) "
                                  "VALUES (:i, :h, :p, now(), now())"), {"i": worker, "h": host, "p": pid})
        except SQLAlchemyError as exc:
            raise StoreError(f"registering worker {worker} in {self.where}: {describe(exc)}") from exc

    def heartbeat(self, worker: str, ttl: float) -> tuple[float, set[str]]:
        """Show the worker is alive and extend its leases, in one transaction; (monotonic start, jobs held)."""
        started = time.monotonic()
        try:
            with self.engine.begin() as conn:
                conn.execute(text("UPDATE worker SET heartbeat_at = now() WHERE id = :i"), {"i": worker})
                return started, self.leases.renew(conn, worker, ttl)
        except SQLAlchemyError as exc:
            raise StoreError(describe(exc)) from exc

    def stopped(self, worker: str) -> None:
        """Mark the worker stopped and give back whatever it still holds."""
        self.leases.release_all(worker)
        try:
            with self.engine.begin() as conn:
                conn.execute(text("UPDATE worker SET stopped_at = now(), heartbeat_at = now() WHERE id = :i"),
                             {"i": worker})
        except SQLAlchemyError as exc:
            raise StoreError(f"marking worker {worker} stopped in {self.where}: {describe(exc)}") from exc


def workers(store: Store) -> list[WorkerInfo]:
    """Every worker that ever registered in the store, newest first, with its running leases."""
    if not supported(store):
        return []
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT w.id, w.host, w.pid, w.started_at, w.heartbeat_at, w.stopped_at, "
                "EXTRACT(EPOCH FROM (now() - w.heartbeat_at))::float, "
                "(SELECT count(*) FROM lease l WHERE l.holder = w.id AND l.expires_at >= now()), "
                "(SELECT count(*) FROM \"fetch\" f WHERE f.worker = w.id), "
                "(SELECT count(*) FROM \"fetch\" f WHERE f.worker = w.id AND f.status = 'failed') "
                "FROM worker w ORDER BY w.started_at DESC, w.id")).all()
    except SQLAlchemyError as exc:
        raise StoreError(f"reading the workers of {store.safe_url}: {describe(exc)}") from exc
    return [WorkerInfo(str(r[0]), str(r[1]), int(r[2]), r[3], r[4], r[5], float(r[6]), int(r[7]), int(r[8]),
                       int(r[9])) for r in rows]
