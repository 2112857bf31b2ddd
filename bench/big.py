"""A 200,000-row HTML board: time and peak memory of a changed import (and of the first one), each in a fresh process.

Run: .venv/bin/python bench/big.py [--rows 200000] [--repeat 3] [--base /path/to/other/checkout]
Target (issue 10): changed import <= 8 s and <= 400 MB peak RSS (it was 25-34 s and 1.47 GB).

Peak RSS is the child process's ru_maxrss (resource.getrusage), so it counts the interpreter, the imports, the
document and everything the import holds at its worst moment; --tracemalloc adds Python's own allocation peak, and
--stages each stage's time and the memory after it (where the peak is reached, and what each stage leaves held).
With --base, the same runs go through another checkout (e.g. a copy of the previous version) side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

CHILD = r"""
import functools, json, resource, sys, time, tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from tracker import config, pipeline
from tracker.models import Page
from tracker.pipeline import Context, ingest
from tracker.store import Archive, Store
store_dir, doc_path, trace, staged = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1"
spec = config.parse({"board": [{"id": "b", "title": "B", "url": "https://example.org/x", "format": "html",
    "metric": "top1", "metrics": ["top5"], "fields": {"model": "Model", "top1": "Top 1", "top5": "Top 5",
    "params": {"from": "Params", "type": "number"}, "date": {"from": "Date", "type": "date"}}}]},
    base=Path("/")).boards[0]
doc = doc_path.read_bytes()
ctx = Context(Store(f"sqlite:///{store_dir / 't.db'}"), Archive(store_dir / "snapshots"))
stages = []

def rss_mb():
    with open("/proc/self/status") as f:
        found = dict(line.split(":", 1) for line in f if line.startswith(("VmRSS", "VmHWM")))
    return {k: int(v.split()[0]) / 1024 for k, v in found.items()}

def staged_call(owner, name, label):
    fn = getattr(owner, name, None)
    if fn is None:  # the pipeline changed: that stage is not shown
        return
    @functools.wraps(fn)
    def timed(*args, **kw):
        if trace:
            tracemalloc.reset_peak()
        t = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            took, mem = time.perf_counter() - t, rss_mb()
            cur, peak = tracemalloc.get_traced_memory() if trace else (0, 0)
            stages.append({"stage": label, "seconds": took, "rss_mb": mem.get("VmRSS", 0),
                           "hwm_mb": mem.get("VmHWM", 0), "py_mb": cur / 2**20, "py_peak_mb": peak / 2**20})
    setattr(owner, name, timed)

if staged:  # what each stage of the import took, and the memory after it (RSS, its high-water mark, Python's own)
    for owner, name, label in ((Store, "latest", "read head"), (pipeline, "parse_source", "parse"),
                               (pipeline, "normalize", "normalize"), (pipeline, "content_hash", "content hash"),
                               (pipeline, "judge", "judge (diff)"), (Store, "save", "save")):
        staged_call(owner, name, label)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if trace:
    tracemalloc.start()
t = time.perf_counter()
r = ingest(spec, Page("https://example.org/x", doc, datetime.now(UTC)), ctx)
took = time.perf_counter() - t
peak_py = tracemalloc.get_traced_memory()[1] if trace else 0
print(json.dumps({"status": r.status, "events": len(r.events), "seconds": took, "rows": r.rows,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rss_before_mb": before / 1024,
                  "tracemalloc_mb": peak_py / 2**20, "stages": stages}))
"""


def child(checkout: Path, store_dir: Path, doc: Path, trace: bool, staged: bool = False) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(store_dir), str(doc), "1" if trace else "0",
                          "1" if staged else "0"], env=env,
                         capture_output=True, text=True, check=True, cwd=store_dir).stdout  # not the checkout's cwd
    return dict(json.loads(out.strip().splitlines()[-1]))


def run(checkout: Path, docs: tuple[Path, Path], repeat: int, trace: bool,
        staged: bool = False) -> dict[str, dict[str, object]]:
    """Best of `repeat`: a first import into a fresh store, then (fresh process) the changed import."""
    best: dict[str, dict[str, object]] = {}
    for _ in range(repeat):
        d = Path(tempfile.mkdtemp(prefix="tracker-big-"))
        first = child(checkout, d, docs[0], trace, staged)
        changed = child(checkout, d, docs[1], trace, staged)
        assert first["status"] == "baseline" and changed["status"] == "changed", (first, changed)
        for name, r in (("first", first), ("changed", changed)):
            if name not in best or float(str(r["seconds"])) < float(str(best[name]["seconds"])):
                best[name] = r
    return best


def print_stages(result: dict[str, object], trace: bool) -> None:
    """Each stage of one import: its time, then RSS and its high-water mark after it (and Python's own memory)."""
    stages = result.get("stages")
    for st in stages if isinstance(stages, list) else []:
        py = (f"   Python {st['py_mb']:5.0f} MB after, {st['py_peak_mb']:5.0f} MB peak within" if trace else "")
        print(f"      {st['stage']:14} {st['seconds']:6.2f} s   RSS after {st['rss_mb']:6.0f} MB, "
              f"high-water {st['hwm_mb']:6.0f} MB{py}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--base", type=Path, help="another checkout to measure side by side (e.g. the previous version)")
    ap.add_argument("--tracemalloc", action="store_true", help="also report Python's allocation peak (slower)")
    ap.add_argument("--stages", action="store_true",
                    help="also show each stage's time and the memory after it (with --tracemalloc: Python's own)")
    args = ap.parse_args()
    from ingest import html_board

    tmp = Path(tempfile.mkdtemp(prefix="tracker-big-docs-"))
    docs = (tmp / "a.html", tmp / "b.html")
    docs[0].write_bytes(html_board(args.rows, 1))
    docs[1].write_bytes(html_board(args.rows, 2))
    print(f"{args.rows:,}-row HTML board, {docs[0].stat().st_size / 1e6:.1f} MB; best of {args.repeat}, "
          f"each import in a fresh process")
    results = {"this checkout": run(ROOT, docs, args.repeat, args.tracemalloc, args.stages)}
    if args.base:
        results["base " + str(args.base)] = run(args.base, docs, args.repeat, args.tracemalloc, args.stages)
    for name, r in results.items():
        for what in ("first", "changed"):
            x = r[what]
            extra = f", tracemalloc peak {float(str(x['tracemalloc_mb'])):.0f} MB" if args.tracemalloc else ""
            print(f"  {name:24} {what:8} import {float(str(x['seconds'])):6.2f} s   peak RSS "
                  f"{float(str(x['rss_mb'])):6.0f} MB{extra}   ({x['events']} events)")
            print_stages(x, args.tracemalloc)
    if args.base:
        new, old = results["this checkout"]["changed"], results["base " + str(args.base)]["changed"]
        print(f"  changed import: {float(str(old['seconds'])) / float(str(new['seconds'])):.2f}x faster, peak RSS "
              f"{float(str(old['rss_mb'])) / float(str(new['rss_mb'])):.2f}x smaller "
              f"(target <= 8 s and <= 400 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
