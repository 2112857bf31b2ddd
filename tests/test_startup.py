"""Start-up cost (issue 10): commands that do not draw or send never import matplotlib or Apprise, and
`tracker --help` imports no library at all (no command module: the command list comes from a table)."""

from __future__ import annotations

import subprocess
import sys

import pytest

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
