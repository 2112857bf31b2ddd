"""Leases on jobs in a worker pool's PostgreSQL: claimed with FOR UPDATE SKIP LOCKED, held until they expire.

A job is a string: a board id today ("collection:<id>" for a whole collection later). Its row in `lease` says who
holds it until when (`holder`, `expires_at`) and when it is next due (`due_at`). Every time is the database's
clock, so the machines of a pool need not agree on the time. A holder that dies simply stops renewing: its leases
expire and the job is claimable again. LeaseGuard refuses a write once this process can no longer be sure that
its leases are valid (StoreError), so a worker cut off from the database never writes a board another has taken.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from ..errors import StoreError
from .dberror import describe
from .lock import HeldLock

if TYPE_CHECKING:
    from .core import Store

logger = logging.getLogger(__name__)
T = TypeVar("T")
FREE = "(holder IS NULL OR expires_at < now())"


class Leases:
    """The `lease` table of one store: register, claim, take, renew and release jobs."""

    def __init__(self, engine: Engine, where: str) -> None:
        self.engine = engine
        self.where = where

    def _tx(self, what: str, fn: Callable[[Connection], T]) -> T:
        try:
            with self.engine.begin() as conn:
                return fn(conn)
        except SQLAlchemyError as exc:
            raise StoreError(f"{what} on {self.where}: {describe(exc)}") from exc

    def register(self, jobs: Mapping[str, tuple[datetime, str]]) -> None:
        """Add jobs not yet known, due at the given time; a job whose plan (schedule) changed is due anew."""
        if not jobs:
            return
        rows = [{"j": j, "d": due, "p": plan} for j, (due, plan) in sorted(jobs.items())]
        self._tx("registering jobs", lambda c: c.execute(text(
            "INSERT INTO lease (job, due_at, plan) VALUES (:j, :d, :p) ON CONFLICT (job) DO UPDATE "
            "SET due_at = EXCLUDED.due_at, plan = EXCLUDED.plan "
            "WHERE lease.plan IS DISTINCT FROM EXCLUDED.plan AND (lease.holder IS NULL OR lease.expires_at < now())"),
            rows))

    def claim(self, holder: str, jobs: Sequence[str], limit: int, ttl: float, *,
              release: tuple[str, datetime | None] | None = None) -> tuple[list[str], float | None]:
        """Claim up to `limit` of these jobs that are due and free, oldest due first, skipping rows others hold.

        `release` = (job, next due) gives one back in the same transaction (a worker thread's last run). Returns
        the jobs claimed and, when fewer than `limit`, the seconds until another can be (None: no need to know).
        """
        def fn(c: Connection) -> tuple[list[str], float | None]:
            if release is not None:
                self._release(c, holder, *release)
            if limit <= 0 or not jobs:
                return [], None
            got = list(c.execute(text(
                f"WITH c AS (SELECT job FROM lease WHERE job = ANY(:jobs) AND due_at <= now() AND {FREE} "
                "ORDER BY due_at LIMIT :n FOR UPDATE SKIP LOCKED) "
                "UPDATE lease l SET holder = :h, claimed_at = now(), expires_at = now() + make_interval(secs => :ttl) "
                "FROM c WHERE l.job = c.job RETURNING l.job"),
                {"jobs": list(jobs), "n": limit, "h": holder, "ttl": ttl}).scalars())
            if len(got) == limit:
                return got, None
            return got, c.execute(text(
                "SELECT EXTRACT(EPOCH FROM (min(CASE WHEN holder IS NULL OR expires_at < now() THEN due_at "
                "ELSE GREATEST(due_at, expires_at) END) - now()))::float FROM lease WHERE job = ANY(:jobs) "
                "AND holder IS DISTINCT FROM :h"), {"jobs": list(jobs), "h": holder}).scalar()
        return self._tx("claiming jobs", fn)

    def take(self, holder: str, jobs: Sequence[str], ttl: float) -> dict[str, str | None]:
        """Take these jobs whether due or not, unless another holds them: job -> None (taken) or its holder."""
        def fn(c: Connection) -> dict[str, str | None]:
            got = set(c.execute(text(
                f"UPDATE lease SET holder = :h, claimed_at = now(), expires_at = now() + make_interval(secs => :ttl) "
                f"WHERE job IN (SELECT job FROM lease WHERE job = ANY(:jobs) ORDER BY job FOR UPDATE) "
                f"AND ({FREE} OR holder = :h) RETURNING job"),
                {"h": holder, "jobs": list(jobs), "ttl": ttl}).scalars())
            others: dict[str, object] = dict(c.execute(text("SELECT job, holder FROM lease WHERE job = ANY(:jobs)"),
                                    {"jobs": [j for j in jobs if j not in got]}).all())
            return {j: None if j in got else str(others.get(j) or "another tracker process") for j in jobs}
        return self._tx("taking leases", fn)

    def renew(self, conn: Connection, holder: str, ttl: float) -> set[str]:
        """Extend every lease `holder` still holds (on the caller's connection); returns those jobs."""
        return set(conn.execute(text(  # rows locked in job order, as take() locks them: no deadlock between them
            "UPDATE lease SET expires_at = now() + make_interval(secs => :ttl) WHERE job IN (SELECT job FROM lease "
            "WHERE holder = :h ORDER BY job FOR UPDATE) AND holder = :h RETURNING job"),
            {"h": holder, "ttl": ttl}).scalars())

    def release(self, holder: str, job: str, due_at: datetime | None = None) -> bool:
        """Give a job back, next due at `due_at` (or as it was); False when the lease was no longer ours."""
        return self._tx(f"releasing {job}", lambda c: self._release(c, holder, job, due_at))

    @staticmethod
    def _release(c: Connection, holder: str, job: str, due_at: datetime | None) -> bool:
        mine = c.execute(text(
            "UPDATE lease SET holder = NULL, expires_at = NULL, due_at = COALESCE(:d, due_at) "
            "WHERE job = :j AND holder = :h RETURNING job"), {"d": due_at, "j": job, "h": holder}).first()
        if mine is None:
            logger.warning("%s: the lease on %s had been lost before it was given back", holder, job)
        return mine is not None

    def release_all(self, holder: str) -> None:
        """Give back every job `holder` holds, due as they were (a stopping worker's unfinished jobs)."""
        self._tx("releasing jobs", lambda c: c.execute(text(
            "UPDATE lease SET holder = NULL, expires_at = NULL WHERE holder = :h"), {"h": holder}))

    def running(self) -> dict[str, int]:
        """How many unexpired leases each holder has."""
        return self._tx("reading leases", lambda c: {str(h): int(n) for h, n in c.execute(text(
            "SELECT holder, count(*) FROM lease WHERE holder IS NOT NULL AND expires_at >= now() GROUP BY holder"))})


class LeaseGuard(HeldLock):
    """A holder's leases as this process knows them; check() (before every write) refuses once they may be gone.

    The leases are trusted until `margin` of the ttl before they could have expired, counted from just before the
    last renewal that succeeded (the database sets expiry later than that, so this errs on the safe side).
    """

    def __init__(self, holder: str, ttl: float, where: str) -> None:
        self.holder = holder
        self.ttl = ttl
        self.where = where
        self.held: set[str] = set()
        self.local = threading.local()
        self.lost: str | None = None
        self._guard = threading.Lock()
        self._valid_until = time.monotonic() + 0.75 * ttl

    def add(self, jobs: Iterable[str]) -> None:
        """Jobs just claimed or taken (after the guard was made, so they expire after its deadline)."""
        with self._guard:
            self.held.update(jobs)

    def renewed(self, since: float, before: set[str], still: set[str]) -> None:
        """A renewal that started at `since` (monotonic) found `still` of the jobs held `before` it."""
        with self._guard:
            gone = (before - still) & self.held  # not those given back meanwhile
            self.held -= gone
            self._valid_until = since + 0.75 * self.ttl
        for job in sorted(gone):
            logger.warning("%s: lost the lease on %s (it expired and another holder took it)", self.holder, job)

    def drop(self, job: str) -> None:
        """A job released."""
        with self._guard:
            self.held.discard(job)

    def snapshot(self) -> set[str]:
        """The jobs held now."""
        with self._guard:
            return set(self.held)

    def lose(self, reason: str) -> None:
        """Refuse every later write: the database cannot be reached to renew the leases."""
        with self._guard:
            self.lost = reason

    def valid_for(self) -> float:
        """Seconds the leases can still be trusted."""
        with self._guard:
            return self._valid_until - time.monotonic()

    def check(self) -> None:
        """Raise StoreError unless this thread's job (or, outside a job, every lease) is surely still ours."""
        job = getattr(self.local, "job", None)
        with self._guard:
            lost, left, mine = self.lost, self._valid_until - time.monotonic(), job is None or job in self.held
        if lost:
            raise StoreError(f"{self.holder}: not writing to {self.where}: {lost}")
        if left <= 0:
            raise StoreError(f"{self.holder}: not writing to {self.where}: the leases could not be renewed in time "
                             f"(lease = {self.ttl:g}s); another worker may have taken the boards")
        if not mine:
            raise StoreError(f"{self.holder}: not writing {job} to {self.where}: its lease was lost to another holder")


@contextmanager
def install(store: Store, guard: LeaseGuard) -> Iterator[None]:
    """Make `store` check `guard` before every write (where the store-wide lock is checked otherwise)."""
    if store._held is not None:
        raise StoreError(f"{guard.holder}: {store.safe_url} is already held by the store-wide lock")
    store._held = guard
    try:
        yield
    finally:
        store._held = None
