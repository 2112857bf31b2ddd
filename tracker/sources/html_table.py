"""HTML tables (lxml): CSS selector or header match, multi-row headers, colspan/rowspan, several tables.

Without a selector, a big document (STREAM_FROM bytes or more) is read as it streams in (html_stream.py), so its
whole tree is never held; a document the streaming reader leaves alone is parsed whole, with the same answer.
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Iterable
from itertools import repeat
from operator import itemgetter

import lxml.etree
from lxml.cssselect import CSSSelector

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import Parsed, RawRow, Source, decode, map_columns, one_line
from .html_grid import (
    Cell,
    Element,
    Grid,
    Line,
    TableRows,
    as_cells,
    cell_text,
    column_labels,
    header_count,
    own_rows,
    read_table,
)
from .html_stream import Unusual, stream_tables

__all__ = ["Cell", "Grid", "HtmlTable", "cell_text", "column_labels", "cut_short", "has_element", "html_parser",
           "split_header", "table_grid"]

STREAM_FROM = 4 << 20  # documents this large (UTF-8 bytes) and without a selector are read as they stream in
_local = threading.local()  # an lxml parser is no object to share between threads; each board thread has its own


def html_parser(utf8: bool = False) -> lxml.etree.HTMLParser:
    """This thread's HTML parser (for UTF-8 bytes, or for text and other bytes). huge_tree lifts libxml2's depth
    limit from 256 to 2,048 elements: sloppy pages nest deeper and deeper (a stray <b> after every row), and past
    the limit libxml2 stops reading and keeps the tree so far, which cut a table short without a word."""
    key = "utf8" if utf8 else "any"
    parser: lxml.etree.HTMLParser | None = getattr(_local, key, None)
    if parser is None:
        parser = lxml.etree.HTMLParser(remove_comments=True, huge_tree=True, encoding="utf-8" if utf8 else None)
        setattr(_local, key, parser)
    return parser


def cut_short(parser: lxml.etree.HTMLParser) -> bool:
    """Whether the last parse stopped early at libxml2's depth limit (the rest of the document was dropped)."""
    return any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log)


def table_grid(table: Element, where: str = "the table") -> Grid:
    """Expand a table's own rows (not nested tables') into a grid, repeating spanned cells.

    Spans are clamped: a colspan to the table's widest row (most td/th cells in one row), a rowspan to the
    rows left, both to 1000; a table that still expands past 10 grid cells per child of its rows (plus
    100,000) is a ParseError naming `where`.
    """
    return [as_cells(line) for line in read_table(table).grid(where)]


def split_header(table: Element, grid: Grid) -> int:
    """How many leading grid rows are header rows: <thead> rows and the all-<th> rows after them, else one."""
    n_thead = sum(1 for _, section in own_rows(table) if section == "thead")
    return header_count(n_thead, [([t for t, _ in r], [h for _, h in r]) for r in grid])


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
        text = without_xml_declaration(text)
        data = _utf8(text)
        if data is not None:
            text = ""  # not needed any more: the document is read from `data`
            if len(data) >= STREAM_FROM and not spec.selector:
                try:
                    rows, warnings, _, fitted = _choose(stream_tables(data), spec, page.url)
                    if fitted:  # else the whole-tree reading below words the error
                        return Parsed(rows, warnings, encoding)
                except (Unusual, lxml.etree.LxmlError):
                    pass
        return self._whole(data, text, spec, page.url, encoding)

    def _whole(self, data: bytes | None, text: str, spec: BoardSpec, url: str, encoding: str) -> Parsed:
        """Parse the whole document (UTF-8 `data`, else `text`) and choose its table(s)."""
        try:
            parser = html_parser(utf8=data is not None)
            doc = lxml.etree.fromstring(data, parser) if data is not None else \
                lxml.etree.fromstring(text.replace("\x00", ""), parser)
        except (lxml.etree.LxmlError, ValueError) as exc:
            raise ParseError(f"{spec.id}: {url} is not parseable HTML: {one_line(str(exc))}") from exc
        if cut_short(parser):
            raise ParseError(f"{spec.id}: {url} nests its elements more than 2,048 deep (unclosed tags pile up), "
                             f"so only its beginning could be read; nothing was stored from it")
        if doc is None:
            raise ParseError(f"{spec.id}: {url} has no HTML elements (only text, comments or white space); "
                             f"the site may be down or throttling; will try again on the next run")
        if spec.selector:
            picked: list[Element] = CSSSelector(spec.selector)(doc)  # type: ignore[assignment]
            tables: list[Element] = []
            for el in picked:
                tables.extend([el] if el.tag == "table" else el.iter("table"))
            if not tables:
                raise ParseError(f"{spec.id}: selector {spec.selector!r} matches no <table> in {url}; "
                                 f"the page may have moved or changed; fix 'selector'")
        else:
            tables = list(doc.iter("table"))
            if not tables:
                raise ParseError(f"{spec.id}: {url} has no <table> (the page may have moved or be a "
                                 f"redirect stub); check the board's url")
        rows, warnings, errors, fitted = _choose(map(read_table, tables), spec, url)
        if not fitted:
            raise errors[0] if len(errors) == 1 else ParseError(
                f"{spec.id}: none of the {len(tables)} tables in {url} has the mapped columns; "
                f"first problem: {errors[0]}")
        return Parsed(rows, warnings, encoding)


