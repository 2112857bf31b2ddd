"""Cron expressions read as crontab(5) does, the same in `run --due`, `tracker boards` and `tracker schedule`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from tracker import config, scheduler
from tracker.config import crontab
from tracker.errors import ConfigError
from tracker.store import FetchInfo, Store

SUNDAY = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # a Sunday


def load(schedule: str, tz: str = "UTC") -> config.Settings:
    return config.parse({"schedule": {"timezone": tz, "jitter": 0},
                         "board": [{"id": "b", "url": "http://127.0.0.1/x.csv", "format": "csv", "metric": "score",
                                    "schedule": schedule, "fields": {"model": "Model", "score": "Score"}}]},
                        base=Path("/"))


@pytest.mark.parametrize(("expr", "expected"), [
    ("0 5 * * 1", datetime(2026, 11, 23, 5, 0, tzinfo=UTC)),  # 1 is Monday (APScheduler 3's from_crontab: Tuesday)
    ("0 5 * * 0", datetime(2026, 11, 29, 5, 0, tzinfo=UTC)),  # 0 is Sunday ...
    ("0 5 * * 7", datetime(2026, 11, 29, 5, 0, tzinfo=UTC)),  # ... and so is 7
    ("0 5 * * MON", datetime(2026, 11, 23, 5, 0, tzinfo=UTC)),
    ("0 0 13 * 5", datetime(2026, 11, 27, 0, 0, tzinfo=UTC)),  # both day fields set: the 13th OR a Friday
    ("*/20 * * * *", datetime(2026, 11, 22, 12, 20, tzinfo=UTC)),  # strictly after the last fetch
])
def test_next_due_reads_cron_as_crontab_does(expr: str, expected: datetime) -> None:
    s = load(expr)
    assert scheduler.next_due(s.boards[0], s.schedule, SUNDAY, SUNDAY) == expected
    # the service's trigger fires at the same time (jitter 0)
    trig = scheduler.trigger(s.boards[0], s.schedule, jitter=0)
    assert trig.get_next_fire_time(SUNDAY, SUNDAY + timedelta(microseconds=1)) == expected


def test_trigger_fires_at_now_when_now_is_a_fire_time() -> None:
    s = load("0 12 * * *")
    trig = scheduler.trigger(s.boards[0], s.schedule, jitter=0)
    assert trig.get_next_fire_time(None, SUNDAY) == SUNDAY
    assert trig.get_next_fire_time(SUNDAY, SUNDAY) == SUNDAY + timedelta(days=1)


def test_timezone_applies_and_crosses_dst() -> None:
    s = load("0 6 * * *", tz="Europe/Paris")
    assert scheduler.next_due(s.boards[0], s.schedule, SUNDAY, SUNDAY) == datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert scheduler.next_due(s.boards[0], s.schedule, summer, summer) == datetime(2026, 7, 2, 4, 0, tzinfo=UTC)
    # 02:30 does not exist on 2026-03-29 in Paris: it fires when the clock is past it, at 03:00 local (01:00 UTC)
    night = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert crontab.next_after("30 2 * * *", "Europe/Paris", night) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(("expr", "says"), [("0 5 * * * *", "6 fields instead of 5"), ("61 * * * *", "minute"),
                                            ("0 5 * * 8", "day-of-week"), ("0 25 * * *", "hour"), ("", "0 fields"),
                                            ("0 0 31 2 *", "day-of-month")])
def test_bad_cron_is_one_config_error_naming_the_field(expr: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(expr)
    assert says in str(err.value) and "board 'b'" in str(err.value) and "five fields" in str(err.value)


def test_shortest_gap() -> None:
    assert crontab.shortest_gap("*/15 * * * *", "UTC") == timedelta(minutes=15)
    assert crontab.shortest_gap("0 6 * * 1,3", "UTC") == timedelta(days=2)
    assert crontab.shortest_gap("0 6 * * *", "Europe/Paris") == timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["*", "*/5", "0", "7", "1-5", "MON", "JAN", "L", "13", "59", "60", ",", "-", "/",
                                 "?", "#", "x", " "]), max_size=12).map(" ".join))
def test_any_expression_loads_or_is_one_config_error(expr: str) -> None:
    try:
        s = load(expr)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        return
    nxt = scheduler.next_due(s.boards[0], s.schedule, SUNDAY, SUNDAY)
    assert nxt > SUNDAY


def test_due_reads_every_board_at_once_and_agrees_with_due_at(store: Store) -> None:
    s = config.parse({"fetch": {"retry_failed": "30m"}, "schedule": {"jitter": 0}, "board": [
        {"id": f"b{i}", "url": f"http://127.0.0.1/{i}.csv", "format": "csv", "metric": "score",
         "fields": {"model": "Model", "score": "Score"}, **({"every": "1h"} if i % 2 else {"schedule": "0 * * * *"})}
        for i in range(8)]}, base=Path("/"))
    now = datetime(2026, 11, 22, 12, 10, tzinfo=UTC)
    for i, spec in enumerate(s.boards):
        store.ensure_board(spec.id, spec.title, spec.url)
        if i == 0:
            continue  # never fetched: due
        status = "failed" if i in (3, 4) else "not_modified"
        store.record_fetch(spec.id, FetchInfo(started_at=now - timedelta(minutes=20 * i), status=status,
                                              origin="run", error="x" if status == "failed" else None))
    seen = [0]
    event.listen(store.engine, "commit", lambda *_: seen.__setitem__(0, seen[0] + 1))
    got = [spec.id for spec in scheduler.due(s, store, now)]
    assert seen[0] <= 1
    assert got == [spec.id for spec in s.boards if scheduler.due_at(s, store, spec, now) <= now]
    assert "b0" in got and "b1" not in got and "b3" in got  # never fetched; fetched 20 min ago hourly; failed 1 h ago


FALL_BACK = datetime(2025, 10, 26, 0, 0, tzinfo=UTC)  # Europe/Berlin: 03:00 CEST (01:00Z) -> 02:00 CET (01:00Z)


@pytest.mark.parametrize(("expr", "n"), [("*/15 * * * *", 16), ("0 * * * *", 5), ("30 2 * * *", 3),
                                         ("7,37 1-3 * * *", 8)])
def test_fire_times_go_forward_through_the_hour_summer_time_repeats(expr: str, n: int) -> None:
    """Each next fire time is later than the one before, each fire time comes once, and a local time the repeated
    hour holds twice fires once (at its first pass), as cron does; `run --due` and the service's trigger agree."""
    fires, t = [], FALL_BACK - timedelta(minutes=1)
    for _ in range(n):
        nxt = crontab.next_after(expr, "Europe/Berlin", t)
        assert nxt is not None and nxt > t
        fires.append(nxt)
        t = nxt
    assert len(set(fires)) == len(fires)
    if expr == "30 2 * * *":
        assert fires[:2] == [datetime(2025, 10, 26, 0, 30, tzinfo=UTC), datetime(2025, 10, 27, 1, 30, tzinfo=UTC)]
    if expr == "0 * * * *":  # 02:00 CEST (00:00Z), 02:00 CET (01:00Z), 03:00 CET (02:00Z): every hour that passes
        assert fires[:4] == [FALL_BACK + timedelta(hours=h) for h in range(4)]
    s = load(expr, "Europe/Berlin")
    trig = scheduler.trigger(s.boards[0], s.schedule, jitter=0)
    for prev, nxt in pairwise(fires):
        assert trig.get_next_fire_time(prev, prev + timedelta(seconds=5)) == nxt
        for minutes in (1, 10):  # a board fetched just after a fire time is not due again before the next one
            fetched = min(prev + timedelta(minutes=minutes), nxt - timedelta(seconds=1))
            assert scheduler.next_due(s.boards[0], s.schedule, fetched, fetched) == nxt


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(["*/15 * * * *", "0 * * * *", "30 2 * * *", "45 1,2 * * 0", "0 3 * * *"]),
       st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]),
       st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)))
def test_first_from_is_never_before_its_start(expr: str, tz: str, start: datetime) -> None:
    got = crontab.first_from(expr, tz, start)
    assert got is not None and got >= start and crontab.next_after(expr, tz, got) > got  # type: ignore[operator]
