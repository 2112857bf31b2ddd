"""Start-up cost (issue 10): commands that do not draw or send never import matplotlib or Apprise, and
`tracker --help` imports no library at all (no command module: the command list comes from a table)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
from tracker.cli import cli
try:
    cli(sys.argv[2:], prog_name="tracker")
except SystemExit:
    pass
heavy = sys.argv[1].split(",")
print("HEAVY:" + " ".join(m for m in heavy if m in sys.modules))
"""


DRAW_SEND = "matplotlib,apprise"
LIBRARIES = "matplotlib,apprise,apscheduler,lxml,cssselect,jmespath,sqlalchemy,alembic,requests,yaml,ijson,orjson"


@pytest.mark.parametrize(("heavy", "args"), [(LIBRARIES, ["--help"]), (LIBRARIES, ["--version"]),
                                             (DRAW_SEND, ["run", "--help"]), (DRAW_SEND, ["formats"])])
def test_light_commands_import_no_heavy_library(heavy: str, args: list[str]) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, heavy, *args], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    loaded = [line for line in out.splitlines() if line.startswith("HEAVY:")]
    assert loaded == ["HEAVY:"], out


# what `tracker boards` (and `tracker run` on boards with nothing new) must not load: drawing, sending, the
# service's scheduler, and the parsers; jmespath too unless a board is JSON or YAML (its config is checked with it)
BOARDS_HEAVY = "matplotlib,apprise,apscheduler,lxml,cssselect"


def probe(tmp: Path, heavy: str, args: list[str], config_path: Path) -> str:
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp / 'tracker.db'}"}
    out = subprocess.run([sys.executable, "-c", PROBE, heavy, "--config", str(config_path), *args], env=env,
                         capture_output=True, text=True, timeout=60, check=True, cwd=tmp).stdout
    return next(line for line in out.splitlines() if line.startswith("HEAVY:"))


def test_boards_with_the_shipped_config_imports_no_heavy_library(tmp_path: Path) -> None:
    assert probe(tmp_path, BOARDS_HEAVY, ["boards"], ROOT / "config.toml") == "HEAVY:"


def test_boards_and_an_unchanged_run_import_no_parser(tmp_path: Path) -> None:
    page = tmp_path / "board.html"
    page.write_text("<table><tr><th>Model</th><th>Score</th></tr><tr><td>a</td><td>1</td></tr></table>")
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[storage]\nsnapshots = "{tmp_path / "snapshots"}"\n[schedule]\ndefault = "*/5 * * * *"\n'
                   f'[[board]]\nid = "b"\nurl = "{page.as_uri()}"\nformat = "html"\nmetric = "score"\n'
                   f'[board.fields]\nmodel = "Model"\nscore = "Score"\n')
    heavy = BOARDS_HEAVY + ",jmespath"
    assert probe(tmp_path, heavy, ["run"], cfg) == "HEAVY:lxml cssselect"  # the first run parses the page
    assert probe(tmp_path, heavy, ["boards"], cfg) == "HEAVY:"
    assert probe(tmp_path, heavy, ["run", "--due"], cfg) == "HEAVY:"  # nothing is due: nothing is parsed
    assert probe(tmp_path, heavy, ["run"], cfg) == "HEAVY:"  # the same bytes again: nothing is parsed
