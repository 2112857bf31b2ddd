"""What several benches share."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def compiled(*checkouts: Path) -> None:
    """Write the bytecode of each checkout's tracker package first, as `pip install` does: an editable checkout
    run with PYTHONDONTWRITEBYTECODE=1 (this machine's default) would otherwise compile every module at every start,
    which an installed tracker (or urlwatch) never does."""
    for root in checkouts:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "tracker")], capture_output=True,
                       check=True)
