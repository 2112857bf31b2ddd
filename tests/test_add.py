"""`tracker add` (detect a document's table, append a [[board]], store a baseline) and `tracker check` (a dry run)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.store import Store

from .conftest import REAL, ROOT, LocalServer, Response, versions

ADD = Path(__file__).resolve().parent / "fixtures" / "add"
PREVIOUS = '# my tracker config\t(keep this comment)\n\n[schedule]\ndefault = "0 7 * * *"   # daily\n'


def invoke(runner: CliRunner, cfg: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(cli, ["--config", str(cfg), *args], input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cfg(write_config: Callable[..., Path]) -> Path:
    return write_config(extra=PREVIOUS)


def serve(server: LocalServer, name: str, content_type: str = "") -> str:
    headers = {"Content-Type": content_type} if content_type else {}
    return server.route(f"/{name}", Response(body=(ADD / name).read_bytes(), headers=headers))


def board(cfg: Path, board_id: str) -> dict[str, object]:
    data = tomllib.loads(cfg.read_text())
    return next(b for b in data["board"] if b["id"] == board_id)


def assert_tracked(runner: CliRunner, cfg: Path, board_id: str, before: bytes) -> None:
    """The old text is kept byte for byte, and the new board round-trips through check and run."""
    assert cfg.read_bytes().startswith(before)
    code, out, err = invoke(runner, cfg, "check", board_id)
    assert code == 0, out + err
    assert out.startswith(f"{board_id}: unchanged since snapshot #1")
    code, out, err = invoke(runner, cfg, "run", board_id)
    assert (code, out.strip()) == (0, f"{board_id}: unchanged"), err


def test_add_csv_with_yes(runner: CliRunner, server: LocalServer, cfg: Path) -> None:
    url = serve(server, "semicolon.csv", "text/csv")
    before = cfg.read_bytes()
    code, out, err = invoke(runner, cfg, "add", url, "--yes")
    assert code == 0, err
    assert "CSV, semicolon-separated: 3 rows, 3 columns" in out
    assert "proposed board 'semicolon': entries named by 'model'; metric 'accuracy' (higher is better)" in out
    assert out.rstrip().endswith("semicolon: baseline snapshot #1 (3 rows)")
    b = board(cfg, "semicolon")
    assert (b["url"], b["format"], b["metric"], b["fields"]) == (url, "csv", "accuracy",
                                                                {"model": "model", "accuracy": "accuracy"})
    assert '# params = { from = "params", type = "number" }' in cfg.read_text()  # other columns, commented out
    assert_tracked(runner, cfg, "semicolon", before)


def test_add_json_list_nested_in_objects(runner: CliRunner, server: LocalServer, cfg: Path) -> None:
    url = serve(server, "rows.json", "application/json")
    before = cfg.read_bytes()
    code, out, err = invoke(runner, cfg, "add", url, "--id", "entries", "--yes")
    assert code == 0, err
    b = board(cfg, "entries")
    assert (b["format"], b["rows"], b["metric"], b["fields"]) == ("json", "data.entries", "score",
                                                                  {"model": "model", "score": "score"})
    assert "entries: baseline snapshot #1 (3 rows)" in out
    assert_tracked(runner, cfg, "entries", before)


def test_add_json_object_keyed_by_model(runner: CliRunner, server: LocalServer, cfg: Path) -> None:
    url = serve(server, "keyed.json")
    before = cfg.read_bytes()
    code, out, err = invoke(runner, cfg, "add", url, "--yes")
    assert code == 0, err
    b = board(cfg, "keyed")
    assert (b["rows"], b["metric"], b["fields"]) == ("values(results)", "pass_1",
                                                     {"model": "name", "pass_1": '"pass@1"'})
    assert_tracked(runner, cfg, "keyed", before)
    code, out, _ = invoke(runner, cfg, "show", "keyed")
    assert "leader Claude 3.5 Sonnet (92)" in out


def test_add_html_second_table_by_option(runner: CliRunner, server: LocalServer, cfg: Path) -> None:
    url = serve(server, "two_tables.html", "text/html; charset=utf-8")
    before = cfg.read_bytes()
    code, out, err = invoke(runner, cfg, "add", url, "--table", "2", "--id", "asr", "--yes")
    assert code == 0, err
    assert "2 tables" in out and "2. HTML table #2 of 2 (ASR word error rate) (selector 'table.wide'): 3 rows" in out
    assert "metric 'WER (%)' (lower is better)" in out
    b = board(cfg, "asr")
    assert (b["title"], b["selector"], b["higher_is_better"], b["fields"]) == (
        "ASR word error rate", "table.wide", False, {"model": "System", "wer": "WER (%)"})
    assert_tracked(runner, cfg, "asr", before)
    code, out, _ = invoke(runner, cfg, "show", "asr")
    assert "leader parakeet (3.9)" in out


def test_add_html_interactive(runner: CliRunner, server: LocalServer, cfg: Path) -> None:
    url = serve(server, "two_tables.html")
    before = cfg.read_bytes()
    # pick table 2, decline the proposal, then name the columns, keep lower-is-better, give an id, confirm
    code, out, err = invoke(runner, cfg, "add", url, input="2\nn\nSystem\n3\nn\nasr-wer\ny\n")
    assert code == 0, out + err
    assert "Which table? [1]: 2" in out
    assert "proposed board 'asr-wer': entries named by 'System'; metric 'WER (%)' (lower is better)" in out
    assert board(cfg, "asr-wer")["selector"] == "table.wide"
    assert_tracked(runner, cfg, "asr-wer", before)


def test_add_html_default_table_and_abort(runner: CliRunner, server: LocalServer, cfg: Path) -> None:
    url = serve(server, "two_tables.html")
    before = cfg.read_bytes()
    code, out, _ = invoke(runner, cfg, "add", url, input="\nn\n\n\n\n\nn\n")
    assert code == 1 and "proposed board 'two_tables': entries named by 'Model'; metric 'Elo'" in out
    assert cfg.read_bytes() == before


@pytest.mark.parametrize(("name", "message"), [
    ("no_table.html", "no table found (html: no <table> with data rows)"),
    ("no_numbers.csv", "has no numeric column to track (columns: model, organization, license)"),
])
def test_add_refuses_in_one_line_and_writes_nothing(runner: CliRunner, server: LocalServer, cfg: Path, db_url: str,
                                                    name: str, message: str) -> None:
    url = serve(server, name)
    before = cfg.read_bytes()
    code, _out, err = invoke(runner, cfg, "add", url, "--yes")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("Error: ") and message in err, err
    assert cfg.read_bytes() == before
    store = Store(db_url)
    try:
        assert store.latest(Path(name).stem) is None
    finally:
        store.close()


def test_add_refuses_existing_id_render_and_warns_on_duplicate_url(runner: CliRunner, server: LocalServer,
                                                                   cfg: Path) -> None:
    url = serve(server, "semicolon.csv")
    assert invoke(runner, cfg, "add", url, "--yes")[0] == 0
    before = cfg.read_bytes()
    code, _, err = invoke(runner, cfg, "add", url, "--yes")
    assert code == 2 and "board 'semicolon' already exists" in err and "--id NEW" in err
    code, _, err = invoke(runner, cfg, "add", url, "--render", "--id", "rendered", "--yes")
    if shutil.which("chromium"):  # a CSV shown by Chromium is text, not a table: refused, nothing written
        assert code == 2 and "the rendered page has no element matching wait_for 'table'" in err
    else:
        assert code == 2 and "no Chromium at 'chromium'" in err
    assert cfg.read_bytes() == before
    code, _out, err = invoke(runner, cfg, "add", url, "--id", "again", "--yes")
    assert code == 0 and f"warning: board 'semicolon' already tracks {url}" in err


def test_add_creates_a_missing_config(runner: CliRunner, tmp_path: Path) -> None:
    cfg = tmp_path / "new" / "config.toml"
    cfg.parent.mkdir()
    code, _out, err = invoke(runner, cfg, "add", str(ADD / "semicolon.csv"), "--yes")
    assert code == 0, err
    assert cfg.read_text().startswith("# tracker's configuration")
    assert board(cfg, "semicolon")["url"] == "file://" + str(ADD / "semicolon.csv")


def test_add_tsv_file_keeps_a_crlf_config_without_final_newline(runner: CliRunner, tmp_path: Path,
                                                                 write_config: Callable[..., Path]) -> None:
    cfg = write_config()
    cfg.write_bytes(cfg.read_bytes().replace(b"\n", b"\r\n") + b"# last line, no newline")
    before = cfg.read_bytes()
    doc = tmp_path / "speed.tsv"
    doc.write_text("Rank\tMethod\tLatency (ms)\tNotes\n1\tfast-a\t12.5\tok\n2\tfast-b\t14\tok\n")
    code, out, err = invoke(runner, cfg, "add", str(doc), "--yes")
    assert code == 0, err
    assert "CSV, tab-separated: 2 rows, 4 columns" in out
    assert "entries named by 'Method'; metric 'Latency (ms)' (lower is better)" in out
    after = cfg.read_bytes()
    assert after.startswith(before + b"\r\n\r\n# speed: added by `tracker add`") and b"\r\n[[board]]\r\n" in after
    assert b"\n" not in after.replace(b"\r\n", b"")
    assert board(cfg, "speed")["url"] == "file://" + str(doc)
    assert invoke(runner, cfg, "check", "speed")[0] == 0


def test_add_real_timm_file_in_place(runner: CliRunner, cfg: Path) -> None:
    first = versions("timm-imagenet")[0]["file"]
    path = REAL / "timm-imagenet" / first
    code, out, err = invoke(runner, cfg, "add", str(path), "--id", "timm", "--yes")
    assert code == 0, err
    assert "entries named by 'model'; metric 'top1' (higher is better)" in out
    b = board(cfg, "timm")
    assert (b["url"], b["metric"], b["fields"]) == ("file://" + str(path), "top1", {"model": "model", "top1": "top1"})
    newest = versions("timm-imagenet")[-1]["file"]
    code, out, _ = invoke(runner, cfg, "check", "timm", str(REAL / "timm-imagenet" / newest))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("timm: would store a new snapshot (")
    assert any(x.startswith("against snapshot #1 (") and "new_sota" in x for x in lines)
    assert any(x.startswith("* new record top1 ") for x in lines) and any(x.startswith("! ") for x in lines)


def test_check_stores_nothing_and_exits_2_when_quarantined(runner: CliRunner, server: LocalServer, cfg: Path,
                                                          db_url: str, tmp_path: Path) -> None:
    url = serve(server, "semicolon.csv")
    assert invoke(runner, cfg, "add", url, "--yes")[0] == 0
    store = Store(db_url)
    try:
        fetches = len(store.fetches("semicolon"))
        archived = sorted((tmp_path / "snapshots").rglob("*"))
        server.route("/semicolon.csv", Response(body=b"model;accuracy\nalpha;80\n"))
        code, out, err = invoke(runner, cfg, "check", "semicolon")
        assert code == 2
        assert out.startswith("semicolon: would be quarantined: 1 rows, down from 3 (more than max_drop")
        code, out, _ = invoke(runner, cfg, "check", "semicolon", "--force")
        lines = out.splitlines()
        assert code == 0 and lines[0] == "semicolon: would store a new snapshot (1 rows); leader alpha (80)"
        assert lines[1].startswith("against snapshot #1 (")
        assert lines[1].endswith("): 1 new_sota, 1 leader_changed, 2 entry_removed, 1 score_changed")
        assert lines[2].startswith("* new record accuracy 80 by alpha") and lines[3].startswith("! alpha (80)")
        server.route("/semicolon.csv", Response(500, b"down"))
        code, out, err = invoke(runner, cfg, "check", "semicolon")
        assert code == 2 and "HTTP 500" in err
        assert [s.id for s in store.history("semicolon")] == [1]
        assert len(store.fetches("semicolon")) == fetches
        assert sorted((tmp_path / "snapshots").rglob("*")) == archived
    finally:
        store.close()


def test_walkthrough_in_readme_is_current() -> None:
    """README's Walkthrough is what scripts/walkthrough.py generates (it runs the commands in a temporary folder)."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "walkthrough.py"), "--check"], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_add_proposes_the_confidence_interval_of_an_arena(runner: CliRunner, cfg: Path) -> None:
    files = [REAL / "lmarena-vision" / v["file"] for v in versions("lmarena-vision")]
    code, out, _ = invoke(runner, cfg, "add", str(files[0]), "--id", "vision", "--yes", "--observed-at", "2025-07-27")
    assert code == 0 and 'ci = "95_pct_ci"' in cfg.read_text()
    code, out, _ = invoke(runner, cfg, "import", "vision", *map(str, files[1:]), "--observed-at", "name")
    assert code == 0
    code, out, _ = invoke(runner, cfg, "events", "--type", "leader_changed", "--format", "json")
    flips = json.loads(out)
    assert len(flips) == 2 and [f["significant"] for f in flips] == [False, False]
