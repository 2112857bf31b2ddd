"""The CLI's script-facing side: csv/ndjson/json outputs, `tracker snapshots`, event filters, `--format json` on
the writing commands, `import --observed-at name`, global options after the command, [fetch] retry_failed, and the
one-line fixes new users ran into."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy.exc import OperationalError

from tracker import config, scheduler
from tracker.cli import cli
from tracker.errors import StoreError
from tracker.store import Store, migrate
from tracker.timeutil import name_time

from .conftest import REAL, LocalServer, Response, board_toml, versions

TIMM = REAL / "timm-imagenet"
TIMM_FIELDS = {"model": "model", "img_size": "img_size", "top1": "top1", "top5": "top5"}
SMALL = {"format": "csv", "metric": "score", "fields": {"model": "model", "score": "score"}}


def timm_board(url: str = "https://example.org/results-imagenet.csv") -> str:
    return board_toml(id="imagenet-timm", title="ImageNet-1k top-1 (timm)", url=url, format="csv", metric="top1",
                      key=["model", "img_size"], fields=TIMM_FIELDS)


def small(board: str, url: str = "https://example.org/x.csv", **kw: Any) -> str:
    return board_toml(id=board, url=url, **{**SMALL, **kw})


def tracker(runner: CliRunner, cfg: Path | None, *args: str) -> tuple[int, str, str]:
    r = runner.invoke(cli, [*(["--config", str(cfg)] if cfg else []), *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def doc(tmp_path: Path, name: str, *rows: tuple[str, float]) -> str:
    path = tmp_path / name
    path.write_text("model,score\n" + "".join(f"{m},{v}\n" for m, v in rows))
    return str(path)


def cell(value: Any) -> str:
    """What the JSON value must look like in a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def same_everywhere(runner: CliRunner, cfg: Path, *args: str) -> list[dict[str, Any]]:
    """Run a listing as json, ndjson and csv; assert they carry the same fields and values; return the JSON."""
    code, out, err = tracker(runner, cfg, *args, "--format", "json")
    assert code == 0, err
    items = json.loads(out)
    code, out, _ = tracker(runner, cfg, *args, "--format", "ndjson")
    lines = out.splitlines()
    assert code == 0 and [json.loads(line) for line in lines] == items
    assert all("\n" not in line and line.startswith("{") for line in lines)
    code, out, _ = tracker(runner, cfg, *args, "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(table) == len(items)
    for obj, row in zip(items, table, strict=True):
        assert list(row) == list(obj)
        assert row == {k: cell(v) for k, v in obj.items()}
    return list(items)


@pytest.fixture
def timm(runner: CliRunner, write_config: Callable[..., Path]) -> Path:
    cfg = write_config(timm_board())
    files = [str(TIMM / n) for n in ("2020-02-01_7c883566.csv", "2020-02-15_91e2b33d.csv", "2021-10-24_51f488b7.csv")]
    versions("timm-imagenet")  # skips when the real fixtures are missing
    code, _, err = tracker(runner, cfg, "import", "imagenet-timm", *files, "--observed-at", "name")
    assert code == 0, err
    return cfg


@pytest.fixture
def arenas(runner: CliRunner, tmp_path: Path, write_config: Callable[..., Path]) -> Path:
    """Three small boards, each with two snapshots: lmarena-text, lmarena-vision and other."""
    cfg = write_config(small("lmarena-text"), small("lmarena-vision"), small("other"))
    for board, day in (("lmarena-text", 1), ("lmarena-vision", 2), ("other", 3)):
        tracker(runner, cfg, "import", board, doc(tmp_path, f"{board}-1.csv", ("A", 10), ("B", 9)),
                "--observed-at", f"2025-01-0{day}")
        tracker(runner, cfg, "import", board, doc(tmp_path, f"{board}-2.csv", ("A", 10), ("B", 11), ("C", 1)),
                "--observed-at", f"2025-02-0{day}")
    return cfg


# ---- tracker snapshots -------------------------------------------------------------------------------------


def test_snapshots_lists_ids_in_every_format(runner: CliRunner, timm: Path) -> None:
    code, out, _ = tracker(runner, timm, "snapshots", "imagenet-timm")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["id", "observed", "rows", "leader", "value", "events"]
    assert lines[2].split()[:6] == ["1", "2020-02-01", "23:59", "UTC", "164", "ig_resnext101_32x48d"]
    items = same_everywhere(runner, timm, "snapshots", "imagenet-timm")
    assert [(s["id"], s["observed_at"], s["leader"]) for s in items] == [
        (1, "2020-02-01T23:59:59Z", "ig_resnext101_32x48d"), (2, "2020-02-15T23:59:59Z", "tf_efficientnet_l2_ns"),
        (3, "2021-10-24T23:59:59Z", "beit_large_patch16_512")]
    code, out, _ = tracker(runner, timm, "events", "--format", "json")
    by_snapshot = [sum(1 for e in json.loads(out) if e["snapshot_id"] == s["id"]) for s in items]
    assert [s["events"] for s in items] == by_snapshot and by_snapshot[0] == 0 and by_snapshot[2] > 0
    assert items[2]["value"] == 88.584 and items[0]["backfilled"] is False


def test_unknown_snapshot_points_at_tracker_snapshots(runner: CliRunner, timm: Path) -> None:
    code, _, err = tracker(runner, timm, "show", "imagenet-timm", "--as-of", "99")
    assert code == 2 and err.strip() == ("Error: imagenet-timm: no snapshot #99; `tracker snapshots imagenet-timm` "
                                         "lists them")


# ---- events: --limit, --until, board globs, csv/ndjson, streaming ------------------------------------------------


def test_events_globs_limit_until_and_formats(runner: CliRunner, arenas: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_lists(*_a: Any, **_k: Any) -> None:
        raise AssertionError("tracker events must stream (Store.iter_events), not build a list")

    monkeypatch.setattr(Store, "events", no_lists)
    every = same_everywhere(runner, arenas, "events")
    assert {e["board"] for e in every} == {"lmarena-text", "lmarena-vision", "other"}
    glob = same_everywhere(runner, arenas, "events", "--board", "lmarena-*")
    assert glob == [e for e in every if e["board"].startswith("lmarena-")] and glob
    named = same_everywhere(runner, arenas, "events", "--board", "other", "--board", "lmarena-text")
    assert named == [e for e in every if e["board"] in ("other", "lmarena-text")]
    newest = same_everywhere(runner, arenas, "events", "--limit", "2")
    assert newest == every[-2:]
    until = same_everywhere(runner, arenas, "events", "--until", "2025-02-02")
    assert until == [e for e in every if e["observed_at"] <= "2025-02-02T23:59:59Z"] and until != every
    code, out, _ = tracker(runner, arenas, "events", "--board", "lmarena-*", "--type", "leader_changed",
                           "--limit", "1")
    assert code == 0 and len(out.splitlines()) == 1 and "lmarena-vision: B (11) takes the lead" in out
    assert json.loads(tracker(runner, arenas, "events", "--board", "lmarena-*", "--type", "leader_changed",
                              "--limit", "1", "--format", "json")[1])[0]["board"] == "lmarena-vision"
    code, out, err = tracker(runner, arenas, "events", "--board", "arena-*")
    assert (code, out) == (2, "") and err.strip() == ("Error: no board matches 'arena-*' (configured boards: "
                                                      "lmarena-text, lmarena-vision, other)")
    code, _, err = tracker(runner, arenas, "events", "--board", "lmarena")
    assert code == 2 and "unknown board 'lmarena' (configured boards:" in err and len(err.splitlines()) == 1
    code, out, _ = tracker(runner, arenas, "events", "--since", "2030-01-01", "--format", "csv")
    assert code == 0 and out.splitlines() == [",".join(every[0])]  # the header row, even when empty
    assert tracker(runner, arenas, "events", "--since", "2030-01-01", "--format", "json")[1].strip() == "[]"
    assert tracker(runner, arenas, "events", "--since", "2030-01-01")[1].strip() == "no events"


def test_events_json_streams_from_the_store(store: Store, runner: CliRunner, arenas: Path) -> None:
    stream = store.iter_events(["other"], batch=1)
    first = next(stream)
    assert first.board == "other" and [e.id for e in stream] == [e.id for e in store.events("other")][1:]
    out = tracker(runner, arenas, "events", "--format", "json")[1]
    assert out == json.dumps(json.loads(out), indent=2, ensure_ascii=False) + "\n"  # same text as before


# ---- show / history as csv and ndjson ------------------------------------------------------------------------


def test_show_csv_and_ndjson(runner: CliRunner, timm: Path) -> None:
    code, out, _ = tracker(runner, timm, "show", "imagenet-timm", "--top", "5", "--format", "json")
    rows = json.loads(out)["rows"]
    code, out, _ = tracker(runner, timm, "show", "imagenet-timm", "--top", "5", "--format", "ndjson")
    assert code == 0 and [json.loads(line) for line in out.splitlines()] == rows
    code, out, _ = tracker(runner, timm, "show", "imagenet-timm", "--top", "5", "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and list(table[0]) == ["rank", "model", "key", "leader", "img_size", "top1", "top5"]
    for obj, row in zip(rows, table, strict=True):
        assert (row["rank"], row["model"], json.loads(row["key"]), row["leader"]) == (
            str(obj["rank"]), obj["model"], obj["key"], cell(obj["leader"]))
        for name in ("img_size", "top1", "top5"):
            assert row[name] == cell(obj["values"].get(name, obj["fields"].get(name)))
    assert table[0]["model"] == "beit_large_patch16_512" and table[0]["leader"] == "true"


def test_history_csv_and_ndjson(runner: CliRunner, timm: Path) -> None:
    code, out, _ = tracker(runner, timm, "history", "imagenet-timm", "--format", "json")
    h = json.loads(out)
    expected = [{"kind": "leader", "board": "imagenet-timm", **r} for r in h["leaders"]] + [
        {"kind": "record", "board": "imagenet-timm", **r} for r in h["records"]]
    code, out, _ = tracker(runner, timm, "history", "imagenet-timm", "--format", "ndjson")
    assert code == 0 and [json.loads(line) for line in out.splitlines()] == expected
    code, out, _ = tracker(runner, timm, "history", "imagenet-timm", "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out)))
    assert list(table[0]) == ["kind", "board", "model", "key", "value", "since", "until", "when", "margin",
                              "snapshot_id"]
    for obj, row in zip(expected, table, strict=True):
        assert row == {k: cell(obj.get(k)) for k in row}
    assert [r["kind"] for r in table].count("record") == len(h["records"]) == 3


# ---- --format json on run, import and backfill --------------------------------------------------------------


def test_run_json_and_quiet(runner: CliRunner, server: LocalServer, tmp_path: Path,
                            write_config: Callable[..., Path]) -> None:
    good = server.route("/good.csv", Response(body=b"model,score\nA,1\nB,2\n"),
                        Response(body=b"model,score\nA,3\nB,2\n"))
    bad = server.route("/bad.csv", Response(500, b"oops"))
    cfg = write_config(small("good", good), small("broken", bad),
                       extra='[[alert]]\non = ["leader_changed"]\nnotify = ["console"]\n')
    code, out, err = tracker(runner, cfg, "run", "--format", "json")
    data = json.loads(out)
    assert code == 2 and [d["board"] for d in data] == ["good", "broken"]
    assert list(data[0]) == ["board", "status", "snapshot_id", "rows", "events", "error", "warnings"]
    assert data[0] == {"board": "good", "status": "baseline", "snapshot_id": 1, "rows": 2, "events": {},
                       "error": None, "warnings": []}
    assert data[1]["status"] == "failed" and "HTTP 500" in data[1]["error"]
    assert data[1]["events"] == {"source_failed": 1}
    code, out, err = tracker(runner, cfg, "run", "--format", "json", "good")
    assert code == 0 and json.loads(out)[0]["events"] == {"new_sota": 1, "leader_changed": 1, "score_changed": 1}
    assert "ALERT" in err and "alerts: 1 sent" in err and "ALERT" not in out  # stdout stays valid JSON
    code, out, _ = tracker(runner, cfg, "run", "-q")
    assert code == 2 and out.splitlines() == [f"broken: FAILED {bad}: HTTP 500 Internal Server Error"]
    code, out, _ = tracker(runner, cfg, "-q", "run", "good")
    assert (code, out) == (0, "")


def test_import_json_per_file(runner: CliRunner, tmp_path: Path, write_config: Callable[..., Path]) -> None:
    cfg = write_config(small("b"))
    a = doc(tmp_path, "2025-01-01_a.csv", ("A", 1), ("B", 2))
    b = doc(tmp_path, "2025-01-02_b.csv", ("A", 3), ("B", 2))
    code, out, _ = tracker(runner, cfg, "import", "b", a, b, "--observed-at", "name", "--format", "json")
    data = json.loads(out)
    assert code == 0 and [d["file"] for d in data] == [a, b]
    assert list(data[0]) == ["file", "board", "status", "snapshot_id", "rows", "events", "error", "warnings"]
    assert [(d["status"], d["snapshot_id"]) for d in data] == [("baseline", 1), ("changed", 2)]
    assert data[1]["events"] == {"new_sota": 1, "leader_changed": 1, "score_changed": 1}
    code, out, _ = tracker(runner, cfg, "import", "b", b, "--observed-at", "name", "-q")
    assert (code, out) == (0, "")


def test_backfill_json(runner: CliRunner, tmp_path: Path, write_config: Callable[..., Path]) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x"}
    subprocess.run(["git", "-C", str(repo), "init", "-q"], check=True, env=env)
    for i, body in enumerate(["model,score\nA,1\nB,2\n", "model,score\nA,3\nB,2\n"]):
        (repo / "lb.csv").write_text(body)
        when = f"2024-01-0{i + 1}T00:00:00Z"
        subprocess.run(["git", "-C", str(repo), "add", "lb.csv"], check=True, env=env)
        subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", str(i)], check=True,
                       env={**env, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when})
    cfg = write_config(small("b"))
    code, out, _ = tracker(runner, cfg, "backfill", "b", "--git", str(repo), "--path", "lb.csv", "--format", "json")
    data = json.loads(out)
    assert code == 0 and len(data) == 1
    assert {k: data[0][k] for k in ("board", "status", "snapshot_id", "rows", "found", "imported", "skipped",
                                    "failed", "too_old", "error")} == {
        "board": "b", "status": "changed", "snapshot_id": 2, "rows": 2, "found": 2, "imported": 2, "skipped": 0,
        "failed": 0, "too_old": 0, "error": None}
    assert data[0]["events"] == {"new_sota": 1, "leader_changed": 1, "score_changed": 1}


# ---- import --observed-at name, --allow-older, future dates --------------------------------------------------


def test_name_time() -> None:
    assert name_time("2021-06-30_d10b071a.csv") == datetime(2021, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)
    assert name_time("2024-07-13T06-00Z.json") == datetime(2024, 7, 13, 6, 0, tzinfo=UTC)
    assert name_time("2024-07-13T06:00:30+02:00.json") == datetime(2024, 7, 13, 4, 0, 30, tzinfo=UTC)
    assert [name_time(n) for n in ("results.csv", "2021-02-30_x.csv", "2021-06-301.csv", "x2021-06-30.csv")] == [
        None, None, None, None]
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert name_time("2026-05-01_today.csv", now) == now  # today's date means now, not tonight
    assert name_time("2026-05-02_x.csv", now) == datetime(2026, 5, 2, 23, 59, 59, 999999, tzinfo=UTC)


def test_import_observed_at_name_on_real_files(runner: CliRunner, tmp_path: Path,
                                               write_config: Callable[..., Path]) -> None:
    versions("timm-imagenet")
    cfg = write_config(timm_board())
    first, second, newer = (str(TIMM / n) for n in ("2019-07-03_2a1d09b4.csv", "2019-07-20_d97510fd.csv",
                                                     "2019-08-05_0c874195.csv"))
    code, out, err = tracker(runner, cfg, "import", "imagenet-timm", first, newer, "--observed-at", "name")
    assert code == 0, err
    code, out, _ = tracker(runner, cfg, "snapshots", "imagenet-timm", "--format", "json")
    assert [s["observed_at"] for s in json.loads(out)] == ["2019-07-03T23:59:59Z", "2019-08-05T23:59:59Z"]
    # an older version is refused, with the reason, and nothing is imported
    code, out, err = tracker(runner, cfg, "import", "imagenet-timm", second, "--observed-at", "name")
    assert code == 2 and out == ""
    assert err.strip() == (f"Error: {second}: observed 2019-07-20 23:59 UTC, before imagenet-timm's latest snapshot "
                           f"#2 (2019-08-05 23:59 UTC); snapshots are compared in the order they are stored, so "
                           f"import older versions first or into a fresh store, or pass --allow-older")
    # re-importing what is already stored is still a no-op, not an error
    code, out, _ = tracker(runner, cfg, "import", "imagenet-timm", first, newer, "--observed-at", "name")
    assert code == 0 and out.splitlines() == [f"{f}: imagenet-timm: unchanged" for f in (first, newer)]
    code, out, _ = tracker(runner, cfg, "import", "imagenet-timm", second, "--observed-at", "name", "--allow-older")
    assert code == 0 and "snapshot #3" in out
    # a date-time name, a name without a date, a future date
    timed = tmp_path / "2024-07-13T06-00Z.csv"
    shutil.copy(TIMM / "2019-08-25_32a0ca03.csv", timed)
    code, out, _ = tracker(runner, cfg, "import", "imagenet-timm", str(timed), "--observed-at", "name")
    snaps = json.loads(tracker(runner, cfg, "snapshots", "imagenet-timm", "--format", "json")[1])
    assert code == 0 and snaps[-1]["observed_at"] == "2024-07-13T06:00:00Z"
    plain = tmp_path / "results-imagenet.csv"
    shutil.copy(TIMM / "2019-08-25_32a0ca03.csv", plain)
    code, _, err = tracker(runner, cfg, "import", "imagenet-timm", str(timed), str(plain), "--observed-at", "name")
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"Error: {plain}: its name does not start with a date (like 2021-06-30_x.csv")
    future = tmp_path / f"{datetime.now(UTC) + timedelta(days=2):%Y-%m-%d}_x.csv"
    shutil.copy(TIMM / "2019-08-25_32a0ca03.csv", future)
    code, _, err = tracker(runner, cfg, "import", "imagenet-timm", str(future), "--observed-at", "name")
    assert code == 2 and "which is in the future" in err
    code, _, err = tracker(runner, cfg, "import", "imagenet-timm", str(plain), "--observed-at", "2099-01-01")
    assert code == 2 and "which is in the future" in err
    assert len(json.loads(tracker(runner, cfg, "snapshots", "imagenet-timm", "--format", "json")[1])) == len(snaps)
    os.utime(plain, (1_735_689_600, 1_735_689_600))  # 2025-01-01: `mtime` (the default) still works
    code, out, _ = tracker(runner, cfg, "import", "imagenet-timm", str(plain), "--observed-at", "mtime")
    assert (code, out.strip()) == (0, f"{plain}: imagenet-timm: unchanged")
    assert json.loads(tracker(runner, cfg, "boards", "--format", "json")[1])[0]["last_fetch_at"] == (
        "2025-01-01T00:00:00Z")


# ---- global options before and after the command --------------------------------------------------------------


def test_global_options_before_and_after(runner: CliRunner, tmp_path: Path, write_config: Callable[..., Path],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write_config(small("b"))
    monkeypatch.chdir(tmp_path)  # no ./config.toml other than the one passed... which is here: rename it
    other = tmp_path / "other.toml"
    cfg.rename(other)
    a = doc(tmp_path, "a.csv", ("A", 1))
    for args in (["--config", str(other), "import", "b", a],
                 ["import", "b", a, "--config", str(other)],
                 ["import", "--config", str(other), "b", a]):
        r = runner.invoke(cli, args)
        assert r.exit_code == 0, r.stderr
    for args in (["--config", str(other), "boards"], ["boards", "--config", str(other)],
                 ["alerts", "--config", str(other)], ["alerts", "retry", "--config", str(other)]):
        r = runner.invoke(cli, args)
        assert r.exit_code == 0 and "config.toml" not in r.stderr, (args, r.stderr)
    r = runner.invoke(cli, ["boards"])
    assert r.exit_code == 2 and "config file config.toml not found" in r.stderr
    for args in (["-q", "import", "b", a, "--config", str(other)], ["import", "b", a, "-q", "--config", str(other)]):
        r = runner.invoke(cli, args)
        assert (r.exit_code, r.stdout) == (0, "")
    for args in (["-v", "show", "nope", "--config", str(other)], ["show", "nope", "-v", "--config", str(other)]):
        r = runner.invoke(cli, args)
        assert r.exit_code == 2 and "Traceback" in r.stderr
    r = runner.invoke(cli, ["show", "--help"])
    assert "--config" in r.stdout and "-q, --quiet" in r.stdout


# ---- [fetch] retry_failed ----------------------------------------------------------------------------------------


def test_retry_failed_makes_a_failed_board_due_again(runner: CliRunner, server: LocalServer, store: Store,
                                                     write_config: Callable[..., Path]) -> None:
    url = server.route("/lb.csv", Response(500, b"down"), Response(body=b"model,score\nA,1\n"))
    fetch = '[fetch]\nper_host_delay = 0\nbackoff = 0.01\nrobots = false\nretries = 0\nretry_failed = "1s"\n'
    cfg = write_config(small("b", url), extra=fetch)
    code, out, _ = tracker(runner, cfg, "run", "--due")
    assert code == 2 and "b: FAILED" in out
    settings = config.load(cfg)
    assert settings.fetch.retry_failed == timedelta(seconds=1)
    last = store.last_fetch_at("b")
    assert last is not None
    assert [s.id for s in scheduler.due(settings, store, now=last + timedelta(seconds=2))] == ["b"]
    assert scheduler.due(settings, store, now=last + timedelta(milliseconds=500)) == []
    off = replace(settings, fetch=replace(settings.fetch, retry_failed=None))
    assert scheduler.due(off, store, now=last + timedelta(hours=1)) == []  # next cron slot: 06:00 tomorrow
    status = json.loads(tracker(runner, cfg, "boards", "--format", "json")[1])[0]
    assert datetime.fromisoformat(status["next_due_at"]) <= last + timedelta(seconds=1)
    time.sleep(1.1)
    code, out, _ = tracker(runner, cfg, "run", "--due")
    assert (code, out.strip()) == (0, "b: baseline snapshot #1 (1 rows)")
    code, out, _ = tracker(runner, cfg, "run", "--due")  # succeeded: back on its schedule
    assert (code, out.strip()) == (0, "no board is due")
    with pytest.raises(config.ConfigError, match=r"\[fetch\] retry_failed: 'soon' is not a duration"):
        config.parse({"fetch": {"retry_failed": "soon"}}, base=Path("/"))


def test_next_due_with_retry_failed() -> None:
    s = config.parse({"fetch": {"retry_failed": "30m"}, "board": [{"id": "a", "url": "https://x/a", **SMALL}]},
                     base=Path("/"))
    last = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    now = last + timedelta(minutes=1)
    retry = s.fetch.retry_failed
    assert scheduler.next_due(s.boards[0], s.schedule, last, now) == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert scheduler.next_due(s.boards[0], s.schedule, last, now, failed=True, retry_failed=retry) == (
        last + timedelta(minutes=30))
    assert scheduler.next_due(s.boards[0], s.schedule, datetime(2026, 11, 22, 5, 50, tzinfo=UTC), now, failed=True,
                              retry_failed=retry) == datetime(2026, 11, 22, 6, 0, tzinfo=UTC)  # the slot is sooner


def test_schedule_service_retries_a_failed_board_sooner(server: LocalServer, store: Store, tmp_path: Path) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from tracker.fetch import HttpFetcher
    from tracker.pipeline import Context
    from tracker.store import Archive

    url = server.route("/lb.csv", Response(500, b"down"))
    settings = config.parse({"fetch": {"retry_failed": "30m", "retries": 0, "robots": False, "per_host_delay": 0},
                             "board": [{"id": "b", "url": url, "every": "1w", **SMALL}]}, base=Path("/"))
    ctx = Context(store, Archive(tmp_path / "snapshots"), HttpFetcher(settings.fetch))
    sched = BackgroundScheduler(timezone="UTC")
    sched.start(paused=True)
    try:
        sched.add_job(print, scheduler.trigger(settings.boards[0], settings.schedule, jitter=0), id="b")
        before = datetime.now(UTC)
        scheduler._job(settings, settings.boards[0], ctx, sched)  # the job `tracker schedule` runs for a board
        job = sched.get_job("b")
        assert job is not None
        assert before + timedelta(minutes=30) <= job.next_run_time <= datetime.now(UTC) + timedelta(minutes=30)
    finally:
        sched.shutdown(wait=False)


# ---- fixes ------------------------------------------------------------------------------------------------------


def test_schedule_once_says_what_run_says(runner: CliRunner, tmp_path: Path,
                                          write_config: Callable[..., Path]) -> None:
    code, out, err = tracker(runner, write_config(), "schedule", "--once")
    assert code == 2 and "no boards in" in err and "add a [[board]] table" in err
    cfg = write_config(small("b"))
    tracker(runner, cfg, "import", "b", doc(tmp_path, "a.csv", ("A", 1)))  # fetched just now: due at 06:00
    code, out, _ = tracker(runner, cfg, "schedule", "--once")
    assert (code, out.strip()) == (0, "no board is due")
    assert tracker(runner, cfg, "schedule", "--once", "-q")[1] == ""


def test_alerts_retry_exits_2_when_a_send_fails(runner: CliRunner, server: LocalServer, tmp_path: Path,
                                                write_config: Callable[..., Path]) -> None:
    hook = server.route("/hook", Response(500, b"no"))
    cfg = write_config(small("b"), extra=f'[[alert]]\non = ["leader_changed"]\nnotify = ["webhook+{hook}"]\n'
                                         "max_attempts = 1\n")
    tracker(runner, cfg, "import", "b", doc(tmp_path, "a.csv", ("A", 2), ("B", 1)), "--observed-at", "2025-01-01")
    code, out, err = tracker(runner, cfg, "import", "b", doc(tmp_path, "b.csv", ("A", 2), ("B", 3)),
                             "--observed-at", "2025-01-02", "--alert")
    assert code == 0 and "1 dead" in out
    code, out, err = tracker(runner, cfg, "alerts", "retry")
    assert code == 2 and "0 sent, 1 dead" in out
    assert "Error: 1 of 1 alert send failed" in err
    server.route("/hook", Response(200, b"ok"))
    code, out, _ = tracker(runner, cfg, "alerts", "retry")
    assert code == 0 and "1 sent" in out


def test_diff_refuses_reversed_refs_and_plot_since(runner: CliRunner, arenas: Path, tmp_path: Path) -> None:
    code, out, err = tracker(runner, arenas, "diff", "other", "--from", "6", "--to", "5")
    assert (code, out) == (2, "") and err.strip() == "Error: other: --from #6 is newer than --to #5; swap them"
    code, _, err = tracker(runner, arenas, "plot", "other", "-o", str(tmp_path / "c.svg"), "--since", "2025-06-01")
    assert code == 2 and err.strip() == "Error: other: no records since 2025-06-01; try an earlier --since"
    code, out, _ = tracker(runner, arenas, "plot", "other", "-o", str(tmp_path / "c.svg"), "--since", "2025-01-15")
    assert code == 0 and "1 record steps" in out


def test_store_errors_are_one_line(runner: CliRunner, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[storage]\nurl = "sqlite:///{tmp_path}/missing/dir/t.db"\n' + small("b"))
    code, _, err = tracker(runner, cfg, "run")
    db = tmp_path / "missing" / "dir" / "t.db"
    assert code == 2 and err.strip() == (
        f"Error: cannot prepare the database sqlite:///{db}: unable to open database file; check that {db} and its "
        f"folder exist and are writable, or set [storage] url")
    # a read-only database (opened read-only, as root ignores file modes): the driver's line and the fix, no SQL
    Store(f"sqlite:///{tmp_path}/ro.db").close()
    ro = Store(f"sqlite:///file:{tmp_path}/ro.db?mode=ro&uri=true")
    with pytest.raises(StoreError) as info:
        ro.ensure_board("b", "b", "u")
    ro.close()
    assert "\n" not in str(info.value) and "SQL" not in str(info.value) and "sqlalche.me" not in str(info.value)
    assert str(info.value).endswith(f"attempt to write a readonly database; check that {tmp_path}/ro.db and its "
                                    f"folder exist and are writable, or set [storage] url")
    exc = OperationalError("INSERT INTO board VALUES (?)", ("b",), sqlite3.OperationalError("disk is full"))
    assert migrate.error_text("saving", "postgresql://h/db", exc) == (
        "database error while saving (postgresql://h/db): disk is full")
