"""Tables drawn by JavaScript: `render = "chromium"` boards and `tracker add --render`, with Debian's headless
Chromium against pages served on 127.0.0.1 (skipped, with the reason, where Chromium is not installed)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli

from .conftest import LocalServer, Response, board_toml

needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed "
                                    "(.ci/run installs it)")

PAGE = """<!doctype html><html><head><title>Arena</title></head><body><div id="board">loading...</div>
<script>
setTimeout(function () {
  var rows = [["Gemini-2.5-Pro", %s], ["GPT-4o", 1290], ["Claude", 1280]];
  var html = "<table><thead><tr><th>Model</th><th>Score</th></tr></thead><tbody>";
  rows.forEach(function (r) { html += "<tr><td>" + r[0] + "</td><td>" + r[1] + "</td></tr>"; });
  document.getElementById("board").innerHTML = html + "</tbody></table>";
}, 200);
</script></body></html>"""


def page(score: int) -> bytes:
    return (PAGE % score).encode()


def run(runner: CliRunner, cfg: Path, *args: str) -> tuple[int, str, str]:
    r = runner.invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


@needs_chromium
def test_a_rendered_board_is_tracked_and_the_plain_one_fails(runner: CliRunner, server: LocalServer,
                                                             write_config: Callable[..., Path]) -> None:
    url = server.route("/arena", Response(body=page(1300), headers={"Content-Type": "text/html"}),
                       Response(body=page(1310), headers={"Content-Type": "text/html"}))
    fields = {"model": "Model", "score": "Score"}
    cfg = write_config(board_toml(id="arena", url=url, format="html", metric="score", fields=fields,
                                  render="chromium", wait_for="table"),
                       board_toml(id="plain", url=url, format="html", metric="score", fields=fields))
    code, out, _ = run(runner, cfg, "run", "arena")
    assert code == 0 and "arena: baseline snapshot #1 (3 rows)" in out
    code, out, _ = run(runner, cfg, "run", "plain")  # without rendering the page has no table yet
    assert code == 2 and "plain: FAILED" in out and "no <table>" in out
    code, out, _ = run(runner, cfg, "run", "arena")
    assert code == 0 and "1 score_changed" in out
    code, out, _ = run(runner, cfg, "show", "arena")
    assert "Gemini-2.5-Pro" in out and "1310" in out


@needs_chromium
def test_wait_for_that_never_appears_is_a_clear_failure(runner: CliRunner, server: LocalServer,
                                                       write_config: Callable[..., Path]) -> None:
    url = server.route("/arena", Response(body=page(1300), headers={"Content-Type": "text/html"}))
    cfg = write_config(board_toml(id="arena", url=url, format="html", metric="score",
                                  fields={"model": "Model", "score": "Score"}, render="chromium",
                                  wait_for="table.results"))
    code, out, _ = run(runner, cfg, "run")
    assert code == 2 and "no element matching wait_for 'table.results'" in out


def test_missing_chromium_says_how_to_install_it(runner: CliRunner, server: LocalServer,
                                                 write_config: Callable[..., Path]) -> None:
    url = server.route("/arena", Response(body=page(1300)))
    cfg = write_config(board_toml(id="arena", url=url, format="html", metric="score",
                                  fields={"model": "Model", "score": "Score"}, render="chromium"),
                       extra='[fetch]\nper_host_delay = 0\nrobots = false\nchromium = "/nonexistent/chromium"\n')
    code, out, _ = run(runner, cfg, "run")
    assert code == 2 and "no Chromium at '/nonexistent/chromium'; install Debian's chromium" in out


@needs_chromium
def test_add_render_writes_a_rendering_board(runner: CliRunner, server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/arena", Response(body=page(1300), headers={"Content-Type": "text/html"}))
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "t.db"}"\n[fetch]\nper_host_delay = 0\nrobots = false\n')
    code, out, err = run(runner, cfg, "add", url, "--render", "--id", "arena", "--yes")
    assert code == 0, out + err
    text = cfg.read_text()
    assert 'render = "chromium"' in text and 'wait_for = "table"' in text
    assert "arena: baseline snapshot #1 (3 rows)" in out
    code, out, _ = run(runner, cfg, "check", "arena")
    assert code == 0 and "leader Gemini-2.5-Pro (1300)" in out
