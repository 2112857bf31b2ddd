"""Site build speed: `tracker site` over 10,000 generated boards, then an incremental rebuild with 10 changed boards.

Run: .venv/bin/python bench/site.py [--boards 10000] [--rows 20] [--snapshots 3] [--changed 10]
Targets (issue #12): a full build of 10,000 boards <= 120 s; an incremental rebuild with 10 changed boards <= 5 s.

The store is generated directly through the store's tables (bulk inserts), since running 30,000 imports through the
pipeline would take longer than the build being measured; the rows, leaders and events it holds have the shapes the
pipeline writes (new_sota and leader_changed events, compressed row blobs).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from tracker import config
from tracker.models import Row
from tracker.site import build_site
from tracker.store import Store, encode_rows, pack_rows
from tracker.store.schema import BoardRow, EventRow, SnapshotRow

START = datetime(2024, 1, 1, tzinfo=UTC)


def board_dict(i: int) -> dict[str, Any]:
    """One generated board's [[board]] table; boards fall into 20 collections."""
    return {"id": f"task-{i:05d}", "title": f"Task {i} on dataset {i % 97}", "url": f"https://example.org/{i}.csv",
            "format": "csv", "metric": "score", "fields": {"model": "model", "score": "score", "paper": "paper"}}


def rows_of(rnd: random.Random, n: int, shift: float) -> tuple[Row, ...]:
    """n rows with a score, a paper link and a source position."""
    return tuple(Row((f"model-{j}",), f"model-{j}", {"model": f"model-{j}", "score": f"{v:.2f}",
                                                     "paper": f"https://arxiv.org/abs/2401.{j:05d}"},
                     {"score": v}, j)
                 for j, v in enumerate(round(rnd.uniform(50, 90) + shift * (j == 0), 2) for j in range(n)))


def add_snapshot(conn: Any, board: str, when: datetime, rows: tuple[Row, ...], prev: tuple[Row, ...] | None) -> None:
    """Insert one snapshot and its record/leader events."""
    lead = max(rows, key=lambda r: r.values["score"] or 0)
    enc = encode_rows(rows)
    sid = conn.execute(insert(SnapshotRow).returning(SnapshotRow.id), [{
        "board_id": board, "observed_at": when, "stored_at": when, "content_hash": f"{board}{when}",
        "raw_sha": None, "row_count": len(rows), "leader_key": json.dumps(list(lead.key)),
        "leader_model": lead.model, "leader_value": lead.values["score"], "backfilled": False,
        "rows_blob": pack_rows(rows, enc)}]).scalar_one()
    if prev is None:
        return
    old = max(prev, key=lambda r: r.values["score"] or 0)
    value, before = lead.values["score"] or 0.0, old.values["score"] or 0.0
    if value <= before:
        return
    events = [{"type": "new_sota", "message": f"{board}: new record score {value} by {lead.model}"}]
    if lead.key != old.key:
        events.append({"type": "leader_changed", "message": f"{board}: {lead.model} takes the lead"})
    conn.execute(insert(EventRow), [{
        **e, "board_id": board, "observed_at": when, "snapshot_id": sid, "model": lead.model,
        "key": json.dumps(list(lead.key)), "metric": "score", "value": value, "previous_model": old.model,
        "previous_value": before, "backfilled": False, "notify": False, "alert_pending": False,
        "margin": value - before} for e in events])


def generate(store: Store, n: int, n_rows: int, n_snaps: int) -> None:
    """Fill the store with n boards of n_snaps snapshots each."""
    rnd = random.Random(12)
    with store.engine.begin() as conn:
        conn.execute(insert(BoardRow), [{"id": board_dict(i)["id"], "title": board_dict(i)["title"],
                                         "url": board_dict(i)["url"], "created_at": START} for i in range(n)])
        for i in range(n):
            prev = None
            for k in range(n_snaps):
                rows = rows_of(rnd, n_rows, 5.0 * k)
                add_snapshot(conn, board_dict(i)["id"], START + timedelta(days=30 * k), rows, prev)
                prev = rows


def timed(label: str, fn: Any) -> Any:
    """Run fn, print how long it took (wall, and CPU of this process and its finished workers), return its result."""
    t, c = time.perf_counter(), sum(os.times()[:4])
    out = fn()
    print(f"{label}: {time.perf_counter() - t:.2f} s (CPU {sum(os.times()[:4]) - c:.1f} s)")
    return out


def disk_baseline(folder: Path, n: int, size: int) -> float:
    """Seconds to write n files of `size` bytes, 6 per folder, with no other work (a tenth measured, times 10)."""
    data = b"x" * size
    t = time.perf_counter()
    for i in range(n // 10):
        if i % 6 == 0:
            (folder / str(i)).mkdir(parents=True)
        (folder / str(i - i % 6) / f"f{i % 6}").write_bytes(data)
    return (time.perf_counter() - t) * 10


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", type=int, default=10_000)
    ap.add_argument("--rows", type=int, default=20)
    ap.add_argument("--snapshots", type=int, default=3)
    ap.add_argument("--changed", type=int, default=10)
    ap.add_argument("--workers", type=int, default=None, help="worker processes (default: the CPUs, at most 4)")
    args = ap.parse_args()
    boards = [board_dict(i) for i in range(args.boards)]
    settings = config.parse({"board": boards}, base=Path("/"))
    settings = replace(settings, boards=tuple(replace(b, collection=f"collection-{i % 20:02d}")
                                              for i, b in enumerate(settings.boards)))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        timed(f"generate {args.boards} boards x {args.snapshots} snapshots x {args.rows} rows",
              lambda: generate(store, args.boards, args.rows, args.snapshots))
        out = Path(tmp) / "site"
        full = timed("full build", lambda: build_site(store, settings, out, workers=args.workers))
        print(f"  {full.summary()}")
        again = timed("rebuild, nothing changed", lambda: build_site(store, settings, out))
        print(f"  {again.summary()}")
        rnd = random.Random(99)
        with store.engine.begin() as conn:
            for i in rnd.sample(range(args.boards), args.changed):
                add_snapshot(conn, board_dict(i)["id"], START + timedelta(days=365), rows_of(rnd, args.rows, 40.0),
                             rows_of(rnd, args.rows, 0.0))
        inc = timed(f"incremental rebuild, {args.changed} changed boards", lambda: build_site(store, settings, out))
        print(f"  {inc.summary()}")
        paths = [p for p in out.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in paths)
        print(f"site: {len(paths)} files, {size / 1e6:.1f} MB")
        bare = disk_baseline(Path(tmp) / "bare", len(paths), size // max(1, len(paths)))
        print(f"bare disk: writing {len(paths)} files of {size // max(1, len(paths))} bytes takes about {bare:.1f} s "
              f"(measured on a tenth); the full build is {full.seconds / bare:.1f}x that")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        store.close()


if __name__ == "__main__":
    main()
