"""HTML tables (lxml): CSS selector or header match, multi-row headers, colspan/rowspan, several tables."""

from __future__ import annotations

import gc
from typing import Any

import lxml.etree
from lxml.cssselect import CSSSelector

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import Parsed, RawRow, Source, decode, map_columns, one_line

Element = Any  # lxml's stubs type xpath() results as a wide union; elements are lxml.etree._Element
Cell = tuple[str, bool]  # (cell text, is header cell)
Grid = list[list[Cell]]
_MAX_SPAN = 1000
_GRID_PER_CELL, _GRID_SLACK = 10, 100_000  # how far colspan/rowspan may expand a table
_MAX_LABEL = 1000  # header characters that count as a column label
_PARSER = lxml.etree.HTMLParser(remove_comments=True)
# compiled once; typed Any like Element, since lxml's stubs type XPath results as a wide union
_ROWS: Any = lxml.etree.XPath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")
_SPANNED: Any = lxml.etree.XPath("(./tr|./thead/tr|./tbody/tr|./tfoot/tr)/*[@colspan or @rowspan]")
_TEXT_AND_BREAKS: Any = lxml.etree.XPath(".//text() | .//br")


def cell_text(cell: Element) -> str:
    """All text inside a cell (cheap for the common cell without markup)."""
    if len(cell) == 0:
        return str(cell.text or "")
    # a line break separates words; read, never written back (lxml refuses text with control characters)
    return "".join(str(t) if isinstance(t, str) else " " for t in _TEXT_AND_BREAKS(cell))


def _plain_row(tr: Element) -> list[Cell]:
    """A row without spans: each <td>/<th> once (a cell without child elements is just its .text: the fast path)."""
    row: list[Cell] = []
    for c in tr:
        tag = c.tag
        if tag == "td" or tag == "th":
            row.append(((c.text or "") if not len(c) else cell_text(c), tag == "th"))
    return row


def _span(cell: Element, name: str, limit: int) -> int:
    try:
        return max(1, min(int(str(cell.get(name, "1")).strip() or 1), limit))
    except ValueError:
        return 1


def table_grid(table: Element, where: str = "the table") -> Grid:
    """Expand a table's own rows (not nested tables') into a grid, repeating spanned cells.

    Spans are clamped: a colspan to the table's widest plain row (most cells in one row), a rowspan to the
    rows left, both to 1000; a table that still expands past 10 grid cells per cell (plus 100,000) is a
    ParseError naming `where`.
    """
    trs = _ROWS(table)
    spanned = _SPANNED(table)
    if not spanned:
        return [_plain_row(tr) for tr in trs]
    span_rows = {c.getparent() for c in spanned}  # the rows that need the slow path (with what rowspans hold)
    plain = {i: _plain_row(tr) for i, tr in enumerate(trs) if tr not in span_rows}
    width = min(max([*map(len, plain.values()), *(sum(c.tag in ("td", "th") for c in tr) for tr in span_rows)],
                    default=1), _MAX_SPAN)
    room = limit = _GRID_PER_CELL * sum(map(len, trs)) + _GRID_SLACK
    grid: Grid = []
    pending: dict[int, tuple[int, Cell]] = {}  # column -> (rows it still covers, its cell)
    for i, tr in enumerate(trs):
        if not pending and i in plain:
            row = plain[i]
        else:
            cells = [c for c in tr if c.tag in ("td", "th")]
            row = _expand(cells, pending, width, min(len(trs) - i, _MAX_SPAN), room)
        room -= len(row)
        if room < 0:
            raise ParseError(f"{where}: colspan/rowspan expand it past {limit} cells ({_GRID_PER_CELL} per "
                             f"<td>/<th> plus {_GRID_SLACK}); the table is malformed")
        grid.append(row)
    return grid


def _expand(cells: list[Element], pending: dict[int, tuple[int, Cell]], max_colspan: int, max_rowspan: int,
            room: int) -> list[Cell]:
    """One grid row: cells placed left to right around the columns still held by rowspans from above."""
    row: list[Cell] = []
    for cell in cells:
        col = len(row)
        while col in pending:
            row.append(_take(pending, col))
            col += 1
        slot = (cell_text(cell), cell.tag == "th")
        rowspan = _span(cell, "rowspan", max_rowspan)
        colspan = _span(cell, "colspan", max_colspan)
        if rowspan > 1:
            pending.update((c, (rowspan - 1, slot)) for c in range(col, col + colspan))
        row.extend([slot] * colspan)
        if len(row) > room:
            return row
    for col in sorted(c for c in pending if c >= len(row)):
        row.extend([("", False)] * (col - len(row)))
        row.append(_take(pending, col))
    return row


