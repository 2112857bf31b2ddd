"""An HTML table's own rows as text: the cell walk, colspan/rowspan expansion, header rows and column labels.

A table is read into `TableRows` (each row's td/th text, plus what the expansion needs), either all at once from a
parsed tree (`read_table`) or a batch of rows at a time while the document streams in (html_stream.py); `grid()`
then expands the spans. Most rows are plain (only <td> cells without spans or markup inside): those are read with
one `.text` per cell, the others cell by cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import lxml.etree

from ..errors import ParseError

Element = Any  # lxml's stubs type xpath() results as a wide union; elements are lxml.etree._Element
Cell = tuple[str, bool]  # (cell text, is header cell)
Grid = list[list[Cell]]
Line = tuple[list[str], list[bool] | None]  # a grid row: its cells' text, and which are <th> (None: none is)
Spans = list[tuple[str | None, str | None]]  # a row's td/th cells' (rowspan, colspan) attributes
_MAX_SPAN = 1000
_GRID_PER_CELL, _GRID_SLACK = 10, 100_000  # how far colspan/rowspan may expand a table
_MAX_LABEL = 1000  # header characters that count as a column label
ROWS: Any = lxml.etree.XPath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")  # a table's own rows, in document order
_ALL_ROWS: Any = lxml.etree.XPath("count(.//tr)")
_SECTIONS = frozenset({"thead", "tbody", "tfoot"})
# elements whose text a reader sees apart from what is around it: blocks, line breaks, and the small print of a
# cell ("85.2<small>1.2</small>" is two numbers, not 85.21; a <sup> that is no footnote mark, see _footnote)
_APART = frozenset({"br", "hr", "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "table", "tr", "td", "th", "caption",
                    "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "section", "article", "header", "footer",
                    "figure", "figcaption", "address", "nav", "aside", "details", "summary", "sup", "small"})
# elements whose text no reader sees: scripts, styles, templates, and text hidden from every reader (the `hidden`
# attribute, display:none / visibility:hidden, a `hidden` class without a breakpoint variant such as Tailwind's
# "hidden md:inline"), such as a sort key before the shown value. Screen-reader-only text is read: it is the
# text of what a sighted reader sees as an icon ("★★★★" and "4 stars")
_UNSEEN = frozenset({"script", "style", "template", "noscript", "head", "title", "select", "option"})
_UNSEEN_STYLE = ("display:none", "visibility:hidden")
# a footnote mark's digits as superscripts: "GPT-4<sup>1</sup>" is GPT-4¹ (GPT-4² stays another entry), whose
# identity key (NFKC) is "gpt-41" as before, and "88.1<sup>2</sup>" is 88.1² (no digit of the number)
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def cell_text(cell: Element) -> str:
    """The text a reader sees in a cell (cheap for the common cell without markup): blocks and small print apart
    from their neighbours by a space, footnote marks as superscripts, hidden and script text left out. Read, never
    written back (lxml refuses text with control characters)."""
    if len(cell) == 0:
        return str(cell.text or "")
    out = [cell.text or ""]
    todo: list[Any] = list(reversed(cell))  # elements to read, and (as str) what goes after one read already
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        tag, tail = item.tag, item.tail or ""
        if not isinstance(tag, str) or tag in _UNSEEN or _hidden(item):
            if tail:
                out.append(tail)
            continue
        if tag == "sup" and _footnote(item):
            mark = "".join(item.itertext()).strip()
            out.append((mark if mark[0] in "[(" else mark.translate(_SUPERSCRIPT)) + tail)  # "[1]" as written
            continue
        apart = " " if tag in _APART else ""
        out.append(apart + (item.text or ""))
        if apart or tail:
            todo.append(apart + tail)
        todo.extend(reversed(item))
    return "".join(out)


def _footnote(sup: Element) -> bool:
    """Whether a <sup> holds a footnote mark ("2", "1,3", "a", "*", "†", "[4]"), which joins the text before it
    (as a superscript when it is digits) rather than standing apart."""
    return _FOOTNOTE.fullmatch("".join(sup.itertext()).strip()) is not None


_FOOTNOTE = re.compile(r"[\[(]?(?:[0-9]{1,2}(?:[,\-–][0-9]{1,2})*|[a-z]|[*†‡§¶#]{1,3}(?:,[*†‡§¶#]{1,3})*)[\])]?",
                       re.IGNORECASE)


def _hidden(el: Element) -> bool:
    """Whether an element is hidden from every reader by an attribute, an inline style or a `hidden` class."""
    if not el.keys():
        return False
    if el.get("hidden") is not None:
        return True
    style = el.get("style")
    if style and any(s in style.replace(" ", "").lower() for s in _UNSEEN_STYLE):
        return True
    classes = (el.get("class") or "").lower().split()
    return "hidden" in classes and not any(":" in c for c in classes)  # "hidden md:inline" shows on a desktop


@dataclass
class TableRows:
    """A table's own rows as read so far, in document order, before spans are expanded."""

    lines: list[Line] = field(default_factory=list)  # every row's td/th cells, each once
    spans: dict[int, Spans] = field(default_factory=dict)  # rows where a child element has colspan/rowspan
    children: int = 0  # child nodes of all rows (the expansion's budget)
    thead: int = 0  # rows inside <thead>

    def add(self, rows: Iterable[tuple[Element, str]]) -> None:
        """Read rows in order, each given with its parent's tag (table, thead, tbody or tfoot): a plain row (only
        <td> cells without spans or markup inside) with one .text per cell, any other row cell by cell.

        Rows no reader takes for entries are left out: <tfoot> rows (averages, notes) and body rows of one cell
        spanning several columns (a section heading such as "Models under 10B parameters", or a collapsed detail
        row). A hidden row of cells is kept: it is how "show all" tables hold the entries past the first few."""
        lines = self.lines
        for tr, section in rows:
            if section == "thead":
                self.thead += 1
            elif section == "tfoot":
                continue
            texts = [(c.text or "") if c.tag == "td" and not len(c) and (not c.keys() or (
                c.get("colspan") is None and c.get("rowspan") is None)) else None for c in tr]
            if None in texts:
                self._add_special(tr, section)
            else:
                lines.append((texts, None))  # type: ignore[arg-type]  # no None left
                self.children += len(texts)

    def _add_special(self, tr: Element, section: str) -> None:
        cells = [c for c in tr if c.tag == "td" or c.tag == "th"]
        if len(cells) == 1 and section != "thead" and _span(cells[0].get("colspan"), _MAX_SPAN) > 1 and \
                _span(cells[0].get("rowspan"), _MAX_SPAN) == 1:
            return  # a section heading across the table
        heads = [c.tag == "th" for c in cells]
        self.lines.append(([cell_text(c) for c in cells], heads if any(heads) else None))
        self.children += len(tr)
        # a processing instruction has .get() too (its pseudo-attributes): only elements count, as in XPath
        if any(isinstance(c.tag, str) and (c.get("colspan") is not None or c.get("rowspan") is not None)
               for c in tr):
            self.spans[len(self.lines) - 1] = [(c.get("rowspan"), c.get("colspan")) for c in cells]

    def grid(self, where: str) -> list[Line]:
        """The rows with colspan/rowspan expanded, repeating spanned cells.

        Spans are clamped: a colspan to the table's widest row (most td/th cells in one row), a rowspan to the
        rows left, both to 1000; a table that still expands past 10 grid cells per child of its rows (plus
        100,000) is a ParseError naming `where`.
        """
        if not self.spans:
            return self.lines
        lines, n = self.lines, len(self.lines)
        width = min(max([len(texts) for texts, _ in lines], default=1), _MAX_SPAN)
        room = limit = _GRID_PER_CELL * self.children + _GRID_SLACK
        out: list[Line] = []
        pending: dict[int, tuple[int, Cell]] = {}  # column -> (rows it still covers, its cell)
        spanned = iter([*sorted(self.spans), n])
        i, upto = 0, next(spanned)
        while i < n:
            if not pending and i < upto:  # rows untouched by spans, up to the next spanned row: as they are
                run = lines[i:upto]
                out.extend(run)
                room -= sum([len(texts) for texts, _ in run])
                i = upto
            else:
                texts, heads = lines[i]
                cells = list(zip(texts, heads or [False] * len(texts), strict=True))
                row = _expand(cells, self.spans.get(i) or [(None, None)] * len(cells), pending, width,
                              min(n - i, _MAX_SPAN), room)
                flags = [h for _, h in row]
                out.append(([t for t, _ in row], flags if any(flags) else None))
                room -= len(row)
                i += 1
                if i > upto:
                    upto = next(spanned)
            if room < 0:  # room only shrinks: checked after a run of rows as after each
                raise ParseError(f"{where}: colspan/rowspan expand it past {limit} cells ({_GRID_PER_CELL} per "
                                 f"<td>/<th> plus {_GRID_SLACK}); the table is malformed")
        return out


