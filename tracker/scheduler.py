"""When boards are due, and `tracker schedule`: an APScheduler 3 BlockingScheduler with one job per board."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING

from . import collect
from .alerts import dispatch
from .config import BoardSpec, ScheduleSettings, Settings, crontab
from .errors import TrackerError
from .models import BoardStatus
from .pipeline import Context, RunResult, run_all
from .store import Store
from .store.runstate import fetch_times, statuses

if TYPE_CHECKING:  # APScheduler is imported by `tracker schedule` only; `run --due` and `boards` use config.crontab
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.base import BaseTrigger

logger = logging.getLogger(__name__)


def trigger(spec: BoardSpec, sched: ScheduleSettings, jitter: float | None = None) -> BaseTrigger:
    """The board's trigger: `every` as an interval, else its cron `schedule`, else `[schedule] default`."""
    from apscheduler.triggers.interval import IntervalTrigger

    from .crontrigger import CrontabTrigger

    j = int(sched.jitter if jitter is None else jitter) or None
    if spec.every is not None:
        return IntervalTrigger(seconds=spec.every.total_seconds(), timezone=sched.timezone, jitter=j)
    return CrontabTrigger(spec.schedule or sched.default, sched.timezone, jitter=j)


def next_due(spec: BoardSpec, sched: ScheduleSettings, last_fetch: datetime | None, now: datetime, *,
             failed: bool = False, retry_failed: timedelta | None = None) -> datetime:
    """When the board is next due: now if never fetched, else the first scheduled time after its last fetch.

    With `retry_failed` ([fetch] retry_failed) and a last run that `failed`, it is due again that long after the
    failure when that comes before its next scheduled time.
    """
    if last_fetch is None:
        return now
    if spec.every is not None:
        regular = last_fetch + spec.every
    else:
        nxt = crontab.next_after(spec.schedule or sched.default, sched.timezone, last_fetch)
        regular = nxt if nxt is not None else now + timedelta(days=365)
    if failed and retry_failed is not None:
        return min(regular, last_fetch + retry_failed)
    return regular


def due_at(settings: Settings, store: Store, spec: BoardSpec, now: datetime) -> datetime:
    """When the board is next due by its schedule and last fetch attempt (sooner after a failure with retry_failed)."""
    retry = settings.fetch.retry_failed
    last = store.last_fetch_at(spec.id)
    failed = retry is not None and last is not None and store.consecutive_failures(spec.id) > 0
    return next_due(spec, settings.schedule, last, now, failed=failed, retry_failed=retry)


def plan(spec: BoardSpec, sched: ScheduleSettings) -> str:
    """The board's schedule in one string (a worker pool recomputes a board's due time when it changes)."""
    if spec.every is not None:
        return f"every {spec.every.total_seconds():g}s"
    return f"cron {spec.schedule or sched.default} {sched.timezone}"


def due(settings: Settings, store: Store, now: datetime | None = None) -> list[BoardSpec]:
    """The boards due now by their schedule and last fetch attempt (sooner after a failure with retry_failed)."""
    now = now or datetime.now(UTC)
    units = collect.jobs(settings.boards)  # each [[collection]] once, by its document's board
    retry = settings.fetch.retry_failed
    known = fetch_times(store, [spec.id for spec in units])  # one read for all of them, not two per board
    out = []
    for spec in units:
        last, failures = known.get(spec.id, (None, 0))
        if next_due(spec, settings.schedule, last, now, failed=retry is not None and failures > 0,
                    retry_failed=retry) <= now:
            out.append(spec)
    return out


def health(settings: Settings, store: Store, now: datetime | None = None) -> list[BoardStatus]:
    """Every board's status with its next due time."""
    now = now or datetime.now(UTC)
    out = []
    known = statuses(store, [(spec.id, spec.title, spec.url) for spec in settings.boards])  # a few statements
    for spec in settings.boards:
        st = known[spec.id]
        at = next_due(spec, settings.schedule, st.last_fetch_at, now, failed=st.consecutive_failures > 0,
                      retry_failed=settings.fetch.retry_failed)
        out.append(replace(st, next_due_at=at))
    return out


def run_due(settings: Settings, ctx: Context, now: datetime | None = None) -> list[RunResult]:
    """Run the boards that are due (for system cron: `tracker run --due`)."""
    return run_all(settings, ctx, specs=due(settings, ctx.store, now))


def serve(settings: Settings, ctx: Context, *, stop: threading.Event | None = None,
          install_signals: bool = True) -> None:
    """Run every board on its schedule until SIGINT/SIGTERM (or `stop`).

    A signal cancels the fetches in flight (the fetcher's cancel()), then waits for the jobs to record them;
    `stop` lets the fetch in progress finish first.
    """
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    sched = settings.schedule
    scheduler = BlockingScheduler(
        timezone=sched.timezone,
        executors={"default": ThreadPoolExecutor(settings.fetch.workers)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(sched.misfire_grace_time)})
    now = datetime.now(UTC)
    overdue = {s.id for s in due(settings, ctx.store, now)}
    units = collect.jobs(settings.boards)  # every [[board]], and each [[collection]] once
    for spec in units:
        kwargs = {"next_run_time": now} if spec.id in overdue else {}
        scheduler.add_job(_job, trigger(spec, sched), args=(settings, spec, ctx, scheduler), id=spec.id,
                          name=spec.id, **kwargs)
    logger.info("scheduling %d job(s); %d due now", len(units), len(overdue & {s.id for s in units}))
    if install_signals:
        def on_signal(signum: int, _frame: FrameType | None) -> None:
            logger.info("received %s: cancelling the fetches in progress, then stopping",
                        signal.Signals(signum).name)
            cancel = getattr(ctx.fetcher, "cancel", None)
            if callable(cancel):
                cancel()  # in-flight fetches abort at once (recorded as failed), so shutdown does not wait on them
            scheduler.shutdown(wait=True)
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    if stop is not None:
        threading.Thread(target=lambda: (stop.wait(), scheduler.shutdown(wait=True)), daemon=True).start()
    scheduler.start()
    logger.info("scheduler stopped")


def _job(settings: Settings, spec: BoardSpec, ctx: Context, scheduler: BlockingScheduler | None = None) -> None:
    results = collect.run_job(settings, spec, ctx)  # a [[board]], or a whole [[collection]]
    for result in results:
        (logger.warning if result.failed else logger.info)("%s", result.summary())
    retry = settings.fetch.retry_failed
    if any(r.failed for r in results) and retry is not None and scheduler is not None:
        _retry_soon(scheduler, spec.id, datetime.now(UTC) + retry)
    try:
        sent = dispatch(settings, ctx.store)
    except TrackerError as exc:
        logger.error("alerts: %s", exc)
        return
    if sent.summary():
        logger.info("%s", sent.summary())


def _retry_soon(scheduler: BlockingScheduler, job_id: str, at: datetime) -> None:
    """Move a board's next run up to `at` ([fetch] retry_failed) unless it is already due sooner."""
    try:
        job = scheduler.get_job(job_id)
        if job is not None and job.next_run_time is not None and job.next_run_time > at:
            job.modify(next_run_time=at)
            logger.info("%s: failed; trying again at %s UTC ([fetch] retry_failed)", job_id, f"{at:%H:%M:%S}")
    except Exception as exc:  # the scheduler is stopping: the regular schedule stands
        logger.debug("%s: could not schedule a retry: %s", job_id, exc)
