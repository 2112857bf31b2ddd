"""The right to write boards, for `tracker run`, `import`, `backfill` and `schedule --once`.

Outside a worker pool that is the store-wide writer lock, as always. In a pool store (see tracker.store.pool) it
is the boards' leases, the same ones the workers claim: so a command never runs a board a worker is running, and
the workers never run a board while the command does. The decision is taken under the store-wide lock, the same
lock under which a worker registers, so a store cannot become a pool store half-way through a command.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .. import collect, scheduler
from ..config import BoardSpec, Settings
from ..errors import LockedError
from ..fetch import HostGate, HttpFetcher
from ..pipeline import Context
from ..store.leases import LeaseGuard
from ..store.pool import Pool, is_pool
from .guarded import guarded
from .heartbeat import Heartbeat

logger = logging.getLogger(__name__)


@dataclass
class Writing:
    """What a command may write: `specs` (all it asked for outside a pool), and in a pool the boards others held."""

    specs: list[BoardSpec]
    pooled: bool = False
    holder: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # board -> the worker or process running it


def holder_name(what: str) -> str:
    """How a command appears as a lease holder and on its fetch rows: `tracker run@host:pid`."""
    return f"{what}@{socket.gethostname()[:40]}:{os.getpid()}"[:100]


def job_id(spec: BoardSpec) -> str:
    """The lease a board is run under: its id, or for a board of a [[collection]] the whole collection's,
    `collection:<id>` (one document, fetched once, makes all its boards)."""
    return f"collection:{spec.collection}" if spec.collection is not None else spec.id


def jobs_of(settings: Settings, specs: Sequence[BoardSpec]) -> dict[str, BoardSpec]:
    """The jobs that cover these boards, each with the spec its due time is counted from (a collection's is its
    document's)."""
    units = {job_id(s): s for s in collect.jobs(settings.boards)}
    return {job: units.get(job, s) for s in specs for job in [job_id(s)]}


def register_jobs(pool: Pool, settings: Settings, jobs: Mapping[str, BoardSpec], ctx: Context) -> None:
    """Make sure every job has its lease row, due by its schedule and fetch history (a changed schedule too)."""
    now = datetime.now(UTC)
    pool.leases.register({j: (scheduler.due_at(settings, ctx.store, s, now), scheduler.plan(s, settings.schedule))
                          for j, s in jobs.items()})


@contextmanager
def writing(settings: Settings, ctx: Context, what: str, specs: Sequence[BoardSpec], *, due_only: bool = False,
            reschedule: bool = True) -> Iterator[Writing]:
    """Hold the right to write `specs` for the block (see the module docstring).

    In a pool store: with `due_only` only the boards due and free are taken (as a worker claims them); otherwise
    each board is waited for up to [storage] lock_wait, and those still held are left in `skipped`. With
    `reschedule`, a board run here is next due by its schedule from this run (as if a worker had run it).
    """
    store = ctx.store
    with ExitStack() as stack:
        stack.enter_context(store.lock(settings.lock_wait, what))
        if not is_pool(store):
            yield Writing(list(specs) if not due_only else scheduler.due(settings, store))
            return
        stack.close()  # a pool store: leases instead of the store-wide lock
    with _leased(settings, ctx, what, specs, due_only, reschedule) as w:
        yield w


@contextmanager
def _leased(settings: Settings, ctx: Context, what: str, specs: Sequence[BoardSpec], due_only: bool,
            reschedule: bool) -> Iterator[Writing]:
    holder = holder_name(what)
    ttl = settings.schedule.lease.total_seconds()
    pool = Pool(ctx.store, holder, connections=settings.fetch.workers + 2)
    gate = ctx.fetcher.gate if isinstance(ctx.fetcher, HttpFetcher) else None
    try:
        if isinstance(ctx.fetcher, HttpFetcher):  # polite to hosts along with the pool's workers
            ctx.fetcher.gate = HostGate(settings.fetch.per_host_delay, shared=pool.hosts)
        jobs = jobs_of(settings, specs)
        register_jobs(pool, settings, jobs, ctx)
        guard = LeaseGuard(holder, ttl, pool.where)
        beat = Heartbeat(pool, guard, holder, ttl)
        beat.start()  # before taking: what is taken first stays held while the rest is waited for
        taken: set[str] = set()
        try:
            taken, others = _take(pool, holder, sorted(jobs), ttl, 0.0 if due_only else settings.lock_wait, due_only)
            guard.add(taken)
            skipped = {s.id: others[job_id(s)] for s in specs if job_id(s) in others}
            with guarded(ctx.store, guard, holder):
                yield Writing([s for s in specs if job_id(s) in taken], True, holder, skipped)
        finally:
            beat.stop()
            now = datetime.now(UTC)
            for job in sorted(taken):
                due = scheduler.due_at(settings, ctx.store, jobs[job], now) if reschedule else None
                pool.leases.release(holder, job, due)  # a lease lost meanwhile is logged there
    finally:
        if gate is not None and isinstance(ctx.fetcher, HttpFetcher):
            ctx.fetcher.gate = gate
        pool.close()


def _take(pool: Pool, holder: str, ids: list[str], ttl: float, wait: float,
          due_only: bool) -> tuple[set[str], dict[str, str]]:
    if due_only:
        return set(pool.leases.claim(holder, ids, len(ids), ttl)[0]), {}
    deadline = time.monotonic() + wait
    taken: set[str] = set()
    while True:
        got = pool.leases.take(holder, [i for i in ids if i not in taken], ttl)
        taken.update(j for j, other in got.items() if other is None)
        others = {j: other for j, other in got.items() if other is not None}
        if not others or time.monotonic() >= deadline:
            return taken, others
        time.sleep(min(0.2, max(deadline - time.monotonic(), 0.01)))


def refuse_if_skipped(w: Writing, what: str, wait: float) -> None:
    """For a command on one board (import, backfill): LockedError (exit 75) when a worker is running it."""
    for board, other in w.skipped.items():
        raise LockedError(f"{other} is running board {board} (waited {wait:g}s); {what} did nothing; try again "
                          f"later, or raise [storage] lock_wait")
