"""Worker: one member of a pool (`tracker schedule --workers`): claim due boards, run them, renew, repeat.

Each of its [fetch] workers threads runs a board through pipeline.run_source and gives it back, due again by its
schedule counted from the fetch it recorded, in the same transaction that claims its next one (the oldest due and
free board, FOR UPDATE SKIP LOCKED). Threads with nothing to do park; one poller sleeps until the next board of
the config can be claimed (at most a second) and hands them what it claims. A heartbeat thread renews the leases;
when the database has been unreachable for give_up_after(lease) the worker stops claiming, cancels its fetches and
exits non-zero, and its leases expire for the others. SIGTERM/SIGINT: stop claiming, cancel the fetches in
flight, give the unfinished boards back, exit 0.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from datetime import UTC, datetime
from types import FrameType

from .. import collect, scheduler
from ..alerts import dispatch
from ..config import Settings
from ..errors import StoreError, TrackerError
from ..fetch import HostGate, HttpFetcher
from ..pipeline import Context, RunResult
from ..store.leases import LeaseGuard
from ..store.pool import Pool, new_id, supported
from .guarded import guarded
from .heartbeat import Heartbeat, give_up_after
from .writer import job_id, register_jobs

logger = logging.getLogger(__name__)
ALERT_EVERY = 5.0  # seconds between two alert dispatches when no run produced events (retries come due)
DRAIN = 30.0  # seconds a stopping worker waits for its runs to end


def needs_postgres(url: str) -> TrackerError:
    """The one-line error for `tracker schedule --workers` on a store that cannot hold a pool."""
    return TrackerError(f"tracker schedule --workers needs PostgreSQL, and {url} is not: workers on several machines "
                        f"share one database, and an SQLite file lives on one machine with one writer at a time; "
                        f"set [storage] url = \"postgresql+psycopg://...\", or run `tracker schedule` without "
                        f"--workers")


class Worker:
    """One pool member; serve() runs until stopped (returns) or until it lost the database (StoreError)."""

    def __init__(self, settings: Settings, ctx: Context, name: str | None = None) -> None:
        self.settings, self.ctx = settings, ctx
        self.id = name or new_id()
        self.ttl = settings.schedule.lease.total_seconds()
        self.specs = {job_id(s): s for s in collect.jobs(settings.boards)}  # a collection is one job
        self.stop = threading.Event()
        self.alerts_due = threading.Event()
        self.running = 0  # threads running a board
        self.parked = 0  # threads waiting for the poller to hand them a board
        self._count = threading.Lock()
        self.jobs: queue.Queue[str] = queue.Queue()
        self.kick = threading.Event()

    def serve(self, *, install_signals: bool = True) -> None:
        """Register, then claim and run boards until a signal (or halt()); StoreError when the database is lost."""
        store = self.ctx.store
        if not supported(store):
            raise needs_postgres(store.safe_url)
        n = self.settings.fetch.workers
        with store.lock(self.settings.lock_wait, f"tracker schedule --workers ({self.id})"):
            pool = Pool(store, self.id, connections=2 * n + 2)
            try:
                pool.register(self.id)
            except StoreError:
                pool.close()
                raise
        try:
            register_jobs(pool, self.settings, self.specs, self.ctx)
            if isinstance(self.ctx.fetcher, HttpFetcher):  # politeness across the pool, not only this process
                self.ctx.fetcher.gate = HostGate(self.settings.fetch.per_host_delay, shared=pool.hosts)
            guard = LeaseGuard(self.id, self.ttl, pool.where)
            beat = Heartbeat(pool, guard, self.id, self.ttl)
            if install_signals:
                self._signals()
            logger.info("worker %s: %d job(s), %d thread(s), lease %gs", self.id, len(self.specs), n, self.ttl)
            with guarded(store, guard, self.id):
                beat.start()
                threads = [threading.Thread(target=self._runner, args=(pool, guard, beat), name=f"board-{i}",
                                            daemon=True) for i in range(n)]
                threads.append(threading.Thread(target=self._alerts, name="alerts", daemon=True))
                for th in threads:
                    th.start()
                lost = True
                try:
                    self._watch(pool, guard, beat)
                    lost = False
                finally:
                    self._drain(pool, beat, 5.0 if lost else DRAIN)
        finally:
            pool.close()

    def _signals(self) -> None:
        def on_signal(signum: int, _frame: FrameType | None) -> None:
            logger.info("worker %s: received %s: stopping", self.id, signal.Signals(signum).name)
            self.halt()
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def halt(self) -> None:
        """Stop: no more claims, the fetches in flight are cancelled (recorded as nothing), serve() returns."""
        self.stop.set()
        self.kick.set()
        cancel = getattr(self.ctx.fetcher, "cancel", None)
        if callable(cancel):
            cancel()

    def _watch(self, pool: Pool, guard: LeaseGuard, beat: Heartbeat) -> None:
        """The poller: claims due boards for parked threads, sleeping until one can be claimed (at most a second).

        Raises StoreError once the heartbeat has failed for give_up_after(lease).
        """
        give_up = give_up_after(self.ttl)
        ids = list(self.specs)
        while not self.stop.is_set():
            if beat.failing_for() > give_up:
                raise StoreError(f"worker {self.id} lost the database {pool.where} (no heartbeat for "
                                 f"{beat.failing_for():.1f}s: {beat.error or 'no answer'}); it stopped claiming "
                                 f"boards, and its leases expire within [schedule] lease ({self.ttl:g}s) for the "
                                 f"other workers; start it again once the database is reachable")
            wait = 1.0
            with self._count:
                idle = self.parked - self.jobs.qsize()
            if idle > 0 and beat.healthy():
                try:
                    got, left = pool.leases.claim(self.id, ids, idle, self.ttl)
                except StoreError as exc:
                    logger.warning("worker %s: %s", self.id, exc)
                    got, left = [], 0.5
                guard.add(got)
                for job in got:
                    self.jobs.put(job)
                wait = 1.0 if left is None else min(max(left, 0.01), 1.0)
            self.kick.wait(min(wait, 0.25) if not beat.healthy() else wait)
            self.kick.clear()

    def _runner(self, pool: Pool, guard: LeaseGuard, beat: Heartbeat) -> None:
        """One thread: after a run, give the board back and claim the next due one in one transaction; with
        nothing due, park until the poller hands it one."""
        done: tuple[str, datetime | None] | None = None
        ids = list(self.specs)
        while not self.stop.is_set():
            job: str | None = None
            if done is not None and beat.healthy():
                try:
                    got, _ = pool.leases.claim(self.id, ids, 1, self.ttl, release=done)
                    done = None
                    guard.add(got)
                    job = got[0] if got else None
                except StoreError as exc:
                    logger.warning("worker %s: %s", self.id, exc)
            if job is None:
                job = self._park()
            if job is not None:
                if done is not None:  # the heartbeat is failing: give the last one back on its own
                    self._release(pool, done)
                    done = None
                done = self._run(guard, job)
        if done is not None:
            self._release(pool, done)

    def _park(self) -> str | None:
        with self._count:
            self.parked += 1
        self.kick.set()
        try:
            return self.jobs.get(timeout=5.0)
        except queue.Empty:
            return None
        finally:
            with self._count:
                self.parked -= 1

    def _release(self, pool: Pool, done: tuple[str, datetime | None]) -> None:
        try:
            pool.leases.release(self.id, *done)
        except StoreError as exc:
            logger.warning("worker %s: %s (the lease expires by itself)", self.id, exc)

    def _run(self, guard: LeaseGuard, job: str) -> tuple[str, datetime | None]:
        """Run one board; (job, when it is next due) for giving it back."""
        spec = self.specs[job]
        started = datetime.now(UTC)
        with self._count:
            self.running += 1
        guard.local.job = job
        try:
            results = collect.run_job(self.settings, spec, self.ctx)  # a [[board]], or a whole [[collection]]
            result: RunResult | None = next((r for r in results if r.failed), results[0]) if results else None
            if any(r.events for r in results):
                self.alerts_due.set()
        except Exception:  # a bug costs this run: the board is due again by its schedule
            logger.exception("worker %s: running %s failed", self.id, job)
            result = None
        finally:
            guard.local.job = None
            guard.drop(job)  # before it is given back, so a heartbeat in between does not call it lost
            with self._count:
                self.running -= 1
        if result is not None:
            (logger.warning if result.failed else logger.info)("%s", result.summary())
        if self.stop.is_set() and (result is None or result.failed):  # cancelled: nothing recorded, due as it was
            return job, None
        try:  # counted from the fetch it recorded, as `tracker run --due` and `tracker boards` count
            last = self.ctx.store.last_fetch_at(spec.id) or started
        except StoreError:
            last = started
        return job, scheduler.next_due(spec, self.settings.schedule, max(last, started), started,
                                       failed=result is None or result.failed,
                                       retry_failed=self.settings.fetch.retry_failed)

    def _alerts(self) -> None:
        while not self.stop.is_set():
            self.alerts_due.wait(ALERT_EVERY)
            self.alerts_due.clear()
            if self.stop.is_set():
                return
            try:
                sent = dispatch(self.settings, self.ctx.store)
            except TrackerError as exc:
                logger.error("alerts: %s", exc)
                continue
            if sent.summary():
                logger.info("%s", sent.summary())

    def _drain(self, pool: Pool, beat: Heartbeat, wait: float) -> None:
        self.halt()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with self._count:
                if not self.running:
                    break
            time.sleep(0.05)
        time.sleep(0.1)  # the threads give back what they ran
        while not self.jobs.empty():  # claimed for a thread that stopped first: due as it was
            self._release(pool, (self.jobs.get_nowait(), None))
        beat.stop()
        try:
            pool.stopped(self.id)
        except StoreError as exc:
            logger.warning("worker %s: %s", self.id, exc)
        logger.info("worker %s stopped", self.id)


def serve(settings: Settings, ctx: Context, *, name: str | None = None, install_signals: bool = True) -> None:
    """`tracker schedule --workers`: join the store's worker pool until SIGINT/SIGTERM."""
    Worker(settings, ctx, name).serve(install_signals=install_signals)
