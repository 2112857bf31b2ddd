"""Scheduling, cron-safety and health: real `tracker` processes against a server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tracker import config
from tracker.config import FetchSettings
from tracker.errors import LockedError
from tracker.fetch import HttpFetcher
from tracker.pipeline import Context, run_source
from tracker.scheduler import due, next_due
from tracker.store import Archive, Store

from .conftest import LocalServer, Response, board_toml

BODY = b"model,top1\nA,90.0\nB,89.0\n"
FIELDS = {"model": "model", "top1": "top1"}


def tracker(cfg: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_") or k == "TRACKER_TEST_DATABASE_URL"}
    return subprocess.Popen([sys.executable, "-m", "tracker", "--config", str(cfg), *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_two_runs_at_once_one_waits_then_exits_75(server: LocalServer, store: Store,
                                                  write_config: Callable[..., Path]) -> None:
    url = server.route("/lb.csv", Response(body=BODY, delay=2.0))
    cfg = write_config(board_toml(id="b", url=url, format="csv", metric="top1", fields=FIELDS), lock_wait=0.5)
    procs = [tracker(cfg, "run"), tracker(cfg, "run")]
    outs = [p.communicate(timeout=30) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 75], outs
    loser = outs[[p.returncode for p in procs].index(75)]
    assert "tracker run" in loser[1] and "is using" in loser[1] and "try again later" in loser[1]
    assert len(store.history("b")) == 1 and store.events("b") == []
    assert len(server.hits_for("/lb.csv")) == 1


def test_lock_in_process(store: Store) -> None:
    held = pytest.raises(LockedError, match=r"tracker process \d+ \(first.* is using .* \(waited 0.2s\)")
    with store.lock(0.1, "first"), held, store.lock(0.2, "second"):
        pass
    with store.lock(0.1, "again"):
        pass


def test_schedule_every_2s_fetches_repeatedly_and_stops_on_sigterm(
        server: LocalServer, store: Store, write_config: Callable[..., Path]) -> None:
    url = server.route("/lb.csv", Response(body=BODY))
    cfg = write_config(board_toml(id="b", url=url, format="csv", metric="top1", every="2s", fields=FIELDS),
                       extra="[fetch]\nper_host_delay = 0\nrobots = false\n[schedule]\njitter = 0\n")
    proc = tracker(cfg, "schedule")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(server.hits_for("/lb.csv")) < 3:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert len(server.hits_for("/lb.csv")) >= 3
    assert "b: baseline snapshot #1" in err and "b: unchanged" in err and "received SIGTERM" in err
    fetches = store.fetches("b")
    assert len(fetches) >= 3 and {f.status for f in fetches} <= {"changed", "unchanged"}
    assert len(store.history("b")) == 1


def test_run_due_and_schedule_once(server: LocalServer, store: Store, write_config: Callable[..., Path]) -> None:
    a = server.route("/a.csv", Response(body=BODY))
    b = server.route("/b.csv", Response(body=BODY))
    cfg = write_config(board_toml(id="hourly", url=a, format="csv", metric="top1", every="1h", fields=FIELDS),
                       board_toml(id="fast", url=b, format="csv", metric="top1", every="1s", fields=FIELDS))
    p = tracker(cfg, "run", "--due")
    out, err = p.communicate(timeout=30)
    lines = [re.sub(r"#\d+", "#N", line) for line in out.splitlines()]
    assert p.returncode == 0 and lines == ["hourly: baseline snapshot #N (2 rows)",
                                           "fast: baseline snapshot #N (2 rows)"], err
    time.sleep(1.1)
    p = tracker(cfg, "run", "--due")
    out, _ = p.communicate(timeout=30)
    assert out.splitlines() == ["fast: unchanged"]
    time.sleep(1.1)
    p = tracker(cfg, "schedule", "--once")
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 0 and out.splitlines() == ["fast: unchanged"]
    assert len(server.hits_for("/a.csv")) == 1 and len(server.hits_for("/b.csv")) == 3
    p = tracker(cfg, "boards", "--format", "json")
    data = {d["id"]: d for d in json.loads(p.communicate(timeout=30)[0])}
    due_at = datetime.fromisoformat(data["hourly"]["next_due_at"])
    last = datetime.fromisoformat(data["hourly"]["last_fetch_at"])
    assert timedelta(minutes=59) < due_at - last <= timedelta(hours=1, seconds=1)


def test_next_due_by_cron_and_interval() -> None:
    s = config.parse({"schedule": {"default": "0 6 * * *"}, "board": [
        {"id": "a", "url": "https://x/a", "format": "csv", "metric": "t", "fields": {"model": "m", "t": "t"}},
        {"id": "b", "url": "https://x/b", "format": "csv", "metric": "t", "schedule": "0 */6 * * *",
         "fields": {"model": "m", "t": "t"}},
        {"id": "c", "url": "https://x/c", "format": "csv", "metric": "t", "every": "30m",
         "fields": {"model": "m", "t": "t"}}]}, base=Path("/"))
    a, b, c = s.boards
    now = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    last = datetime(2026, 11, 22, 5, 59, tzinfo=UTC)
    assert next_due(a, s.schedule, last, now) == datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    assert next_due(b, s.schedule, last, now) == datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    assert next_due(b, s.schedule, now, now) == datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert next_due(c, s.schedule, last, now) == last + timedelta(minutes=30)
    assert next_due(c, s.schedule, None, now) == now
    assert (a.interval, b.interval, c.interval) == (timedelta(days=1), timedelta(hours=6), timedelta(minutes=30))
    assert (a.stale_after, b.stale_after) == (timedelta(days=3), timedelta(hours=18))


def test_schedule_config_errors() -> None:
    base = {"id": "a", "url": "https://x/a", "format": "csv", "metric": "t", "fields": {"model": "m", "t": "t"}}
    for extra, msg in [({"schedule": "61 * * * *"}, "board 'a'.schedule: bad cron expression '61 * * * *'"),
                       ({"every": "soon"}, "board 'a'.every: 'soon' is not a duration"),
                       ({"every": "1h", "schedule": "0 * * * *"}, "give 'schedule' (cron) or 'every'")]:
        with pytest.raises(config.ConfigError, match=msg.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
            config.parse({"board": [{**base, **extra}]}, base=Path("/"))
    with pytest.raises(config.ConfigError, match="unknown timezone 'Mars/Base'"):
        config.parse({"schedule": {"timezone": "Mars/Base"}}, base=Path("/"))


def test_source_stale_recorded_once(server: LocalServer, store: Store, tmp_path: Path) -> None:
    url = server.route("/lb.csv", Response(body=BODY), Response(500, b"down"))
    spec = config.parse({"board": [{"id": "b", "url": url, "format": "csv", "metric": "top1", "every": "1s",
                                    "stale_after": "1s", "fields": FIELDS}]}, base=Path("/")).boards[0]
    ctx = Context(store, Archive(tmp_path), HttpFetcher(FetchSettings(per_host_delay=0, retries=0, robots=False)))
    assert run_source(spec, ctx).status == "baseline"
    assert run_source(spec, ctx).failed
    assert store.events("b", ["source_stale"]) == []
    time.sleep(1.1)
    third = run_source(spec, ctx)
    assert [e.type.value for e in third.events] == ["source_failed", "source_stale"]
    run_source(spec, ctx)
    assert len(store.events("b", ["source_stale"])) == 1
    assert [s.id for s in due(config.parse({"board": [{"id": "b", "url": url, "format": "csv", "metric": "top1",
                                                        "every": "1h", "fields": FIELDS}]}, base=Path("/")),
                              store)] == []
