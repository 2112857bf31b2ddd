"""Turning results into text, JSON and Markdown for the terminal; pure functions."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from textwrap import indent
from typing import TYPE_CHECKING, Any

from .models import BoardStatus, Change, ChangeKind, Delivery, Event, Snapshot
from .numbers import fmt, strict
from .timeutil import iso, short
from .views import Comparison, Standing

if TYPE_CHECKING:
    from .backfill import BackfillResult
    from .pipeline import RunResult

MACHINE = ("json", "ndjson", "csv")  # the formats for scripts: the same fields in each


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool = False) -> str:
    """An aligned plain-text table, or a Markdown table."""
    if markdown:
        esc = [[c.replace("|", "\\|") for c in r] for r in rows]
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in esc])
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def to_json(data: Any) -> str:
    """Pretty, strict JSON (no NaN/Infinity) with non-ASCII kept."""
    return json.dumps(strict(data), indent=2, ensure_ascii=False, allow_nan=False)


def cell(value: Any) -> str:
    """A value as one CSV cell: empty for null, true/false, numbers and lists/objects as in JSON, text as is."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(strict(value), ensure_ascii=False, allow_nan=False) if strict(value) is not None else ""


def json_array(items: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The lines of `to_json(list(items))`, one item at a time, so a long list is never held in memory."""
    held: str | None = None
    for d in items:
        yield "[" if held is None else held + ","
        held = indent(to_json(d), "  ")
    yield "[]" if held is None else held
    if held is not None:
        yield "]"


def records(items: Iterable[dict[str, Any]], style: str, fields: Sequence[str] = ()) -> Iterator[str]:
    """Flat-enough dicts as JSON (an array), NDJSON (one strict object a line) or CSV (a header row; `fields`,
    else the first item's keys), streamed line by line."""
    if style == "json":
        yield from json_array(items)
    elif style == "ndjson":
        for d in items:
            yield json.dumps(strict(d), ensure_ascii=False, allow_nan=False)
    else:
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\n")
        header: list[str] | None = list(fields) or None
        if header is not None:
            out.writerow(header)
        for d in items:
            if header is None:
                header = list(d)
                out.writerow(header)
            out.writerow([cell(d.get(k)) for k in header])
            yield buf.getvalue().removesuffix("\n")
            buf.seek(0)
            buf.truncate()
        if buf.getvalue():
            yield buf.getvalue().removesuffix("\n")


def event_dict(e: Event) -> dict[str, Any]:
    """The public JSON form of an event."""
    return {"id": e.id, "type": e.type.value, "board": e.board, "observed_at": iso(e.observed_at),
            "snapshot_id": e.snapshot_id, "model": e.model, "key": list(e.key) if e.key else None,
            "metric": e.metric, "value": e.value, "previous_model": e.previous_model,
            "previous_value": e.previous_value, "message": e.message, "backfilled": e.backfilled,
            "significant": e.significant, "margin": e.margin, "published": e.published, "backdated": e.backdated}


def change_dict(c: Change) -> dict[str, Any]:
    """The JSON form of a computed (not stored) change."""
    return {"type": c.kind.value, "model": c.model, "key": list(c.key) if c.key else None, "metric": c.metric,
            "value": c.value, "previous_model": c.previous_model, "previous_value": c.previous_value,
            "message": c.message}


def events(items: Iterable[Event], style: str) -> Iterator[str]:
    """`tracker events` output, line by line (text, json, ndjson or csv), as the events stream in."""
    if style in MACHINE:
        sample = Event(0, ChangeKind.NEW_SOTA, "", datetime.now(UTC), None, None, None, None, None, None, None, "")
        yield from records((event_dict(e) for e in items), style, list(event_dict(sample)))
        return
    empty = True
    for e in items:
        empty = False
        yield f"{short(e.observed_at)}  #{e.id:<6} {e.type.value:<15} {e.message}"
    if empty:
        yield "no events"


def snapshots(items: Sequence[tuple[Snapshot, int]], style: str) -> Iterator[str]:
    """`tracker snapshots` output: each snapshot of a board with its rows, leader and number of events."""
    dicts = [{"id": s.id, "board": s.board, "observed_at": iso(s.observed_at), "rows": s.row_count,
              "leader": s.leader_model, "value": s.leader_value, "events": n, "backfilled": s.backfilled}
             for s, n in items]
    if style in MACHINE:
        yield from records(dicts, style, ["id", "board", "observed_at", "rows", "leader", "value", "events",
                                          "backfilled"])
    elif not dicts:
        yield "no snapshots yet"
    else:
        yield table(["id", "observed", "rows", "leader", "value", "events"],
                    [[str(s.id), short(s.observed_at), str(s.row_count), s.leader_model or "-", fmt(s.leader_value),
                      str(n)] for s, n in items])


def result_dict(r: RunResult, file: str | None = None) -> dict[str, Any]:
    """One board's (or imported file's) run for scripts: status, snapshot, rows, event counts, error, warnings."""
    counts: dict[str, int] = {}
    for e in r.events:
        counts[e.type.value] = counts.get(e.type.value, 0) + 1
    d = {"board": r.board, "status": r.status, "snapshot_id": r.snapshot_id, "rows": r.rows, "events": counts,
         "error": r.error, "warnings": list(r.warnings)}
    return {"file": file, **d} if file is not None else d


def backfill_dict(board: str, b: BackfillResult) -> dict[str, Any]:
    """A backfill for scripts: the run fields summed over the versions, plus the backfill's own counts."""
    stored = [r for r in b.results if r.status in ("baseline", "changed")]
    counts: dict[str, int] = {}
    for r in b.results:
        for k, n in result_dict(r)["events"].items():
            counts[k] = counts.get(k, 0) + n
    status = "failed" if b.failed and not b.imported else "changed" if stored else "unchanged"
    return {"board": board, "status": status, "snapshot_id": stored[-1].snapshot_id if stored else None,
            "rows": stored[-1].rows if stored else 0, "events": counts,
            "error": next((r.error for r in b.results if r.error), None),
            "warnings": [w for r in b.results for w in r.warnings], "found": b.found, "imported": b.imported,
            "skipped": b.skipped, "failed": b.failed, "too_old": b.too_old}


def comparisons(items: Sequence[Comparison], style: str) -> str:
    """`tracker diff` output for one or more boards."""
    if style == "json":
        return to_json([{
            "board": c.board.id,
            "from": _snap_ref(c.old), "to": _snap_ref(c.new),
            "changes": [change_dict(x) for x in c.changes]} for c in items])
    return "\n\n".join(_comparison_text(c, style == "markdown") for c in items)


def _snap_ref(snap: Any) -> dict[str, Any] | None:
    return None if snap is None else {"snapshot_id": snap.id, "observed_at": iso(snap.observed_at)}


def _comparison_text(c: Comparison, markdown: bool) -> str:
    title = f"{c.board.title} ({c.board.id})"
    if c.new is None:
        return f"{title}: no snapshots yet; run `tracker run {c.board.id}`"
    if c.old is None:
        return f"{title}: only one snapshot (#{c.new.id}, {short(c.new.observed_at)}); nothing to compare"
    head = f"{title}: #{c.old.id} ({short(c.old.observed_at)}) -> #{c.new.id} ({short(c.new.observed_at)})"
    if not c.changes:
        return head + "\nno changes"
    if markdown:
        rows = [[x.kind.value, x.model or "", fmt(x.previous_value), fmt(x.value), x.message] for x in c.changes]
        return f"### {head}\n\n" + table(["type", "model", "before", "after", "message"], rows, markdown=True)
    order = {"new_sota": 0, "leader_changed": 1, "entry_added": 2, "entry_removed": 3, "score_changed": 4}
    counts: dict[str, int] = {}
    for x in c.changes:
        counts[x.kind.value] = counts.get(x.kind.value, 0) + 1
    lines = [head, ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: order.get(kv[0], 9)))]
    marks = {"new_sota": "*", "leader_changed": "!", "entry_added": "+", "entry_removed": "-", "score_changed": "~"}
    lines += [f"{marks.get(x.kind.value, ' ')} {x.message.split(': ', 1)[-1]}" for x in c.changes]
    return "\n".join(lines)


