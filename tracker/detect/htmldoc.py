"""Candidate tables of an HTML page: every <table>, read the way the html source reads it."""

from __future__ import annotations

import re
from typing import Any

import lxml.etree
from lxml.cssselect import CSSSelector

from ..errors import ParseError
from ..sources.base import one_line
from ..sources.html_table import (
    column_labels,
    cut_short,
    html_parser,
    split_header,
    table_grid,
    without_xml_declaration,
)
from .tables import Candidate, Column

_CSS_IDENT = re.compile(r"^-?[A-Za-z_][A-Za-z0-9_-]*$")


def html_tables(url: str, text: str) -> list[Candidate]:
    """One candidate per <table> with body rows, with a `selector` for it when the page has several tables."""
    parser = html_parser()  # the one `tracker run` reads the page with, so both see the same tables
    try:
        doc = lxml.etree.fromstring(without_xml_declaration(text).replace("\x00", ""), parser)
    except (lxml.etree.LxmlError, ValueError) as exc:
        raise ParseError(f"{url} is not parseable HTML: {one_line(str(exc))}") from exc
    if cut_short(parser):
        raise ParseError(f"{url} nests its elements more than 2,048 deep (unclosed tags pile up), so only its "
                         f"beginning could be read")
    if doc is None:
        return []
    tables = list(doc.iter("table"))
    page_title = " ".join((doc.findtext(".//title") or "").split()) or None
    out: list[Candidate] = []
    for i, table in enumerate(tables, start=1):
        grid = table_grid(table, f"table #{i} of {url}")
        n_head = split_header(table, grid)
        body = [row for row in grid[n_head:] if row and not all(head for _, head in row)]
        labels = column_labels(grid[:n_head])
        names = _names(labels)
        columns = tuple(Column(name or f"column {c + 1}", name, tuple(r[c][0] if c < len(r) else None for r in body),
                               selectable=bool(name)) for c, name in enumerate(names))
        caption = " ".join("".join(table.xpath("./caption//text()")).split()) or None
        selector = selector_for(table, tables) if len(tables) > 1 else None
        label = f"HTML table #{i} of {len(tables)}" + (f" ({caption})" if caption else "")
        out.append(Candidate(i, "html", label, columns, len(body), selector=selector, title=caption or page_title))
    return out


def _names(labels: list[list[str]]) -> list[str]:
    """Each column's label for `from`: its lowest header level, or all levels joined when that one repeats."""
    lowest = [ls[0] if ls else "" for ls in labels]
    return [ls[0] if ls and lowest.count(ls[0]) == 1 else (ls[-1] if ls else "") for ls in labels]


def selector_for(table: Any, tables: list[Any]) -> str:
    """A CSS selector that matches this table alone: its id, a class of its own, else its path from the root."""
    tid = table.get("id")
    if tid and _CSS_IDENT.match(tid) and sum(t.get("id") == tid for t in tables) == 1:
        return f"#{tid}"
    for cls in (table.get("class") or "").split():
        if _CSS_IDENT.match(cls) and sum(cls in (t.get("class") or "").split() for t in tables) == 1:
            return f"table.{cls}"
    steps = []
    el = table
    while el is not None and isinstance(el.tag, str):
        parent = el.getparent()
        same = [s for s in parent if s.tag == el.tag] if parent is not None else [el]
        steps.append(f"{el.tag}:nth-of-type({same.index(el) + 1})" if len(same) > 1 else el.tag)
        el = parent
    root = table.getroottree().getroot()
    for n in range(1, len(steps) + 1):  # the shortest tail of the path that picks this table alone
        css = " > ".join(reversed(steps[:n]))
        if CSSSelector(css)(root) == [table]:
            return css
    return " > ".join(reversed(steps))
