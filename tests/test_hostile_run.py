"""Hostile documents and configs through `tracker run`, as a cron job meets them: one bad board costs only itself,
secrets never leave the process, a truncated download never becomes data, JSON output stays strict."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tracker.cli import cli

from .conftest import LocalServer, Response, board_toml, toml_value

FIELDS = {"model": "model", "top1": "top1"}
KEY = "k3y-0f-the-board-7731"
TOKEN = "Tt0kenInThePath99"


def run(runner: CliRunner, cfg: Path, *args: str) -> tuple[int, str, str]:
    r = runner.invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def csv(*rows: tuple[str, float]) -> bytes:
    return ("model,top1\n" + "".join(f"{m},{v}\n" for m, v in rows)).encode()


def alert(**kw: Any) -> str:
    return "[[alert]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in kw.items())


def dump(db_url: str) -> str:
    """Every value of every row of every table of a SQLite store, as one string."""
    if not db_url.startswith("sqlite:///"):
        pytest.skip("reads the SQLite file directly")
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return " ".join(str(v) for t in tables for row in conn.execute(f"SELECT * FROM {t}") for v in row)


HOSTILE = {
    "html-empty": ("html", b"", {}),
    "html-blank": ("html", b"  \n\t  \n", {}),
    "json-deep": ("json", b"[" * 5000 + b"]" * 5000, {"rows": "items"}),
    "pwc-deep": ("pwc", b'{"tasks": ' + b"[" * 5000 + b"]" * 5000 + b"}", {"dataset": "ImageNet"}),
    "pwc-metrics-list": ("pwc", json.dumps([{"task": "t", "datasets": [{"dataset": "ImageNet", "sota": {"rows": [
        {"model_name": "M", "metrics": [1, 2]}]}}]}]).encode(), {"dataset": "ImageNet"}),
    "csv-utf16-odd": ("csv", b"\xff\xfe" + "model,top1\nA,1\n".encode("utf-16-le") + b"x", {}),
}


def test_hostile_documents_fail_their_board_only_and_alerts_still_go_out(
        runner: CliRunner, server: LocalServer, write_config: Callable[..., Path]) -> None:
    boards = []
    for name, (fmt, body, extra) in HOSTILE.items():
        url = server.route(f"/{name}", Response(body=body))
        fields = {"model": "model_name" if fmt == "pwc" else "model", "top1": "top1"}
        boards.append(board_toml(id=name, url=url, format=fmt, metric="top1", fields=fields, **extra))
    good = server.route("/good.csv", Response(body=csv(("A", 90.0), ("B", 89.0))),
                        Response(body=csv(("A", 90.0), ("B", 91.0))))
    boards.append(board_toml(id="good", url=good, format="csv", metric="top1", fields=FIELDS))
    server.route("/hook", Response(200, b"ok"))
    cfg = write_config(*boards, extra=alert(on=["leader_changed"], notify=[
        server.url("/hook").replace("http://", "webhook+http://")]))
    run(runner, cfg, "run")
    code, out, err = run(runner, cfg, "run")
    assert code == 2 and "Traceback" not in out + err
    lines = {line.split(":")[0]: line for line in out.splitlines() if ":" in line}
    for name in HOSTILE:
        assert lines[name].startswith(f"{name}: FAILED ") and "\n" not in lines[name], lines[name]
    assert "1 leader_changed" in lines["good"] and "alerts: 1 sent" in out
    assert len([h for h in server.hits_for("/hook") if h.method == "POST"]) == 1
    code, out, _ = run(runner, cfg, "boards", "--format", "json")
    health = {b["id"]: b for b in json.loads(out)}
    for name in HOSTILE:  # recorded, not just printed: the board looks unhealthy
        assert health[name]["consecutive_failures"] == 2 and health[name]["last_error"], name
    code, out, _ = run(runner, cfg, "events", "--type", "source_failed", "--format", "json")
    assert {e["board"] for e in json.loads(out)} == set(HOSTILE)


def test_a_secret_in_a_board_url_never_leaves_the_process(
        runner: CliRunner, server: LocalServer, write_config: Callable[..., Path], db_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEY", KEY)
    monkeypatch.setenv("HOOK_TOKEN", TOKEN)
    server.route("/lb.csv", Response(500, b"oops " + KEY.encode()), Response(body=csv(("A", 90.0), ("B", 89.0))),
                 Response(body=csv(("A", 90.0), ("B", 91.0))))
    server.route(f"/hooks/{TOKEN}", Response(200, b"ok"))
    url = server.url("/lb.csv") + "?api_key=${API_KEY}"
    cfg = write_config(board_toml(id="lb", url=url, format="csv", metric="top1", fields=FIELDS, retries=0)
                       .replace("retries = 0\n", ""),
                       extra=alert(on=["leader_changed", "source_failed", "source_recovered"], failures=1,
                                   notify=["console", "webhook+" + server.url("/hooks/${HOOK_TOKEN}")])
                       + "[fetch]\nper_host_delay = 0\nrobots = false\nretries = 0\n")
    outputs = [run(runner, cfg, "-v", "run") for _ in range(3)]
    outputs += [run(runner, cfg, *a) for a in (["boards"], ["events"], ["alerts"], ["show", "lb"], ["-v", "alerts"],
                                               ["diff", "lb", "--format", "json"], ["report", "lb"])]
    assert [o[0] for o in outputs[:3]] == [2, 0, 0]
    everything = " ".join(o + e for _, o, e in outputs)
    assert "ALERT" in everything and "api_key=${API_KEY}" in everything
    assert KEY not in everything and TOKEN not in everything
    bodies = [h.body.decode() for h in server.hits_for(f"/hooks/{TOKEN}")]
    assert len(bodies) == 3 and all(KEY not in b for b in bodies)
    assert [json.loads(b)["url"] for b in bodies] == [url] * 3
    stored = dump(db_url)
    assert "api_key=${API_KEY}" in stored and KEY not in stored and TOKEN not in stored


def test_a_download_that_loses_its_tail_is_quarantined_until_forced(
        runner: CliRunner, server: LocalServer, write_config: Callable[..., Path]) -> None:
    full = csv(*[(f"M{i}", 90.0 - i) for i in range(10)])
    cut = csv(*[(f"M{i}", 90.0 - i) for i in range(7)])  # cut at a row boundary: 3 rows gone, nothing else
    server.route("/lb.csv", Response(body=full), Response(body=cut))
    cfg = write_config(board_toml(id="lb", url=server.url("/lb.csv"), format="csv", metric="top1", fields=FIELDS))
    assert run(runner, cfg, "run")[0] == 0
    code, out, _ = run(runner, cfg, "run")
    assert code == 2 and "looks truncated: the last 3 of 10 rows are gone" in out
    code, out, _ = run(runner, cfg, "events", "--type", "entry_removed")
    assert out.strip() == "no events"
    code, out, _ = run(runner, cfg, "run", "--force", "lb")
    assert code == 0 and "3 entry_removed" in out


def test_json_output_is_strict_even_for_huge_numbers(
        runner: CliRunner, server: LocalServer, write_config: Callable[..., Path]) -> None:
    huge = "9" * 400
    server.route("/lb.csv", Response(body=f"model,top1\nA,90\nB,{huge}\n".encode()))
    cfg = write_config(board_toml(id="lb", url=server.url("/lb.csv"), format="csv", metric="top1", fields=FIELDS))
    assert run(runner, cfg, "run")[0] == 0
    for args in (["show", "lb", "--format", "json"], ["events", "--format", "json"],
                 ["boards", "--format", "json"], ["diff", "lb", "--format", "json"]):
        _, out, _ = run(runner, cfg, *args)
        constants: list[str] = []
        json.loads(out, parse_constant=constants.append)
        assert constants == [], args
    _, out, _ = run(runner, cfg, "show", "lb", "--format", "json")
    assert "Infinity" not in out and "NaN" not in out


def test_prune_command(runner: CliRunner, server: LocalServer, write_config: Callable[..., Path],
                       tmp_path: Path) -> None:
    server.route("/lb.csv", *[Response(body=f"<html>error page {i}</html>".encode()) for i in range(4)],
                 Response(body=csv(("A", 90.0))))
    cfg = write_config(board_toml(id="lb", url=server.url("/lb.csv"), format="csv", metric="top1", fields=FIELDS),
                       extra="[fetch]\nper_host_delay = 0\nrobots = false\n").read_text()
    path = tmp_path / "config.toml"
    path.write_text(cfg.replace("[storage]\n", "[storage]\nkeep_failed = 2\n"))
    for _ in range(5):
        run(runner, path, "run")
    archived = list((tmp_path / "snapshots").glob("??/*.gz"))
    assert len(archived) == 3  # the snapshot's document and the newest 2 failures: keep_failed holds as runs go
    code, out, _ = run(runner, path, "prune", "--older-than", "0d")
    assert code == 0 and out.startswith("pruned ") and "database vacuumed" in out
    assert len(list((tmp_path / "snapshots").glob("??/*.gz"))) == 3
    code, out, _ = run(runner, path, "show", "lb")
    assert code == 0 and "A" in out