def standings(board: Any, snap: Any, rows: Sequence[Standing], style: str) -> str:
    """`tracker show` output: the board as of one snapshot."""
    spec = board
    others = [f.name for f in spec.fields if f.name not in ("model", spec.metric)]
    dicts: list[dict[str, Any]] = [{"rank": s.rank, "model": s.row.model, "key": list(s.row.key), "leader": s.leader,
                                    "fields": dict(s.row.fields), "values": dict(s.row.values)} for s in rows]
    if style == "json":
        return to_json({
            "board": spec.id, "title": spec.title, "snapshot_id": snap.id, "observed_at": iso(snap.observed_at),
            "metric": spec.metric, "higher_is_better": spec.higher_is_better,
            "leader": {"model": snap.leader_model, "value": snap.leader_value, "key": snap.leader_key and
                       list(snap.leader_key)},
            "rows": dicts})
    if style == "ndjson":
        return "\n".join(records(dicts, style))
    if style == "csv":  # one column per field: its number when it has one, else its text
        names = [f.name for f in spec.fields if f.name != "model"]
        flat = [{"rank": d["rank"], "model": d["model"], "key": d["key"], "leader": d["leader"],
                 **{n: d["values"].get(n, d["fields"].get(n)) for n in names}} for d in dicts]
        return "\n".join(records(flat, style, ["rank", "model", "key", "leader", *names]))
    def cell(s: Standing, name: str) -> str:
        v = s.row.values.get(name)
        return fmt(v) if name in s.row.values else (s.row.fields.get(name) or "-")
    body = [[str(s.rank) if s.rank else "-", s.row.model, fmt(s.row.value(spec.metric)),
             *(cell(s, n) for n in others)] for s in rows]
    direction = "higher is better" if spec.higher_is_better else "lower is better"
    head = (f"{spec.title}: snapshot #{snap.id}, seen {short(snap.observed_at)}; {spec.metric} ({direction}); "
            f"leader {snap.leader_model or '-'} ({fmt(snap.leader_value)})")
    text = table(["rank", "model", spec.metric, *others], body, markdown=style == "markdown")
    return (f"**{head}**\n\n{text}" if style == "markdown" else f"{head}\n{text}")


