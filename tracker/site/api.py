"""The JSON documents of the site (`"schema": 1`): api/boards.json, api/b/<id>.json, rows.json, history.json,
and rows.csv. The README documents every key; tests/test_site.py checks them against that description."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from ..numbers import strict
from ..timeutil import iso
from ..views import Standing
from .collect import BoardData

SCHEMA = 1


def dumps(doc: Any) -> bytes:
    """Strict JSON (NaN and infinities as null), UTF-8, compact; walks the document only when it holds NaN."""
    try:
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except ValueError:
        return json.dumps(strict(doc), ensure_ascii=False, separators=(",", ":")).encode()


def tidy(x: float | None) -> float | None:
    """A difference without float noise (0.09999999999999432 -> 0.1)."""
    return round(x, 9) if x is not None else None


def row_dict(data: BoardData, s: Standing) -> dict[str, Any]:
    """One ranked entry: rank, model, name (model with its other key fields), key, fields, values."""
    return {"rank": s.rank, "model": s.row.model, "name": data.name(s), "key": list(s.row.key),
            "value": s.row.value(data.spec.metric), "leader": s.leader, "fields": dict(s.row.fields),
            "values": dict(s.row.values)}


def leader_dict(data: BoardData) -> dict[str, Any] | None:
    """The leader: model, name, value, since (when its current reign began), margin over the runner-up."""
    lead = data.leader
    if lead is None:
        return None
    reign = data.reign
    return {"model": lead.row.model, "name": data.name(lead), "value": lead.row.value(data.spec.metric),
            "since": iso(reign.since) if reign else None, "margin": tidy(data.margin)}


def record_dict(data: BoardData) -> dict[str, Any] | None:
    """The current record (the last step of the record progression)."""
    if not data.history.records:
        return None
    r = data.history.records[-1]
    return {"model": r.model, "value": r.value, "when": iso(r.when)}


def summary(data: BoardData, url: str, api: str) -> dict[str, Any]:
    """The board's entry in api/boards.json (also kept in the build manifest for incremental builds)."""
    s = data.spec
    runner = data.runners_up[0] if data.runners_up else None
    return {"id": s.id, "title": s.title, "url": url, "api": api, "source": s.url, "collection": s.collection,
            "metric": s.metric, "higher_is_better": s.higher_is_better, "leader": leader_dict(data),
            "runner_up": ({"model": runner.row.model, "name": data.name(runner),
                           "value": runner.row.value(s.metric)} if runner else None),
            "record": record_dict(data), "entries": data.snap.row_count or len(data.ranked),
            "as_of": iso(data.snap.observed_at), "snapshot_id": data.snap.id,
            "last_change_at": iso(data.snap.observed_at)}


def boards_doc(entries: list[dict[str, Any]], generated_at: str, as_of: str | None) -> dict[str, Any]:
    """api/boards.json: every board of the site."""
    return {"schema": SCHEMA, "generated_at": generated_at, "as_of": as_of, "boards": entries}


def history_dict(data: BoardData) -> dict[str, Any]:
    """The leader timeline, the record progression and the leader changes and new records."""
    h = data.history
    return {
        "leaders": [{"model": r.model, "key": list(r.key), "value": r.value, "since": iso(r.since),
                     "until": iso(r.until)} for r in h.leaders],
        "records": [{"model": r.model, "value": r.value, "when": iso(r.when), "margin": tidy(r.margin),
                     "snapshot_id": r.snapshot_id, "backdated": r.backdated} for r in h.records],
        "events": [{"id": e.id, "type": e.type.value, "observed_at": iso(e.observed_at), "model": e.model,
                    "value": e.value, "previous_model": e.previous_model, "previous_value": e.previous_value,
                    "margin": tidy(e.margin), "message": e.message} for e in data.key_events],
    }


def head(data: BoardData) -> dict[str, Any]:
    """The keys every per-board document starts with."""
    s = data.spec
    return {"schema": SCHEMA, "id": s.id, "title": s.title, "source": s.url, "metric": s.metric,
            "higher_is_better": s.higher_is_better, "metrics": list(s.tracked), "key": list(s.key),
            "as_of": iso(data.snap.observed_at), "snapshot_id": data.snap.id}


def board_doc(data: BoardData) -> dict[str, Any]:
    """api/b/<id>.json: the current rows, the leader, the runners-up, the records and the leader timeline."""
    h = history_dict(data)
    return {**head(data), "leader": leader_dict(data),
            "runners_up": [row_dict(data, s) for s in data.runners_up], "record": record_dict(data),
            "rows": [row_dict(data, s) for s in data.ranked], "records": h["records"], "leaders": h["leaders"]}


def rows_doc(data: BoardData) -> dict[str, Any]:
    """b/<id>/rows.json: the ranked rows."""
    return {**head(data), "rows": [row_dict(data, s) for s in data.ranked]}


def history_doc(data: BoardData) -> dict[str, Any]:
    """b/<id>/history.json: leaders, records and key events."""
    return {**head(data), **history_dict(data)}


def columns(data: BoardData) -> list[str]:
    """The board's fields in table order: key fields, primary metric, tracked metrics, then the rest."""
    s = data.spec
    names = [f.name for f in s.fields]
    first = [k for k in s.key if k in names or k == "model"]
    metrics = [m for m in s.tracked if m not in first]
    return first + metrics + [n for n in names if n not in first and n not in metrics]


def rows_csv(data: BoardData) -> bytes:
    """b/<id>/rows.csv: rank then every field as text (numbers as parsed)."""
    cols = columns(data)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["rank", *cols])
    for s in data.ranked:
        cells: list[Any] = [s.rank if s.rank is not None else ""]
        for c in cols:
            v = s.row.values.get(c)
            cells.append(v if v is not None else (s.row.model if c == "model" else s.row.fields.get(c) or ""))
        w.writerow(cells)
    return buf.getvalue().encode()
