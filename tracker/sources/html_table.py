"""HTML tables (lxml): CSS selector or header match, multi-row headers, colspan/rowspan, several tables."""

from __future__ import annotations

from typing import Any

import lxml.etree
from lxml.cssselect import CSSSelector

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import Parsed, RawRow, Source, decode, map_columns

Element = Any  # lxml's stubs type xpath() results as a wide union; elements are lxml.etree._Element
Grid = list[list[tuple[str, bool]]]  # rows of (cell text, is header cell)
_MAX_SPAN = 1000
_PARSER = lxml.etree.HTMLParser(remove_comments=True)


def cell_text(cell: Element) -> str:
    """All text inside a cell (cheap for the common cell without markup)."""
    if len(cell) == 0:
        return str(cell.text or "")
    for br in cell.iter("br"):  # a line break separates words
        br.tail = " " + (br.tail or "")
    return "".join(str(t) for t in cell.itertext())


def _span(cell: Element, name: str) -> int:
    try:
        return max(1, min(int(str(cell.get(name, "1")).strip() or 1), _MAX_SPAN))
    except ValueError:
        return 1


def table_grid(table: Element) -> Grid:
    """Expand a table's own rows (not nested tables') into a rectangular grid, repeating spanned cells."""
    grid: Grid = []
    pending: dict[int, tuple[int, str, bool]] = {}  # column -> (rows left, text, header)
    for tr in table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr"):
        row: list[tuple[str, bool]] = []
        col = 0
        cells = [c for c in tr if c.tag in ("td", "th")]
        simple = not pending and not any(c.get("colspan") or c.get("rowspan") for c in cells)
        if simple:
            grid.append([(cell_text(c), c.tag == "th") for c in cells])
            continue
        it = iter(cells)
        cell = next(it, None)
        while cell is not None or any(c >= col for c in pending):
            if col in pending:
                left, text, head = pending[col]
                row.append((text, head))
                if left > 1:
                    pending[col] = (left - 1, text, head)
                else:
                    del pending[col]
                col += 1
                continue
            if cell is None:
                row.append(("", False))
                col += 1
                continue
            text, head = cell_text(cell), cell.tag == "th"
            rowspan = _span(cell, "rowspan")
            for _ in range(_span(cell, "colspan")):
                row.append((text, head))
                if rowspan > 1:
                    pending[col] = (rowspan - 1, text, head)
                col += 1
            cell = next(it, None)
        grid.append(row)
    return grid


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
        levels = list(dict.fromkeys(" ".join(r[col][0].split()) for r in header_rows if col < len(r)))
        levels = [x for x in levels if x]
        labels.append([*reversed(levels), " ".join(levels)] if len(levels) > 1 else levels)
    return labels


class HtmlTable(Source):
    """An HTML page with a <table>; `selector` picks table(s) by CSS, else the first whose header fits."""

    kind = "html"

    def parse(self, page: Page, spec: BoardSpec) -> Parsed:
        """Find the table(s), map header labels to fields, and return one raw row per body row."""
        try:
            doc = lxml.etree.fromstring(decode(page, spec), _PARSER)
        except (lxml.etree.ParserError, ValueError) as exc:
            raise ParseError(f"{spec.id}: {page.url} is not parseable HTML: {exc}") from exc
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
            grid = table_grid(table)
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
        return Parsed(rows, warnings)
