"""A Papers-With-Code-sized collection: one generated pwc document of N boards, first / unchanged / changed runs.

Run: .venv/bin/python bench/collection.py [--boards 10000] [--rows 30] [--database postgresql+psycopg://...]
With --database the store is that database (a scratch PostgreSQL only: it is emptied first, DROP SCHEMA public
CASCADE), e.g. `--database $(.ci/postgres | tail -n1)`; without it, a temporary SQLite file.
Targets (issue 11): 10,000 boards / 300,000 rows: first run <= 90 s, unchanged run <= 3 s, peak memory <= 1.5 GB
(ru_maxrss of this process; the bare parse runs in another). Each figure is also given as a ratio to a bare
json.loads of the same document, the floor any reader of it pays.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import emptied  # bench/common.py (this folder is on sys.path when a bench runs)

from tracker import config
from tracker.collect import run_collection
from tracker.fetch import HttpFetcher
from tracker.pipeline import Context
from tracker.store import Archive, Store


def document(boards: int, rows: int, seed: int, bump: int = 0) -> bytes:
    """A pwc task list: boards / 10 tasks of 10 datasets, `rows` rows each; `bump` boards get a new leader."""
    rnd = random.Random(seed)
    tasks: list[dict[str, Any]] = []
    for t in range(max(1, boards // 10)):
        datasets = []
        for d in range(10):
            n = t * 10 + d
            if n >= boards:
                break
            items = [{"model_name": f"model {n}-{i}", "paper_title": f"Paper {i}", "paper_url": f"https://arxiv.org/abs/{i}",
                      "paper_date": f"20{10 + i % 15}-0{1 + i % 9}-1{i % 9}", "code_links": [],
                      "uses_additional_data": bool(i % 2),
                      "metrics": {"Top 1 Accuracy": f"{rnd.uniform(50, 90):.2f}%",
                                  "Number of params": f"{rnd.randint(1, 900)}M"}} for i in range(rows)]
            if n < bump:
                items[0]["metrics"]["Top 1 Accuracy"] = "99.99%"
            datasets.append({"dataset": f"Dataset {n}", "description": "",
                             "sota": {"metrics": ["Top 1 Accuracy", "Number of params"], "rows": items},
                             "subdatasets": []})
        tasks.append({"task": f"Task {t}", "description": "", "datasets": datasets, "subtasks": []})
    return json.dumps(tasks).encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--boards", type=int, default=10_000)
    ap.add_argument("--rows", type=int, default=30)
    ap.add_argument("--database", help="a scratch PostgreSQL URL to store into (emptied first)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "evaluation-tables.json"
        data = document(args.boards, args.rows, 1)
        path.write_bytes(data)
        bare = float(subprocess.run(  # in another process, so its memory does not count as tracker's peak
            [sys.executable, "-c", "import json, sys, time; d = open(sys.argv[1], 'rb').read(); "
             "t = time.perf_counter(); json.loads(d); print(time.perf_counter() - t)", str(path)],
            check=True, capture_output=True, text=True).stdout)
        url = emptied(args.database) if args.database else f"sqlite:///{tmp}/t.db"
        settings = config.parse({"storage": {"url": url}, "collection": [
            {"id": "pwc", "url": f"file://{path}", "format": "pwc", "max_bytes": 400_000_000}]}, base=Path(tmp))
        coll = settings.collections[0]
        store = Store(settings.storage_url)
        ctx = Context(store, Archive(Path(tmp) / "snapshots"), HttpFetcher(settings.fetch))
        print(f"document: {args.boards:,} boards, {args.boards * args.rows:,} rows, {len(data) / 1e6:.1f} MB; "
              f"bare json.loads {bare:.2f} s")
        for label, content in (("first run", None), ("unchanged run", None),
                               ("changed run (10 new leaders)", document(args.boards, args.rows, 1, bump=10))):
            if content is not None:
                path.write_bytes(content)
            t = time.perf_counter()
            results = run_collection(coll, ctx)
            took = time.perf_counter() - t
            print(f"{label:>30}: {took:7.2f} s = {took / bare:6.1f}x a bare parse   {results[0].summary()}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{'peak memory':>30}: {peak:7.0f} MB (ru_maxrss)")
        store.close()


if __name__ == "__main__":
    sys.exit(main())
