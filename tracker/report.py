"""A dated report a person would publish (Markdown or one self-contained HTML file), and the Atom feed."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .config import BoardSpec, Settings
from .diff import label
from .history import History
from .models import ChangeKind, Event, Snapshot
from .numbers import fmt
from .render import table
from .store import Store
from .timeutil import iso, short
from .views import Standing, standings

RECENT_DAYS = 30  # "Recent changes" covers the 30 days up to the report's snapshot
LISTED = (ChangeKind.LEADER_CHANGED, ChangeKind.NEW_SOTA)  # listed one by one; the rest are counted
COUNTED = {ChangeKind.ENTRY_ADDED: ("entry added", "entries added"),
           ChangeKind.SCORE_CHANGED: ("score change", "score changes"),
           ChangeKind.ENTRY_RENAMED: ("renamed", "renamed"), ChangeKind.ENTRY_REMOVED: ("removed", "removed")}


def is_accuracy(spec: BoardSpec) -> bool:
    """Whether the primary metric is an accuracy in percent (so error rate = 100 - accuracy makes sense)."""
    top = spec.metric_range[1] if spec.metric_range else None
    return spec.higher_is_better and (top == 100 or bool(re.search(r"acc|top-?[15]", spec.metric, re.I)))


def params_field(spec: BoardSpec) -> str | None:
    """The numeric field holding parameter counts, if any (by name: param, params, param_count, ...)."""
    return next((f.name for f in spec.fields if f.type == "number" and re.match(r"^(n_?)?param", f.name, re.I)), None)


def readable_params(value: float | None) -> str:
    """Parameter counts in readable units; values below 100,000 are taken as millions (timm's convention)."""
    if value is None:
        return "-"
    n = value * 1e6 if value < 1e5 else value
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.0f}"


@dataclass(frozen=True)
class Report:
    """Everything a report shows."""

    board: BoardSpec
    snapshot: Snapshot
    top: tuple[Standing, ...]
    runner_up: Standing | None
    recent: tuple[Event, ...]  # leader changes and new records in the window, newest first
    history: History
    counts: tuple[tuple[ChangeKind, int], ...] = ()  # the window's other entry changes, per type
    since: datetime | None = None  # the window's start (it ends at the snapshot)

    @property
    def margin(self) -> float | None:
        """The leader's lead over the runner-up (positive is better)."""
        lead = self.snapshot.leader_value
        other = self.runner_up.row.value(self.board.metric) if self.runner_up else None
        if lead is None or other is None:
            return None
        return lead - other if self.board.higher_is_better else other - lead


def build(store: Store, spec: BoardSpec, snap: Snapshot, hist: History, top: int = 10,
          days: int = RECENT_DAYS) -> Report:
    """Collect the standings, the runner-up and the last `days` of changes for a report as of `snap`."""
    ranked = standings(spec, snap)
    runner = next((s for s in ranked if not s.leader and s.rank is not None), None)
    since = snap.observed_at - timedelta(days=days)
    listed = sorted((e for e in store.events(spec.id, [k.value for k in LISTED], since=since)
                     if e.observed_at <= snap.observed_at), key=lambda e: (e.observed_at, e.id), reverse=True)
    counted = store.count_events(spec.id, [k.value for k in COUNTED], since, snap.observed_at)  # in SQL, not rows
    counts = tuple((k, n) for k in COUNTED if (n := counted.get(k.value, 0)))
    return Report(spec, snap, tuple(ranked[:top]), runner, tuple(listed), hist, counts, since)


def _columns(r: Report) -> tuple[list[str], list[list[str]]]:
    spec = r.board
    pfield = params_field(spec)
    head = ["rank", "model", spec.metric, *[m for m in spec.metrics if m != spec.metric]]
    if is_accuracy(spec):
        head.append("error (100 - acc)")
    if pfield:
        head.append("params")
    rows = []
    for s in r.top:
        v = s.row.value(spec.metric)
        cells = [str(s.rank or "-"), label(s.row, spec.key), fmt(v), *[fmt(s.row.value(m)) for m in spec.metrics
                                                            if m != spec.metric]]
        if is_accuracy(spec):
            cells.append(fmt(100 - v) if v is not None else "-")
        if pfield:
            cells.append(readable_params(s.row.value(pfield)))
        rows.append(cells)
    return head, rows


def _lead_sentence(r: Report) -> str:
    spec, snap = r.board, r.snapshot
    lead = next((label(s.row, spec.key) for s in r.top if s.leader), snap.leader_model)
    text = f"As of {short(snap.observed_at)} the leader is {lead} with {spec.metric} {fmt(snap.leader_value)}"
    if r.runner_up is not None and r.margin is not None:
        text += f", ahead of {label(r.runner_up.row, spec.key)} by {fmt(r.margin)}"
    return text + "."


def _window(r: Report) -> str:
    start = f"{r.since:%Y-%m-%d} " if r.since else ""
    return f"{start}to {r.snapshot.observed_at:%Y-%m-%d}"


def _recent_lines(r: Report) -> list[str]:
    """One line per leader change or new record in the window, newest first (board title left out)."""
    prefix = f"{r.board.title}: "
    return [f"{e.observed_at:%Y-%m-%d}: {e.message.removeprefix(prefix)}" for e in r.recent]