def without_xml_declaration(text: str) -> str:
    """Decoded text without its leading `<?xml ... ?>` declarations (XHTML pages start with one): lxml refuses
    text that declares an encoding, and once the bytes are decoded the declaration has nothing left to say."""
    return _XML_DECLARATION.sub("", text, count=1) if "<?xml" in text[:512] else text


_XML_DECLARATION = re.compile(r"\A(?:\s*<\?xml\s[^>]*\?>)+")


def _utf8(text: str) -> bytes | None:
    """The document as UTF-8 for lxml (cheaper than text), or None where lxml reads the text differently."""
    try:
        return text.replace("\x00", "").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: parsed as text, as before
        return None


def _choose(tables: Iterable[TableRows], spec: BoardSpec, url: str) -> tuple[list[RawRow], list[str],
                                                                              list[ParseError], bool]:
    """Raw rows and warnings of the table(s) whose header fits (with a selector every such table, else the first),
    the ParseErrors of those that did not fit, and whether any did."""
    rows: list[RawRow] = []
    warnings: list[str] = []
    errors: list[ParseError] = []
    fitted = False
    for i, table in enumerate(tables, start=1):
        grid = table.grid(f"{spec.id}: table #{i} of {url}")
        n_head = header_count(table.thead, grid)
        try:
            mapping, warns = map_columns(column_labels([as_cells(line) for line in grid[:n_head]]), spec,
                                         f"table #{i} of {url}")
        except ParseError as exc:
            errors.append(exc)
            continue
        fitted = True
        warnings.extend(warns)
        rows.extend(_body(grid[n_head:], mapping))
        if not spec.selector:
            break
    return rows, warnings, errors, fitted


def _body(grid: list[Line], mapping: dict[str, int]) -> list[RawRow]:
    """A raw row per body row (rows of only <th> cells and empty rows are skipped)."""
    names, cols = list(mapping), list(mapping.values())
    body = [texts for texts, heads in grid if texts and (heads is None or not all(heads))]
    if len(cols) > 1 and min(map(len, body), default=0) > max(cols):  # every row has every mapped column
        return list(map(dict, map(zip, repeat(names), map(itemgetter(*cols), body))))
    return [{name: (texts[col] if col < len(texts) else None) for name, col in mapping.items()} for texts in body]


def has_element(page: Page, selector: str) -> bool:
    """Whether an HTML page has an element matching a CSS selector (a rendered page's `wait_for`)."""
    try:
        doc = lxml.etree.fromstring(page.content, html_parser())
    except (lxml.etree.Error, ValueError):
        return False
    return doc is not None and bool(CSSSelector(selector)(doc))
