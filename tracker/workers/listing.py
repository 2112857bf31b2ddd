"""What `tracker workers` prints, and `tracker boards` with the worker that ran each board last."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import render
from ..models import BoardStatus
from ..store.pool import WorkerInfo
from ..timeutil import iso, short


def state(w: WorkerInfo, lease: float) -> str:
    """running, stopped (it said so), or gone (no heartbeat for a whole lease: killed, or its machine is)."""
    if w.stopped_at is not None:
        return "stopped"
    return "running" if w.heartbeat_age < lease else "gone"


def age(seconds: float) -> str:
    """A heartbeat age for people: 0.4s, 12s, 5m, 3h, 2d."""
    if seconds < 10:
        return f"{max(seconds, 0):.1f}s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def worker_dict(w: WorkerInfo, lease: float) -> dict[str, Any]:
    """The JSON form of one worker."""
    return {"id": w.id, "host": w.host, "pid": w.pid, "state": state(w, lease), "started_at": iso(w.started_at),
            "heartbeat_at": iso(w.heartbeat_at), "heartbeat_age": round(w.heartbeat_age, 3),
            "stopped_at": iso(w.stopped_at), "running": w.running, "runs": w.runs, "failures": w.failures}


def workers_table(items: Sequence[WorkerInfo], style: str, lease: float) -> str:
    """`tracker workers` output: one line (or JSON object) per worker, newest first."""
    if style == "json":
        return render.to_json([worker_dict(w, lease) for w in items])
    if not items:
        return "no workers have joined this store (start one with `tracker schedule --workers`)"
    rows = [[w.id, w.host, str(w.pid), state(w, lease), age(w.heartbeat_age), str(w.running), str(w.runs),
             str(w.failures), short(w.started_at)] for w in items]
    return render.table(["worker", "host", "pid", "state", "heartbeat", "running", "runs", "failures", "started"],
                        rows)


def boards_with_workers(items: Sequence[BoardStatus], workers: dict[str, str], style: str) -> str:
    """`tracker boards`; in a pool store with a `worker` column (JSON: field) naming who ran each board last."""
    if not workers:
        return render.boards(items, style)
    if style == "json":
        return render.to_json([{**render.status_dict(s), "worker": workers.get(s.id)} for s in items])
    rows = [[s.id, str(s.snapshots), short(s.last_fetch_at), short(s.last_success_at), short(s.last_change_at),
             short(s.next_due_at), str(s.consecutive_failures), workers.get(s.id, ""), (s.last_error or "")[:60]]
            for s in items]
    return render.table(["board", "snapshots", "last fetch", "last success", "last change", "next due", "failures",
                         "worker", "last error"], rows)
