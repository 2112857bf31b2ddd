"""Cold start: `tracker --help` and `tracker run` with nothing to do, wall time and peak RSS, best of N.

Run: .venv/bin/python bench/startup.py [--repeat 5] [--urlwatch /tmp/uw/bin/urlwatch]
Targets (issue 10): `tracker --help` <= 250 ms (urlwatch --help: 165 ms there); `tracker run` with nothing to do
<= 400 ms ("nothing to do": a configuration without boards). Also shown: `tracker run --due` when one board is
configured and not due (what a cron job pays most of the time).
Each command runs in a fresh process; its peak RSS comes from os.wait4's rusage.
The tracker package is byte-compiled first (see compiled()), as an installed one is.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import compiled  # bench/common.py (this folder is on sys.path when a bench runs)


def measure(cmd: list[str], repeat: int) -> tuple[float, float]:
    """Best wall time (s) and the peak RSS (MB) of that run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    best = (float("inf"), 0.0)
    for _ in range(repeat):
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        took = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        if took < best[0]:
            best = (took, usage.ru_maxrss / 1024)
    return best

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--urlwatch", default=shutil.which("urlwatch") or "/tmp/uw/bin/urlwatch")
    args = ap.parse_args()
    compiled(ROOT)
    d = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    cfg = d / "config.toml"
    cfg.write_text(f'[storage]\nurl = "sqlite:///{d / "t.db"}"\nsnapshots = "{d / "snapshots"}"\n')
    tracker = [sys.executable, "-m", "tracker"]
    subprocess.run([*tracker, "--config", str(cfg), "run"], capture_output=True)  # create the store once
    board = d / "board.csv"
    board.write_text("model,top1\na,80\nb,81\n")
    due_cfg = d / "due.toml"
    due_cfg.write_text(f'[storage]\nurl = "sqlite:///{d / "due.db"}"\nsnapshots = "{d / "snapshots"}"\n'
                       f'[[board]]\nid = "b"\nurl = "file://{board}"\nformat = "csv"\nmetric = "top1"\n'
                       f'[board.fields]\nmodel = "model"\ntop1 = "top1"\n')
    subprocess.run([*tracker, "--config", str(due_cfg), "run"], capture_output=True)  # the board ran: not due
    rows = [("tracker --help", [*tracker, "--help"], 0.250),
            ("tracker run (nothing to do)", [*tracker, "--config", str(cfg), "run"], 0.400),
            ("tracker run --due (none due)", [*tracker, "--config", str(due_cfg), "run", "--due"], None)]
    if Path(args.urlwatch).exists():
        rows.append(("urlwatch --help", [args.urlwatch, "--help"], None))
    print(f"cold start, best of {args.repeat} (fresh process each)")
    for name, cmd, target in rows:
        t, rss = measure(cmd, args.repeat)
        goal = f"   target <= {target * 1000:.0f} ms" if target else ""
        print(f"  {name:30} {t * 1000:7.0f} ms  {rss:6.0f} MB{goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