def counts_line(r: Report) -> str:
    """The window's other changes as one line: '98 entries added, 383 score changes, 2 renamed, 1 removed'."""
    return ", ".join(f"{n} {COUNTED[k][n != 1]}" for k, n in r.counts)


def markdown(r: Report) -> str:
    """The report as Markdown."""
    head, rows = _columns(r)
    records = " → ".join(f"{fmt(x.value)} ({x.model}, {x.when:%Y-%m-%d})" for x in r.history.records)
    recent = "\n".join(f"- {line}" for line in _recent_lines(r)) or "- no leader change or new record"
    if r.counts:
        recent += f"\n\nOther changes: {counts_line(r)}."
    return (f"# {r.board.title}\n\n*Report as of {short(r.snapshot.observed_at)} (snapshot #{r.snapshot.id}).*\n\n"
            f"{_lead_sentence(r)}\n\n## Top {len(r.top)}\n\n{table(head, rows, markdown=True)}\n\n"
            f"## Record progression\n\n{records or 'none yet'}\n\n## Recent changes ({_window(r)})\n\n{recent}\n\n"
            f"Source: <{r.board.url}>\n")


# Reads on a phone (420 px): long model names and URLs wrap anywhere, numbers never do, the table fits the page.
CSS = """body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222}h1{font-size:1.6em;margin-bottom:.2em}.asof{color:#666;margin-top:0}.lead{font-size:1.15em}
table.top{border-collapse:collapse;width:100%;max-width:100%;margin:1em 0}
table.top th{background:#e8eef7;text-align:left}table.top th,table.top td{border:1px solid #c8d0dc;padding:.35em .6em}
table.top tr.leader td{font-weight:bold}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;
width:1%}td.name,.lead,ul.recent,footer{overflow-wrap:anywhere;word-break:break-word}.chart svg{width:100%;height:auto}
ul.recent{padding-left:1.2em}footer{color:#666;margin-top:2em}@media (min-width:601px){table.top th{white-space:nowrap}}
@media (max-width:600px){body{margin:1em auto;padding:0 .5em}table.top{font-size:.8em}
table.top th,table.top td{padding:.25em .3em}}"""


def to_html(r: Report, chart_svg: bytes | None) -> str:
    """The report as one self-contained HTML file (inline CSS and SVG chart)."""
    head, rows = _columns(r)
    e = html.escape
    thead = "".join(f"<th>{e(h)}</th>" for h in head)
    body = "".join(
        f"<tr class=\"{'leader' if s.leader else ''}\">" + "".join(
            f"<td class=\"{'name' if i == 1 else 'num'}\">{e(c)}</td>" for i, c in enumerate(cells)) + "</tr>"
        for s, cells in zip(r.top, rows, strict=True))
    svg = ""
    if chart_svg:
        text = chart_svg.decode()
        svg = f"<div class=\"chart\">{text[text.index('<svg'):]}</div>"
    recent = "".join(f"<li>{e(line)}</li>" for line in _recent_lines(r)) or "<li>no leader change or new record</li>"
    counts = f"<p class=\"counts\">Other changes: {e(counts_line(r))}.</p>\n" if r.counts else ""
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{e(r.board.title)}</title>"
            f"<style>{CSS}</style></head><body>\n<h1>{e(r.board.title)}</h1>\n"
            f"<p class=\"asof\">Report as of {e(short(r.snapshot.observed_at))} (snapshot #{r.snapshot.id})</p>\n"
            f"<p class=\"lead\">{e(_lead_sentence(r))}</p>\n<h2>Top {len(r.top)}</h2>\n"
            f"<table class=\"top\"><thead><tr>{thead}</tr></thead><tbody>{body}</tbody></table>\n"
            f"<h2>State of the art over time</h2>\n{svg}\n<h2>Recent changes ({e(_window(r))})</h2>\n"
            f"<ul class=\"recent\">{recent}</ul>\n{counts}"
            f"<footer>Source: <a href=\"{e(r.board.url)}\">{e(r.board.url)}</a>. Made by tracker on "
            f"{datetime.now(UTC):%Y-%m-%d}.</footer>\n</body></html>\n")


ATOM = "http://www.w3.org/2005/Atom"


def atom_feed(settings: Settings, events: Sequence[Event], *, title: str = "tracker: leaderboard changes") -> bytes:
    """An Atom feed of leader changes and new records across boards, newest first."""
    ET.register_namespace("", ATOM)
    boards = {b.id: b for b in settings.boards}
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = title
    ET.SubElement(feed, f"{{{ATOM}}}id").text = "urn:tracker:feed:" + ",".join(sorted(boards))
    newest = max((e.observed_at for e in events), default=datetime.now(UTC))
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = iso(newest)
    ET.SubElement(ET.SubElement(feed, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = "tracker"
    for ev in sorted(events, key=lambda x: (x.observed_at, x.id), reverse=True):
        spec = boards.get(ev.board)
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:tracker:event:{ev.board}:{ev.id}"
        what = "new record" if ev.type is ChangeKind.NEW_SOTA else "new leader"
        ET.SubElement(entry, f"{{{ATOM}}}title").text = f"{spec.title if spec else ev.board}: {what}: {ev.model}"
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = iso(ev.observed_at)
        if spec is not None:
            ET.SubElement(entry, f"{{{ATOM}}}link", href=spec.url)
        ET.SubElement(entry, f"{{{ATOM}}}category", term=ev.type.value)
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = ev.message
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body
