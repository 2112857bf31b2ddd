"""Cron expressions as crontab(5) reads them, computed with cronsim.

Day-of-week 0 and 7 are Sunday and 1 is Monday; when both day fields are restricted, a day matching either fires
(Debian cron's rule). cronsim (healthchecks.io's cron evaluator: small, pure Python, no dependencies) imports in a
few milliseconds, where APScheduler's CronTrigger cost ~150 ms at every start and counted weekdays from Monday
(its `from_crontab("0 5 * * 1")` fired on Tuesdays).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

FIELDS = 5  # minute hour day-of-month month day-of-week


def check(expr: str) -> None:
    """ValueError naming what is wrong unless `expr` is a five-field cron expression."""
    n = len(expr.split())
    if n != FIELDS:
        raise ValueError(f"{n} field{'s' if n != 1 else ''} instead of {FIELDS}")
    try:
        CronSim(expr, datetime(2025, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise ValueError(str(exc) or "not understood") from None


def first_from(expr: str, tz: str, start: datetime) -> datetime | None:
    """The first fire time at or after `start` (aware), in UTC; None if the expression never fires again."""
    # CronSim yields times strictly after its start, to the second: begin just before `start`. The step back is
    # taken in UTC and only then turned into local time, which marks the second pass through an hour that the
    # end of summer time repeats (fold=1); local arithmetic would reset the fold and go back an hour, so in that
    # hour `run --due` found every board due again and APScheduler's trigger never got past it
    utc = start.astimezone(UTC)
    utc = utc.replace(microsecond=0) - (timedelta(seconds=1) if utc.microsecond == 0 else timedelta(0))
    base = utc.astimezone(ZoneInfo(tz))
    try:
        times = CronSim(expr, base)
        for _ in range(_TRIES):  # a time the repeated hour holds twice ("30 2 * * *") fires once, at its first
            fire = next(times).astimezone(UTC)  # pass; from inside the second one cronsim may answer that one
            if fire >= start:
                return fire
    except (StopIteration, CronSimError):
        pass
    return None


_TRIES = 100


def next_after(expr: str, tz: str, after: datetime) -> datetime | None:
    """The first fire time strictly after `after` (aware), in UTC."""
    return first_from(expr, tz, after + timedelta(microseconds=1))


def shortest_gap(expr: str, tz: str) -> timedelta:
    """The shortest gap between two fire times over the next few firings from 2025-01-01 (a day if it never
    fires twice)."""
    times = CronSim(expr, datetime(2025, 1, 1, tzinfo=ZoneInfo(tz)))
    fires = []
    for _ in range(9):
        try:
            fires.append(next(times))
        except (StopIteration, CronSimError):
            break
    gaps = [b - a for a, b in pairwise(fires)]
    return min(gaps) if gaps else timedelta(days=1)
