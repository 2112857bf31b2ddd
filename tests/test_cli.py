"""The CLI through click's CliRunner, against a local HTTP server and a temporary SQLite file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli

from .conftest import REAL, LocalServer, Response, board_toml, versions

TIMM_FIELDS = {"model": "model", "img_size": "img_size", "top1": "top1", "top5": "top5"}


def timm_board(url: str = "https://example.org/results-imagenet.csv") -> str:
    return board_toml(id="imagenet-timm", title="ImageNet-1k top-1 (timm)", url=url, format="csv", metric="top1",
                      key=["model", "img_size"], fields=TIMM_FIELDS)


def invoke(runner: CliRunner, cfg: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def timm(runner: CliRunner, write_config: Callable[..., Path]) -> Path:
    cfg = write_config(timm_board())
    files = {v["file"]: v["committer_date"] for v in versions("timm-imagenet")}
    for name in ["2020-02-01_7c883566.csv", "2020-02-15_91e2b33d.csv", "2021-10-24_51f488b7.csv"]:
        code, out, _ = invoke(runner, cfg, "import", "imagenet-timm", str(REAL / "timm-imagenet" / name),
                              "--observed-at", files[name])
        assert code == 0, out
    return cfg


def test_run_reports_one_line_per_board_and_exit_code(runner: CliRunner, server: LocalServer,
                                                      write_config: Callable[..., Path]) -> None:
    good = server.route("/good.csv", Response(body=b"model,top1,img_size,top5\nA,1,224,2\n"))
    bad = server.route("/bad.csv", Response(500, b"oops"))
    cfg = write_config(timm_board(good), board_toml(id="broken", url=bad, format="csv", metric="top1",
                                                    fields={"model": "model", "top1": "top1"}))
    code, out, _ = invoke(runner, cfg, "run")
    assert code == 2
    assert out.splitlines() == ["imagenet-timm: baseline snapshot #1 (1 rows)",
                                f"broken: FAILED {bad}: HTTP 500 Internal Server Error"]
    code, out, _ = invoke(runner, cfg, "run", "imagenet-timm")
    assert (code, out.strip()) == (0, "imagenet-timm: unchanged")


def test_show_top_and_as_of(runner: CliRunner, timm: Path) -> None:
    code, out, _ = invoke(runner, timm, "show", "imagenet-timm", "--top", "2")
    lines = out.splitlines()
    assert code == 0 and "leader beit_large_patch16_512 (88.584)" in lines[0]
    assert lines[3].split()[:3] == ["1", "beit_large_patch16_512", "88.584"] and len(lines) == 5
    code, out, _ = invoke(runner, timm, "show", "imagenet-timm", "--as-of", "2020-03-01", "--format", "json")
    data = json.loads(out)
    assert data["leader"]["model"] == "tf_efficientnet_l2_ns" and data["rows"][0]["rank"] == 1
    code, out, _ = invoke(runner, timm, "show", "imagenet-timm", "--top", "3", "--format", "markdown")
    assert "| rank | model | top1 |" in out and out.count("\n| ") == 4


def test_diff_formats_refs_and_exit_code(runner: CliRunner, timm: Path) -> None:
    code, out, _ = invoke(runner, timm, "diff", "imagenet-timm", "--format", "json")
    data = json.loads(out)
    assert code == 0 and [d["board"] for d in data] == ["imagenet-timm"]
    assert (data[0]["from"]["snapshot_id"], data[0]["to"]["snapshot_id"]) == (2, 3)
    kinds = [c["type"] for c in data[0]["changes"]]
    assert kinds[:2] == ["new_sota", "leader_changed"]
    code, out, _ = invoke(runner, timm, "diff", "imagenet-timm", "--from", "1", "--to", "2", "--exit-code")
    assert code == 1 and "! tf_efficientnet_l2_ns @800 (88.352) takes the lead from ig_resnext101_32x48d @224" in out
    code, out, _ = invoke(runner, timm, "diff", "imagenet-timm", "--from", "3", "--to", "3", "--exit-code")
    assert code == 0 and "no changes" in out
    code, out, _ = invoke(runner, timm, "diff", "--since", "2020-02-10", "--format", "markdown")
    assert "| leader_changed | beit_large_patch16_512 |" in out
    code, out, err = invoke(runner, timm, "diff", "imagenet-timm", "--from", "99")
    assert code == 2 and "Error: imagenet-timm: no snapshot #99" in err


def test_events_filters_and_json_fields(runner: CliRunner, timm: Path) -> None:
    code, out, _ = invoke(runner, timm, "events", "--type", "leader_changed", "--format", "json")
    data = json.loads(out)
    assert [e["model"] for e in data] == ["tf_efficientnet_l2_ns", "beit_large_patch16_512"]
    assert set(data[0]) >= {"id", "type", "board", "observed_at", "snapshot_id", "model", "key", "value",
                            "previous_model", "previous_value", "message"}
    assert data[0]["observed_at"] == "2020-02-16T04:38:57Z" and data[0]["key"] == ["tf_efficientnet_l2_ns", "800"]
    code, out, _ = invoke(runner, timm, "events", "--type", "new_sota", "--since", "2021-01-01")
    assert code == 0 and len(out.splitlines()) == 1 and "88.584" in out


def test_boards_json(runner: CliRunner, timm: Path) -> None:
    code, out, _ = invoke(runner, timm, "boards", "--format", "json")
    data = json.loads(out)
    assert code == 0 and list(data[0]) == ["id", "title", "url", "snapshots", "fetches", "last_fetch_at",
                                           "last_success_at", "last_change_at", "consecutive_failures", "last_error",
                                           "next_due_at"]
    assert (data[0]["snapshots"], data[0]["fetches"], data[0]["consecutive_failures"]) == (3, 3, 0)


def test_errors_are_one_line_and_exit_2(runner: CliRunner, tmp_path: Path,
                                        write_config: Callable[..., Path]) -> None:
    code, _, err = invoke(runner, tmp_path / "missing.toml", "boards")
    assert code == 2 and err.startswith("Error: config file") and "Traceback" not in err
    cfg = write_config(board_toml(id="b", url="https://x.org/a.csv", format="xml", metric="s",
                                  fields={"model": "m", "s": "s"}))
    code, _, err = invoke(runner, cfg, "run")
    assert code == 2 and "unknown format 'xml' (allowed: csv, html, json, pwc, yaml, parquet)" in err
    cfg = write_config()
    code, _, err = invoke(runner, cfg, "run")
    assert code == 2 and "no boards in" in err and "add a [[board]] table" in err
    cfg = write_config(timm_board())
    code, _, err = invoke(runner, cfg, "show", "nope")
    assert code == 2 and "unknown board 'nope' (configured boards: imagenet-timm)" in err
    code, _, err = invoke(runner, cfg, "show", "imagenet-timm")
    assert code == 2 and "no snapshots yet; run `tracker run imagenet-timm` first" in err
    code, _, err = invoke(runner, cfg, "-v", "show", "imagenet-timm")
    assert code == 2 and "Traceback" in err


def test_import_uses_file_mtime(runner: CliRunner, tmp_path: Path, write_config: Callable[..., Path]) -> None:
    import os

    doc = tmp_path / "old.csv"
    doc.write_text("model,img_size,top1,top5\nA,224,80,90\nB,224,81,91\n")
    os.utime(doc, (1_600_000_000, 1_600_000_000))
    cfg = write_config(timm_board())
    code, out, _ = invoke(runner, cfg, "import", "imagenet-timm", str(doc))
    assert code == 0 and "baseline snapshot #1 (2 rows)" in out
    code, out, _ = invoke(runner, cfg, "show", "imagenet-timm", "--format", "json")
    assert json.loads(out)["observed_at"] == "2020-09-13T12:26:40Z"


def test_env_config_and_formats(runner: CliRunner, monkeypatch: pytest.MonkeyPatch,
                                write_config: Callable[..., Path]) -> None:
    cfg = write_config(timm_board())
    monkeypatch.setenv("TRACKER_CONFIG", str(cfg))
    result = runner.invoke(cli, ["boards"])
    assert result.exit_code == 0 and result.stdout.startswith("board ")
    result = runner.invoke(cli, ["formats"])
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["csv", "html", "json", "pwc", "yaml", "parquet"]


def test_secrets_from_the_environment_never_reach_output(runner: CliRunner, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         write_config: Callable[..., Path]) -> None:
    monkeypatch.setenv("LB_TOKEN", "tok-8f3a9c")
    doc = tmp_path / "lb.csv"
    doc.write_text("model,img_size,top1,top5\nA,224,80,90\n")
    cfg = write_config(timm_board("https://example.org/lb.csv?token=${LB_TOKEN}"))
    invoke(runner, cfg, "import", "imagenet-timm", str(doc))
    outputs = [invoke(runner, cfg, *args) for args in (["boards", "--format", "json"], ["show", "imagenet-timm"],
                                                        ["report", "imagenet-timm"], ["run"], ["-v", "run"])]
    assert "token=${LB_TOKEN}" in outputs[0][1]  # shown as written, never expanded
    for _, out, err in outputs:
        assert "tok-8f3a9c" not in out + err
    db = tmp_path / "tracker.db"
    if db.exists():  # SQLite: no stored row (board url, fetch error, event message) holds the value
        from sqlalchemy import create_engine, text

        engine = create_engine(f"sqlite:///{db}")
        with engine.connect() as conn:
            dump = " ".join(str(v) for t in ("board", "fetch", "event")
                            for r in conn.execute(text(f"SELECT * FROM {t}")) for v in r)
        engine.dispose()
        assert "${LB_TOKEN}" in dump and "tok-8f3a9c" not in dump


def test_diff_refuses_from_newer_than_to_and_points_at_snapshots(runner: CliRunner, timm: Path) -> None:
    code, out, err = invoke(runner, timm, "diff", "imagenet-timm", "--from", "3", "--to", "1")
    assert (code, out) == (2, "") and err == "Error: imagenet-timm: --from #3 is newer than --to #1; swap them\n"
    code, _, err = invoke(runner, timm, "diff", "imagenet-timm", "--to", "99")
    assert code == 2 and "`tracker snapshots imagenet-timm` lists them" in err
    code, out, _ = invoke(runner, timm, "snapshots", "imagenet-timm")
    assert code == 0 and [line.split()[0] for line in out.splitlines()[2:]] == ["1", "2", "3"]


def test_global_options_after_the_command(runner: CliRunner, timm: Path) -> None:
    result = runner.invoke(cli, ["boards", "--format", "json", "--config", str(timm)])
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["snapshots"] == 3
    result = runner.invoke(cli, ["show", "imagenet-timm", "--config", str(timm), "-v", "--as-of", "99"])
    assert result.exit_code == 2 and "Traceback" in result.stderr
