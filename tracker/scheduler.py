"""When boards are due, and `tracker schedule`: an APScheduler 3 BlockingScheduler with one job per board."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .alerts import dispatch
from .config import BoardSpec, ScheduleSettings, Settings
from .errors import TrackerError
from .models import BoardStatus
from .pipeline import Context, RunResult, run_all, run_source
from .store import Store

logger = logging.getLogger(__name__)


def trigger(spec: BoardSpec, sched: ScheduleSettings, jitter: float | None = None) -> BaseTrigger:
    """The board's trigger: `every` as an interval, else its cron `schedule`, else `[schedule] default`."""
    j = int(sched.jitter if jitter is None else jitter) or None
    if spec.every is not None:
        return IntervalTrigger(seconds=spec.every.total_seconds(), timezone=sched.timezone, jitter=j)
    t = CronTrigger.from_crontab(spec.schedule or sched.default, timezone=sched.timezone)
    t.jitter = j
    return t


def next_due(spec: BoardSpec, sched: ScheduleSettings, last_fetch: datetime | None, now: datetime) -> datetime:
    """When the board is next due: now if never fetched, else the first scheduled time after its last fetch."""
    if last_fetch is None:
        return now
    if spec.every is not None:
        return last_fetch + spec.every
    t = CronTrigger.from_crontab(spec.schedule or sched.default, timezone=sched.timezone)
    nxt = t.get_next_fire_time(None, last_fetch + timedelta(microseconds=1))
    return nxt.astimezone(UTC) if nxt is not None else now + timedelta(days=365)


def due(settings: Settings, store: Store, now: datetime | None = None) -> list[BoardSpec]:
    """The boards due now by their schedule and last fetch attempt."""
    now = now or datetime.now(UTC)
    out = []
    for spec in settings.boards:
        last = store.last_fetch_at(spec.id)
        if next_due(spec, settings.schedule, last, now) <= now:
            out.append(spec)
    return out


def health(settings: Settings, store: Store, now: datetime | None = None) -> list[BoardStatus]:
    """Every board's status with its next due time."""
    now = now or datetime.now(UTC)
    out = []
    for spec in settings.boards:
        st = store.status(spec.id, spec.title, spec.url)
        out.append(replace(st, next_due_at=next_due(spec, settings.schedule, st.last_fetch_at, now)))
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
    sched = settings.schedule
    scheduler = BlockingScheduler(
        timezone=sched.timezone,
        executors={"default": ThreadPoolExecutor(settings.fetch.workers)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(sched.misfire_grace_time)})
    now = datetime.now(UTC)
    overdue = {s.id for s in due(settings, ctx.store, now)}
    for spec in settings.boards:
        kwargs = {"next_run_time": now} if spec.id in overdue else {}
        scheduler.add_job(_job, trigger(spec, sched), args=(settings, spec, ctx), id=spec.id, name=spec.id,
                          **kwargs)
    logger.info("scheduling %d board(s); %d due now", len(settings.boards), len(overdue))
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


def _job(settings: Settings, spec: BoardSpec, ctx: Context) -> None:
    result = run_source(spec, ctx)
    log = logger.warning if result.failed else logger.info
    log("%s", result.summary())
    try:
        sent = dispatch(settings, ctx.store)
    except TrackerError as exc:
        logger.error("alerts: %s", exc)
        return
    if sent.summary():
        logger.info("%s", sent.summary())