def deliveries(items: Sequence[Delivery], events: dict[int, Event], style: str) -> str:
    """`tracker alerts` output: each delivery with its event, target, state and last error."""
    if style == "json":
        return to_json([{"id": d.id, "event_id": d.event_id, "type": events[d.event_id].type.value
                         if d.event_id in events else None, "board": events[d.event_id].board
                         if d.event_id in events else None, "target": d.target, "status": d.status,
                         "attempts": d.attempts, "last_error": d.last_error or None,
                         "next_attempt_at": iso(d.next_attempt_at) if d.status == "pending" else None,
                         "sent_at": iso(d.sent_at)} for d in items])
    if not items:
        return "no alerts"
    rows = [[str(d.id), d.status, str(d.attempts), d.target[:40],
             (events[d.event_id].message if d.event_id in events else f"event #{d.event_id}")[:70],
             (d.last_error or "")[:60]] for d in items]
    return table(["id", "status", "tries", "target", "event", "last error"], rows)


def status_dict(s: BoardStatus) -> dict[str, Any]:
    """The public JSON form of a board's status."""
    return {"id": s.id, "title": s.title, "url": s.url, "snapshots": s.snapshots, "fetches": s.fetches,
            "last_fetch_at": iso(s.last_fetch_at), "last_success_at": iso(s.last_success_at),
            "last_change_at": iso(s.last_change_at), "consecutive_failures": s.consecutive_failures,
            "last_error": s.last_error, "next_due_at": iso(s.next_due_at)}


def boards(items: Sequence[BoardStatus], style: str) -> str:
    """`tracker boards` output."""
    if style == "json":
        return to_json([status_dict(s) for s in items])
    rows = [[s.id, str(s.snapshots), short(s.last_fetch_at), short(s.last_success_at), short(s.last_change_at),
             short(s.next_due_at), str(s.consecutive_failures), (s.last_error or "")[:60]] for s in items]
    return table(["board", "snapshots", "last fetch", "last success", "last change", "next due", "failures",
                  "last error"], rows)


def history(h: Any, style: str) -> str:
    """`tracker history` output: the leader timeline and the record progression."""
    leaders = [{"model": r.model, "key": list(r.key), "value": r.value, "since": iso(r.since), "until": iso(r.until)}
               for r in h.leaders]
    recs = [{"value": r.value, "model": r.model, "when": iso(r.when), "margin": r.margin,
             "snapshot_id": r.snapshot_id} for r in h.records]
    if style == "json":
        return to_json({"board": h.board.id, "leaders": leaders, "records": recs})
    if style in MACHINE:  # one line per leader, then per record; `kind` says which
        lines = [{"kind": "leader", "board": h.board.id, **d} for d in leaders] + [
            {"kind": "record", "board": h.board.id, **d} for d in recs]
        return "\n".join(records(lines, style, ["kind", "board", "model", "key", "value", "since", "until", "when",
                                                "margin", "snapshot_id"]))
    md = style == "markdown"
    leader_table = table(["leader", h.board.metric, "since", "until"],
                         [[r.model, fmt(r.value), short(r.since), short(r.until) if r.until else "now"]
                          for r in h.leaders], markdown=md)
    record_table = table(["record", "model", "when", "margin"],
                         [[fmt(r.value), r.model, short(r.when), "-" if r.margin is None else f"+{fmt(r.margin)}"]
                          for r in h.records], markdown=md)
    title = f"{h.board.title} ({h.board.id})"
    if md:
        return f"## {title}\n\n### Leaders\n\n{leader_table}\n\n### Records\n\n{record_table}"
    return f"{title}\n\nLeaders\n{leader_table}\n\nRecords\n{record_table}"
