"""History and report speed on a long history: `history` and `report` at 2,000 snapshots, in-process, best of 5.

Run: .venv/bin/python bench/history.py [--snapshots 2000] [--rows 200] [--repeat 5]
Target (issue 10): <= 50 ms each; leaders and records come from the stored leader columns and events, not from
decoding every snapshot's rows. The store is generated once per checkout and row codec (through the real pipeline: CSV
documents where a few scores move each time and the leader changes now and then) and kept in the temp folder.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from tracker import config, report, views  # noqa: E402
from tracker.history import history  # noqa: E402
from tracker.models import Page  # noqa: E402
from tracker.pipeline import Context, ingest  # noqa: E402
from tracker.store import Archive, Store  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from ingest import best  # noqa: E402  (the same timing helper as the ingest bench)

BOARD = {"id": "h", "title": "History bench", "url": "https://example.org/h.csv", "format": "csv",
         "metric": "score", "metrics": ["other"], "fields": {"model": "model", "score": "score", "other": "other"}}
T0 = datetime(2020, 1, 1, tzinfo=UTC)




def documents(n: int, rows: int, seed: int = 7) -> list[bytes]:
    """n versions of a CSV board: each moves a few scores; every 25th version a new model takes the lead."""
    rnd = random.Random(seed)
    scores = {f"model_{i}": rnd.uniform(50, 80) for i in range(rows)}
    top = 80.0
    out = []
    for v in range(n):
        for name in rnd.sample(sorted(scores), 3):
            scores[name] = min(scores[name] + rnd.uniform(-0.5, 0.5), top - 0.01)
        if v % 25 == 0:
            top += rnd.uniform(0.1, 0.5)
            scores[f"new_{v}"] = top
        buf = io.StringIO()
        buf.write("model,score,other\n")
        for name, s in scores.items():
            buf.write(f"{name},{s:.3f},{s / 2:.3f}\n")
        out.append(buf.getvalue().encode())
    return out


def build_store(path: Path, n: int, rows: int) -> None:
    spec = config.parse({"board": [BOARD]}, base=Path("/")).boards[0]
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    ctx = Context(Store(f"sqlite:///{tmp}"), Archive(path.parent / (path.stem + "-snapshots")))
    for i, doc in enumerate(documents(n, rows)):
        ingest(spec, Page(BOARD["url"], doc, T0 + timedelta(hours=6 * i)), ctx)
    ctx.store.close()
    tmp.rename(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--snapshots", type=int, default=2000)
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    code = hashlib.sha256(str(ROOT).encode() + (ROOT / "tracker" / "store" / "codec.py").read_bytes()).hexdigest()
    db = Path(tempfile.gettempdir()) / f"tracker-bench-history-{args.snapshots}-{args.rows}-{code[:12]}.db"
    if not db.exists():
        t = time.perf_counter()
        build_store(db, args.snapshots, args.rows)
        print(f"(generated {db.name} in {time.perf_counter() - t:.0f} s)")
    settings = config.parse({"board": [BOARD]}, base=Path("/"))
    spec = settings.boards[0]
    store = Store(f"sqlite:///{db}")
    n_snap = len(store.history(spec.id))
    n_events = len(store.events(spec.id))

    def run_history() -> object:
        return history(store, spec)

    def run_report() -> str:  # what `tracker report BOARD` does (markdown), without the terminal
        snap = views.as_of(store, spec, None)
        assert snap is not None
        hist = history(store, spec)
        hist = type(hist)(hist.board, hist.leaders, tuple(r for r in hist.records if r.when <= snap.observed_at))
        return report.markdown(report.build(store, spec, snap, hist, 10))

    h = history(store, spec)
    t_hist, t_report = best(run_history, args.repeat), best(run_report, args.repeat)
    print(f"history bench: {n_snap} snapshots of {args.rows} rows, {n_events} events, "
          f"{len(h.leaders)} reigns, {len(h.records)} records")
    print(f"  history (in-process)        {t_hist * 1000:8.1f} ms   target <= 50 ms")
    print(f"  report, markdown            {t_report * 1000:8.1f} ms   target <= 50 ms")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
