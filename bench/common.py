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


def emptied(url: str) -> str:
    """Drop everything in a scratch PostgreSQL database (a bench's --database), so a run starts on a new store;
    the URL back."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return url