def read_table(table: Element) -> TableRows:
    """A parsed table's own rows (not nested tables')."""
    rows = TableRows()
    rows.add(own_rows(table))
    return rows


def own_rows(table: Element) -> list[tuple[Element, str]]:
    """A table's own rows in document order, each with its section's tag (thead, tbody, tfoot, or table).

    Rows that a stray element wraps count too: libxml2 keeps `<table><form><tr>` or a row after an unclosed
    `<b>` inside that element, where browsers move it out of the table; such rows were lost. Rows inside a cell
    or a nested table are that cell's text or that table's rows, not this table's."""
    rows = ROWS(table)
    if len(rows) == _ALL_ROWS(table):  # the common table: every row a child of the table or of a section
        return [(tr, tr.getparent().tag) for tr in rows]
    out = []
    for tr in table.iter("tr"):
        section = ""
        for up in tr.iterancestors():
            if up is table:
                out.append((tr, section or "table"))
                break
            if up.tag in ("td", "th", "table", "template", "noscript", "script"):
                break  # in a cell, a nested table, or markup no reader sees as rows
            if not section and up.tag in _SECTIONS:
                section = up.tag
    return out


def wrapped_row(tr: Element) -> bool:
    """Whether a row belongs to a table through a stray element (see own_rows), not to a cell of it."""
    for up in tr.iterancestors():
        if up.tag == "table":
            return True
        if up.tag in ("td", "th", "template", "noscript", "script"):
            return False
    return False


