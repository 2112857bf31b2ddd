"""Start-up cost: commands that do not draw or send never import matplotlib or Apprise (issue 10, first step)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from tracker.cli import cli
try:
    cli(sys.argv[1:], prog_name="tracker")
except SystemExit:
    pass
print("HEAVY:" + " ".join(m for m in ("matplotlib", "apprise") if m in sys.modules))
"""


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["formats"]])
def test_light_commands_import_no_heavy_library(args: list[str]) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    heavy = [line for line in out.splitlines() if line.startswith("HEAVY:")]
    assert heavy == ["HEAVY:"], out