def _take(pending: dict[int, tuple[int, Cell]], col: int) -> Cell:
    """The cell a rowspan from above holds in `col`, one row fewer to go."""
    left, held = pending[col]
    if left > 1:
        pending[col] = (left - 1, held)
    else:
        del pending[col]
    return held


def split_header(table: Element, grid: Grid) -> int:
    """How many leading grid rows are header rows: <thead> rows, else leading all-<th> rows, else one."""
    n_thead = len(table.xpath("./thead/tr"))
    if n_thead:
        return n_thead
    n = 0
    for row in grid:
        if row and all(head for _, head in row):
            n += 1
        else:
            break
    return n or 1


def column_labels(header_rows: Grid) -> list[list[str]]:
    """Each column's candidate labels: every distinct header level and the levels joined top to bottom."""
    width = max((len(r) for r in header_rows), default=0)
    labels: list[list[str]] = []
    for col in range(width):
        levels = list(dict.fromkeys(" ".join(r[col][0][:_MAX_LABEL].split()) for r in header_rows if col < len(r)))
        levels = [x for x in levels if x]
        labels.append([*reversed(levels), " ".join(levels)] if len(levels) > 1 else levels)
    return labels


class HtmlTable(Source):
    """An HTML page with a <table>; `selector` picks table(s) by CSS, else the first whose header fits."""

    kind = "html"

    def parse(self, page: Page, spec: BoardSpec) -> Parsed:
        """Find the table(s), map header labels to fields, and return one raw row per body row."""
        enabled = gc.isenabled()
        gc.disable()  # no cycles are made; full collections over 100,000s of new cells cost more than the walk
        try:
            return self._parse(page, spec)
        finally:
            if enabled:
                gc.enable()

    def _parse(self, page: Page, spec: BoardSpec) -> Parsed:
        text, encoding = decode(page, spec)
        try:
            doc = lxml.etree.fromstring(text.replace("\x00", ""), _PARSER)
        except (lxml.etree.LxmlError, ValueError) as exc:
            raise ParseError(f"{spec.id}: {page.url} is not parseable HTML: {one_line(str(exc))}") from exc
        if doc is None:
            raise ParseError(f"{spec.id}: {page.url} has no HTML elements (only text, comments or white space); "
                             f"the site may be down or throttling; will try again on the next run")
        if spec.selector:
            picked: list[Element] = CSSSelector(spec.selector)(doc)  # type: ignore[assignment]
            tables: list[Element] = []
            for el in picked:
                tables.extend([el] if el.tag == "table" else el.iter("table"))
            if not tables:
                raise ParseError(f"{spec.id}: selector {spec.selector!r} matches no <table> in {page.url}; "
                                 f"the page may have moved or changed; fix 'selector'")
        else:
            tables = list(doc.iter("table"))
            if not tables:
                raise ParseError(f"{spec.id}: {page.url} has no <table> (the page may have moved or be a "
                                 f"redirect stub); check the board's url")
        rows: list[RawRow] = []
        warnings: list[str] = []
        errors: list[ParseError] = []
        used = 0
        for i, table in enumerate(tables, start=1):
            grid = table_grid(table, f"{spec.id}: table #{i} of {page.url}")
            n_head = split_header(table, grid)
            try:
                mapping, warns = map_columns(column_labels(grid[:n_head]), spec, f"table #{i} of {page.url}")
            except ParseError as exc:
                errors.append(exc)
                continue
            used += 1
            warnings.extend(warns)
            for line in grid[n_head:]:
                if not line or all(head for _, head in line):
                    continue
                rows.append({name: (line[col][0] if col < len(line) else None) for name, col in mapping.items()})
            if not spec.selector:
                break
        if not used:
            raise errors[0] if len(errors) == 1 else ParseError(
                f"{spec.id}: none of the {len(tables)} tables in {page.url} has the mapped columns; "
                f"first problem: {errors[0]}")
        return Parsed(rows, warnings, encoding)


def has_element(page: Page, selector: str) -> bool:
    """Whether an HTML page has an element matching a CSS selector (a rendered page's `wait_for`)."""
    try:
        doc = lxml.etree.fromstring(page.content, _PARSER)
    except (lxml.etree.Error, ValueError):
        return False
    return doc is not None and bool(CSSSelector(selector)(doc))
