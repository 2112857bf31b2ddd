"""The site's front page, index.html: every board (title, leader and value, margin, last change, entries, a record
sparkline), grouped by collection, with a filter box and sortable columns (plain JavaScript; readable without it).

It is drawn from the boards' summaries (api/boards.json entries plus sparkline points), so an incremental build
redraws it without reading any board that did not change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from ..numbers import fmt
from .style import page
from .svg import sparkline

HANDWRITTEN = "Boards"  # the group of boards written as [[board]] (no collection)


def _row(b: dict[str, Any]) -> str:
    lead = b.get("leader") or {}
    value = lead.get("value")
    margin = lead.get("margin")
    last = (b.get("last_change_at") or "")[:10]
    title = f'<a href="{escape(b["page"])}">{escape(b["title"])}</a>'
    return (f"<tr><td>{title}<br><span class=\"muted\">{escape(b['id'])}</span></td>"
            f"<td>{escape(lead.get('name') or '-')}</td>"
            f"<td class=\"num\" data-v=\"{'' if value is None else value}\">{escape(fmt(value))}</td>"
            f"<td class=\"num wide\" data-v=\"{'' if margin is None else margin}\">"
            f"{'+' + escape(fmt(margin)) if margin is not None else '-'}</td>"
            f"<td class=\"num\">{escape(last)}</td><td class=\"num wide\">{b.get('entries', 0)}</td>"
            f"<td class=\"wide\">{sparkline(b.get('spark') or [])}</td></tr>")


HEAD = ('<thead><tr><th data-sort="text">board</th><th data-sort="text">leader</th><th data-sort="num">value</th>'
        '<th data-sort="num" class="wide">margin</th><th data-sort="text">last change</th>'
        '<th data-sort="num" class="wide">entries</th><th class="wide">record</th></tr></thead>')


def index_page(boards: Sequence[dict[str, Any]], as_of: str | None, generated_at: str,
               titles: Mapping[str, str] | None = None) -> str:
    """The front page from the boards' summaries (each with `page`, a relative link, and `spark` points); groups
    are headed by their collection's title (`titles`: collection id -> title)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for b in sorted(boards, key=lambda b: (b.get("collection") is None, b.get("collection") or "", b["title"])):
        groups.setdefault(b.get("collection") or HANDWRITTEN, []).append(b)
    when = f"as of {escape(as_of[:16].replace('T', ' '))} UTC" if as_of else \
        f"built {escape(generated_at[:16].replace('T', ' '))} UTC"
    parts = [f"<h1>State of the art: {len(boards)} leaderboards</h1>\n<p class=\"asof\">{when}. Each board's "
             f"record progression is drawn as a red step line.</p>\n"
             f'<input id="filter" type="search" placeholder="Filter boards, leaders, collections" '
             f'aria-label="Filter boards" hidden> <span id="count" class="muted"></span>']
    if len(groups) > 1:
        parts.append("<p>" + " · ".join(f'<a href="#g-{i}">{escape((titles or {}).get(name, name))}</a> ({len(bs)})'
                                        for i, (name, bs) in enumerate(groups.items())) + "</p>")
    for i, (name, bs) in enumerate(groups.items()):
        rows = "".join(_row(b) for b in bs)
        parts.append(f'<section class="group" id="g-{i}"><h2>{escape((titles or {}).get(name, name))}</h2>'
                     f'<div class="scroll">'
                     f"<table>{HEAD}<tbody>{rows}</tbody></table></div></section>")
    if not boards:
        parts.append("<p class=\"muted\">No board has a snapshot yet; run `tracker run` first.</p>")
    return page("State of the art: leaderboards", "\n".join(parts), root="", feed="feed.xml", script=True)
