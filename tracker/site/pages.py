"""A board's page, b/<id>/index.html: headline, SOTA chart, the full ranked table, the leader timeline, the record
progression, recent leader changes and records, the source, the feed and the downloads. Every string from the
store is escaped; only http(s) values become links."""

from __future__ import annotations

import re
from datetime import datetime
from html import escape

from ..numbers import fmt
from .api import columns
from .collect import RECENT, BoardData
from .style import page
from .svg import chart

ROOT = "../../"
URL = re.compile(r"\s*https?://\S+\s*", re.I)  # a cell that is one http(s) URL becomes a link


def link(text: str | None) -> str:
    """A cell's text, as a link when it is an http(s) URL."""
    if not text:
        return ""
    if URL.fullmatch(text):
        t = text.strip()
        return f'<a href="{escape(t)}" rel="nofollow">{escape(t)}</a>'
    return escape(text)


def day(when: datetime | None) -> str:
    """A date as YYYY-MM-DD ('-' for none)."""
    return f"{when:%Y-%m-%d}" if when else "-"


def headline(data: BoardData) -> str:
    """'As of 2025-10-30, X leads with top1 90.06, +0.1 over Y.' (plain text, not escaped)."""
    lead = data.leader
    when = f"As of {data.snap.observed_at:%Y-%m-%d %H:%M} UTC"
    if lead is None:
        return f"{when}, no entry has a {data.spec.metric} value."
    text = f"{when}, {data.name(lead)} leads with {data.spec.metric} {fmt(lead.row.value(data.spec.metric))}"
    if data.runners_up and data.margin is not None:
        text += f", +{fmt(data.margin)} over {data.name(data.runners_up[0])}"
    return text + "."


def _table(data: BoardData) -> str:
    spec = data.spec
    cols = [c for c in columns(data) if c != "model"]
    numeric = {f.name for f in spec.fields if f.type == "number"} | set(spec.tracked)
    head = ('<th data-sort="num">rank</th><th data-sort="text">model</th>'
            + "".join(f'<th data-sort="{"num" if c in numeric else "text"}">{escape(c)}</th>' for c in cols))
    out = []
    for s in data.ranked:
        rank = s.rank if s.rank is not None else "-"
        cells = [f'<td class="num">{rank}</td><td class="name">{escape(data.name(s))}</td>']
        for c in cols:
            v = s.row.values.get(c)
            if c in numeric or v is not None:
                cells.append(f'<td class="num">{escape(fmt(v)) if v is not None else "-"}</td>')
            else:
                cells.append(f"<td>{link(s.row.fields.get(c))}</td>")
        cls = ' class="leader"' if s.leader else ""
        out.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return (f'<div class="scroll"><table class="rows"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(out)}</tbody></table></div>')


def _timeline(data: BoardData) -> str:
    rows = "".join(f"<tr><td>{escape(r.model)}</td><td class=\"num\">{fmt(r.value)}</td>"
                   f"<td class=\"date\">{day(r.since)}</td><td class=\"date\">{day(r.until) if r.until else 'now'}</td>"
                   "</tr>" for r in reversed(data.history.leaders))
    return ("<div class=\"scroll\"><table><thead><tr><th>leader</th><th>value</th><th>since</th><th>until</th>"
            f"</tr></thead><tbody>{rows}</tbody></table></div>") if rows else "<p class=\"muted\">No leader yet.</p>"


def _records(data: BoardData) -> str:
    rows = "".join(f"<tr><td class=\"date\">{day(r.when)}</td><td>{escape(r.model)}</td>"
                   f"<td class=\"num\">{fmt(r.value)}</td>"
                   f"<td class=\"num\">{'+' + fmt(r.margin) if r.margin is not None else '-'}</td></tr>"
                   for r in reversed(data.history.records))
    return ("<div class=\"scroll\"><table><thead><tr><th>date</th><th>model</th><th>record</th><th>margin</th>"
            f"</tr></thead><tbody>{rows}</tbody></table></div>") if rows else "<p class=\"muted\">No record yet.</p>"


def _recent(data: BoardData) -> str:
    prefix = f"{data.spec.title}: "
    items = sorted(data.key_events, key=lambda e: (e.observed_at, e.id), reverse=True)[:RECENT]
    lis = "".join(f"<li>{day(e.observed_at)}: {escape(e.message.removeprefix(prefix))}</li>" for e in items)
    added = f"<p class=\"muted\">Entries added over time: {data.added}.</p>" if data.added else ""
    return (f"<ul class=\"recent\">{lis}</ul>" if lis else "<p class=\"muted\">No leader change or new record yet."
            "</p>") + added


def board_page(data: BoardData) -> str:
    """The whole board page."""
    spec = data.spec
    svg = chart(data)
    dated = f" (entries placed by their {escape(data.date_field)})" if data.date_field else " (entries placed by " \
        "when tracker first saw them)"
    body = (f"<h1>{escape(spec.title)}</h1>\n"
            f"<p class=\"asof\">Snapshot #{data.snap.id}, {data.snap.row_count or len(data.ranked)} entries; "
            f"{escape(spec.metric)}, {'higher' if spec.higher_is_better else 'lower'} is better.</p>\n"
            f"<p class=\"lead\" id=\"headline\">{escape(headline(data))}</p>\n"
            f"<p class=\"downloads\">Download: <a href=\"rows.csv\">rows.csv</a> <a href=\"rows.json\">rows.json</a> "
            f"<a href=\"history.json\">history.json</a> <a href=\"../../api/b/{escape(spec.id)}.json\">API</a> "
            f"<a href=\"feed.xml\">Atom feed</a> <a href=\"#ranking\">Full ranking</a></p>\n"
            f"<h2>State of the art over time</h2>\n"
            + (f"<figure>{svg}<figcaption class=\"muted\">Red: the record as a step line; dots: every entry"
               f"{dated}.</figcaption></figure>\n" if svg else "<p class=\"muted\">No record yet.</p>\n")
            + f"<h2>Recent leader changes and records</h2>\n{_recent(data)}\n"
            f"<h2>Leader timeline</h2>\n{_timeline(data)}\n"
            f"<h2>Record progression</h2>\n{_records(data)}\n"
            f"<h2 id=\"ranking\">Ranking ({len(data.ranked)} entries)</h2>\n{_table(data)}\n"
            f"<p>Source: {link(spec.url)}</p>")
    return page(spec.title, body, root=ROOT, feed="feed.xml", script=True)
