"""An APScheduler trigger that fires when a crontab(5) line would, by config.crontab (one cron reading everywhere:
`tracker schedule`, `tracker run --due`, `tracker boards` and the worker pool agree on every expression)."""

from __future__ import annotations

from datetime import datetime, timedelta

from apscheduler.triggers.base import BaseTrigger

from .config import crontab


class CrontabTrigger(BaseTrigger):  # type: ignore[misc]
    """Fire at the times of a five-field cron expression in `timezone`, each moved by up to `jitter` seconds."""

    def __init__(self, expr: str, timezone: str, jitter: int | None = None) -> None:
        self.expr = expr
        self.timezone = timezone
        self.jitter = jitter

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        start = now
        if previous_fire_time is not None:  # as APScheduler's CronTrigger: never the same time twice in a row
            start = min(now, previous_fire_time + timedelta(microseconds=1))
            if start == previous_fire_time:
                start += timedelta(microseconds=1)
        nxt = crontab.first_from(self.expr, self.timezone, start)
        return None if nxt is None else self._apply_jitter(nxt, self.jitter, now)

    def __str__(self) -> str:
        return f"cron[{self.expr!r} {self.timezone}]"