def _span(value: str | None, limit: int, zero: int = 1) -> int:
    """A colspan/rowspan attribute as a number of columns/rows, at most `limit`; 0 means `zero` (a rowspan of 0
    spans the rest of its section)."""
    try:
        n = int(str(value if value is not None else "1").strip() or 1)
    except ValueError:
        return 1
    return min(zero, limit) if n == 0 else max(1, min(n, limit))


def _expand(cells: list[Cell], spans: Spans, pending: dict[int, tuple[int, Cell]], max_colspan: int,
            max_rowspan: int, room: int) -> list[Cell]:
    """One grid row: cells placed left to right around the columns still held by rowspans from above."""
    row: list[Cell] = []
    for slot, (rowspan_attr, colspan_attr) in zip(cells, spans, strict=True):
        col = len(row)
        while col in pending:
            row.append(_take(pending, col))
            col += 1
        rowspan = _span(rowspan_attr, max_rowspan, zero=max_rowspan)
        colspan = _span(colspan_attr, max_colspan)
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


def as_cells(line: Line) -> list[Cell]:
    """A grid row as (text, is header cell) pairs."""
    texts, heads = line
    return list(zip(texts, heads or [False] * len(texts), strict=True))


def header_count(n_thead: int, grid: list[Line]) -> int:
    """How many leading grid rows are header rows: the <thead> rows and the all-<th> rows right after them (a
    <thead> may hold only a title, with the column names in the body's first row), else one."""
    n = n_thead
    for texts, heads in grid[n_thead:]:
        if texts and heads is not None and all(heads):
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
