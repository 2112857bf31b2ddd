"""The floor under bench/urlwatch.py: the least a Python watcher can do on the same 100 local boards, against
urlwatch 2.29 and tracker.

Run: .venv/bin/python bench/floor.py [--boards 100] [--repeat 5] [--urlwatch /tmp/uw/bin/urlwatch]

"floor" is one process that imports click and requests, reads each URL's ETag from an SQLite file (stdlib
sqlite3), sends the 100 conditional GETs from 8 threads and writes the answers' ETags back: no config, no
robots.txt, no parse, no diff, no SQLAlchemy. Whatever tracker does beyond that costs time on top of it, so the
floor's ratio to urlwatch is the best any such design can reach; issue 10 asks tracker for <= 0.8x on every pass.
"+sqlalchemy" is the same floor that also imports SQLAlchemy and its ORM, as tracker's store does.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import compiled  # bench/common.py (this folder is on sys.path when a bench runs)
from urlwatch import ROOT, Boards, serve, tracker_setup, urls, urlwatch_setup

FLOOR = r"""
import sqlite3, sys
from concurrent.futures import ThreadPoolExecutor
import click, requests  # what a command-line watcher imports at least
if sys.argv[3:] == ["sqlalchemy"]:
    import sqlalchemy.orm
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE IF NOT EXISTS seen (url TEXT PRIMARY KEY, etag TEXT)")
etags = dict(db.execute("SELECT url, etag FROM seen"))
session = requests.Session()
def get(url):
    r = session.get(url, headers={"If-None-Match": etags[url]} if url in etags else {}, timeout=10)
    return url, r.headers.get("ETag"), r.content
with ThreadPoolExecutor(8) as pool:
    answers = list(pool.map(get, open(sys.argv[2]).read().split()))
with db:
    db.executemany("INSERT OR REPLACE INTO seen VALUES (?, ?)", [(u, e) for u, e, _ in answers])
"""


def timed(cmd: list[str], cwd: Path) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True, cwd=cwd, timeout=600)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--boards", type=int, default=100)
    ap.add_argument("--rows", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--urlwatch", default=shutil.which("urlwatch") or "/tmp/uw/bin/urlwatch")
    args = ap.parse_args()
    compiled(ROOT)
    boards = Boards(args.boards, args.rows)
    servers = serve(boards, min(args.boards, 250))
    board_urls = urls(servers, args.boards)
    tools = {"floor": lambda d: [sys.executable, str(d / "floor.py"), str(d / "floor.db"), str(d / "urls.txt")],
             "+sqlalchemy": lambda d: [sys.executable, str(d / "floor.py"), str(d / "floor.db"), str(d / "urls.txt"),
                                       "sqlalchemy"],
             "tracker": lambda d: tracker_setup(d, board_urls, True)}
    if Path(args.urlwatch).exists():
        tools["urlwatch"] = lambda d: urlwatch_setup(d, board_urls, args.urlwatch)
    else:
        print(f"urlwatch not found at {args.urlwatch}: no ratios (pip install urlwatch==2.29 into /tmp/uw)")
    best: dict[tuple[str, str], float] = {}
    for _ in range(args.repeat):
        for tool, setup in tools.items():
            d = Path(tempfile.mkdtemp(prefix=f"bench-floor-{tool}-"))
            (d / "floor.py").write_text(FLOOR)
            (d / "urls.txt").write_text("\n".join(board_urls))
            cmd = setup(d)
            for name, version in (("first", 1), ("changed", 2), ("unchanged", 2)):
                boards.version = version
                took = timed(cmd, d)
                best[tool, name] = min(took, best.get((tool, name), took))
            shutil.rmtree(d, ignore_errors=True)
    print(f"{args.boards} local boards of {args.rows} rows, best of {args.repeat}, one command-line run per pass")
    for name in ("first", "changed", "unchanged"):
        line = "  " + name.ljust(10) + "".join(f"  {tool} {best[tool, name]:5.2f} s" for tool in tools)
        if "urlwatch" in tools:
            uw = best["urlwatch", name]
            line += "   /urlwatch: " + ", ".join(f"{tool} {best[tool, name] / uw:.2f}x" for tool in tools
                                                  if tool != "urlwatch")
        print(line)
    for srv in servers:
        srv.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
