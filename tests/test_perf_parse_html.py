"""The HTML source read whole and read streaming give exactly what the previous version (kept here as the
reference: a str parse, then a table walk element by element) gave: same raw rows, warnings and encoding, or the
same ParseError, over random documents full of headers, spans, nested tables, markup, odd bytes and encodings.
The reference follows the reading rules added with the real-world quirks (visible text only, tfoot/hidden/section
rows left out, rowspan=0, an XHTML declaration), each written the plain way."""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lxml.etree
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from lxml.cssselect import CSSSelector

from tracker import config
from tracker.config import BoardSpec
from tracker.errors import ParseError
from tracker.models import Page
from tracker.sources import html_stream, html_table
from tracker.sources.base import Parsed, RawRow, decode, map_columns, one_line
from tracker.sources.html_table import HtmlTable, column_labels

from .conftest import PAGES, REAL

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "tracker-hypothesis")

# ---- the reference: the previous version of html_table's parse ----

Element = Any
Cell = tuple[str, bool]
Grid = list[list[Cell]]
_MAX_SPAN = 1000
_GRID_PER_CELL, _GRID_SLACK = 10, 100_000
_PARSER = lxml.etree.HTMLParser(remove_comments=True)
_OLD_ROWS: Any = lxml.etree.XPath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")


# what a reader sees (since the real-world quirks round): blocks and small print apart, hidden text and footnote
# marks left out; written here recursively, element by element, as the plain reading of those rules
APART = {"br", "hr", "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "table", "tr", "td", "th", "caption", "h1", "h2",
         "h3", "h4", "h5", "h6", "blockquote", "pre", "section", "article", "header", "footer", "figure",
         "figcaption", "address", "nav", "aside", "details", "summary", "sup", "small"}
UNSEEN = {"script", "style", "template", "noscript", "head", "title", "select", "option"}


def hidden(el: Element) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    classes = (el.get("class") or "").lower().split()
    return el.get("hidden") is not None or "display:none" in style or "visibility:hidden" in style or (
        "hidden" in classes and all(":" not in c for c in classes))


def footnote(el: Element) -> bool:
    marks = r"[\[(]?(?:[0-9]{1,2}(?:[,\-–][0-9]{1,2})*|[a-z]|[*†‡§¶#]{1,3}(?:,[*†‡§¶#]{1,3})*)[\])]?"
    return el.tag == "sup" and re.fullmatch(marks, "".join(el.itertext()).strip(), re.I) is not None


def seen_text(el: Element) -> str:
    out = el.text or ""
    for child in el:
        if isinstance(child.tag, str) and child.tag not in UNSEEN and not hidden(child):
            if footnote(child):
                mark = "".join(child.itertext()).strip()
                out += mark if mark.startswith(("[", "(")) else mark.translate(str.maketrans("0123456789",
                                                                                         "⁰¹²³⁴⁵⁶⁷⁸⁹"))
            else:
                apart = " " if child.tag in APART else ""
                out += apart + seen_text(child) + apart
        out += child.tail or ""
    return out


def cell_text(cell: Element) -> str:
    """All text inside a cell a reader sees (cheap for the common cell without markup)."""
    if len(cell) == 0:
        return str(cell.text or "")
    return seen_text(cell)


def own_rows(table: Element) -> list[tuple[Element, str]]:
    """Every row of the table in document order, with its innermost section (thead/tbody/tfoot, else table),
    wrapped in stray elements or not, but none inside a cell or a nested table."""
    out: list[tuple[Element, str]] = []

    def walk(el: Element, section: str) -> None:
        for child in el:
            if not isinstance(child.tag, str) or child.tag in ("table", "td", "th", "template", "noscript", "script"):
                continue
            if child.tag == "tr":
                out.append((child, section))
            walk(child, child.tag if child.tag in ("thead", "tbody", "tfoot") else section)
    walk(table, "table")
    return out


def kept_rows(table: Element) -> list[Element]:
    """A table's own rows that can hold entries or headers: not <tfoot>, not a section heading (one cell
    spanning columns) outside <thead>; hidden rows count (a "show all" table's collapsed entries)."""
    out = []
    for tr, section in own_rows(table):
        if section == "tfoot":
            continue
        cells = [c for c in tr if c.tag in ("td", "th")]
        if section != "thead" and len(cells) == 1 and _span(cells[0], "colspan", _MAX_SPAN) > 1 \
                and _span(cells[0], "rowspan", _MAX_SPAN) == 1:
            continue
        out.append(tr)
    return out


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
        n = int(str(cell.get(name, "1")).strip() or 1)
    except ValueError:
        return 1
    return limit if n == 0 and name == "rowspan" else max(1, min(n, limit))  # rowspan=0: the rest of the rows


def table_grid(table: Element, where: str = "the table") -> Grid:
    """Expand a table's own rows (not nested tables') into a grid, repeating spanned cells.

    Spans are clamped: a colspan to the table's widest plain row (most cells in one row), a rowspan to the
    rows left, both to 1000; a table that still expands past 10 grid cells per cell (plus 100,000) is a
    ParseError naming `where`.
    """
    trs = kept_rows(table)
    spanned = [c for tr in trs for c in tr if isinstance(c.tag, str) and (c.get("colspan") is not None
                                                                         or c.get("rowspan") is not None)]
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
    """How many leading grid rows are header rows: <thead> rows and the all-<th> rows after them, else one."""
    n_thead = sum(1 for _, section in own_rows(table) if section == "thead")
    n = n_thead
    for row in grid[n_thead:]:
        if row and all(head for _, head in row):
            n += 1
        else:
            break
    return n or 1



def reference(page: Page, spec: BoardSpec) -> Parsed:
    """The previous HtmlTable.parse."""
    text, encoding = decode(page, spec)
    text = re.sub(r"\A(?:\s*<\?xml\s[^>]*\?>)+", "", text)  # an XHTML page's declaration (lxml refuses it in text)
    try:
        doc = lxml.etree.fromstring(text.replace("\x00", ""), _PARSER)
    except (lxml.etree.LxmlError, ValueError) as exc:
        raise ParseError(f"{spec.id}: {page.url} is not parseable HTML: {one_line(str(exc))}") from exc
    if doc is None:
        raise ParseError(f"{spec.id}: {page.url} has no HTML elements (only text, comments or white space); "
                         f"the site may be down or throttling; will try again on the next run")
    if spec.selector:
        tables: list[Any] = []
        for el in CSSSelector(spec.selector)(doc):
            tables.extend([el] if el.tag == "table" else el.iter("table"))  # type: ignore[union-attr]
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


# ---- the comparison ----

BOARDS: list[dict[str, Any]] = [
    {"metric": "score", "fields": {"model": "model", "score": "score", "note": "note"}},
    {"metric": "score", "selector": "table", "fields": {"model": "model", "score": ["score", "top 1 score"]}},
    {"metric": "score", "selector": "div.x", "fields": {"model": "model", "score": "score"}},
    {"metric": "score", "key": ["model", "size"], "fields": {"model": ["a model", "model"], "score": "score",
                                                            "size": "size"}},
]


def spec_of(i: int) -> BoardSpec:
    return config.parse({"board": [{"id": "b", "url": "https://example.org/b", "format": "html", **BOARDS[i]}]},
                        base=Path("/")).boards[0]


def outcome(fn: Any, page: Page, spec: BoardSpec) -> Any:
    try:
        parsed = fn(page, spec)
    except ParseError as exc:
        return "ParseError", str(exc)
    return parsed.rows, parsed.warnings, parsed.encoding


ODD = ["<!-- c -->", "<?pi colspan='2'?>", "&amp;", "&#31;", "&nbsp;", "\x00", "\x01", "\ufeff", "é", "😀", "<br>",
       "<b>", "</b>", "<p>", " ", "\n", "<meta charset='latin-1'>", "<script>", "</script>", "</td>", "</tr>",
       "<span colspan=2>", "<?xml version='1.0' encoding='latin-1'?>", "</table>", "<tr>", "<td>", "<th>"]
LABELS = ["model", "score", "size", "note", "a model", "top 1", "Score ", "MODEL", ""]
SPANS = ["", " rowspan=2", " colspan=2", " rowspan=3 colspan=2", " rowspan='x'", " colspan=0", " rowspan=99999",
         " class=c", " colspan=' 2 '", " class=c rowspan=2", " ROWSPAN=2", " colspan", " rowspan=0", " colspan=9",
         " hidden", " class='x sr-only'", " style='DISPLAY: none'"]
MARKUP = ["<b>", "<br>", "<i>x</i>", "<?p?>", "<!--c-->", "<sup>1</sup>", "<sup>[a]</sup>", "<sup>new model</sup>",
          "<span style='display:none'>9</span>", "<div>d</div>", "<small>2.5</small>", "<script>s=1</script>",
          "<span class=visually-hidden>h</span>", "<p>", "<sub>2</sub>", "<span class='hidden md:block'>r</span>",
          "<button>b</button>", "<template><tr><td>t</td></tr></template>"]
ROW_OPEN = ["<tr>"] * 6 + ["<tr hidden>", "<tr style='visibility:hidden'>", "<tr class=c>", "<form><tr>", "<b><tr>"]
odd = st.sampled_from(ODD)
text = st.one_of(st.sampled_from(["m1", "m2", "1.5", "91%", "224", "x y", ""]), st.text(max_size=3), odd)


@st.composite
def cell(draw: Any, head: bool, depth: int, label: str | None = None) -> str:
    tag = "th" if head or draw(st.integers(0, 9)) == 0 else "td"
    inner = (label if label is not None else draw(st.sampled_from(LABELS))) if head else draw(text)
    if depth and draw(st.integers(0, 15)) == 0:
        inner += draw(table(depth - 1))
    elif draw(st.integers(0, 5)) == 0:
        inner = draw(st.sampled_from(MARKUP)) + inner if draw(st.booleans()) else inner + draw(st.sampled_from(MARKUP))
    close = "" if draw(st.integers(0, 6)) == 0 else f"</{tag}>"
    return f"<{tag}{draw(st.sampled_from(SPANS))}>{inner}{close}"


@st.composite
def row(draw: Any, head: bool, depth: int) -> str:
    if head and draw(st.integers(0, 3)):  # mostly a header that fits the boards
        labels = draw(st.permutations(["model", "score", draw(st.sampled_from(LABELS))]))
        cells = [draw(cell(True, depth, label)) for label in labels]
    else:
        cells = draw(st.lists(cell(head, depth), max_size=5))
    junk = draw(odd) if draw(st.integers(0, 8)) == 0 else ""
    return draw(st.sampled_from(ROW_OPEN)) + junk + "".join(cells) + ("" if draw(st.integers(0, 6)) == 0 else "</tr>")


@st.composite
def table(draw: Any, depth: int = 1) -> str:
    head = "".join(draw(st.lists(row(True, depth), max_size=2)))
    if head and draw(st.booleans()):
        head = f"<thead>{head}</thead>"
    body = "".join(draw(st.lists(row(False, depth), max_size=6)))
    if draw(st.booleans()):
        body = f"<tbody>{body}</tbody>"
    foot = f"<tfoot>{draw(row(False, 0))}</tfoot>" if draw(st.integers(0, 6)) == 0 else ""
    close = "" if draw(st.integers(0, 8)) == 0 else "</table>"
    return f"<table>{head}{body}{foot}{close}"


@st.composite
def document(draw: Any) -> str:
    parts = draw(st.lists(st.one_of(table(), table(), st.just("<div class=x>"), st.just("</div>"), odd, text),
                          min_size=1, max_size=5))
    return "".join(parts)


documents = document()
encodings = st.sampled_from(["utf-8", "utf-16", "cp1252", None])


def streaming(page: Page, spec: BoardSpec) -> Parsed:
    """HtmlTable.parse with every document streamed (when it can be), fed a few bytes at a time."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(html_table, "STREAM_FROM", 0)
        mp.setattr(html_stream, "CHUNK", 7)
        return HtmlTable().parse(page, spec)


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(documents)
def test_table_grid_and_header_rows_equal_the_reference(doc: str) -> None:
    """What `tracker add` reads (detect/htmldoc.py): each table's grid and its number of header rows."""
    try:
        tree = lxml.etree.fromstring(doc.replace("\x00", ""), _PARSER)
    except (lxml.etree.LxmlError, ValueError):
        return
    for table in [] if tree is None else tree.iter("table"):
        try:
            expected: Any = table_grid(table, "t")
        except ParseError as exc:
            expected = str(exc)
        try:
            got: Any = html_table.table_grid(table, "t")
        except ParseError as exc:
            got = str(exc)
        assert got == expected
        if not isinstance(got, str):
            assert html_table.split_header(table, got) == split_header(table, expected)


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(documents, st.integers(0, len(BOARDS) - 1), encodings)
def test_html_source_equals_the_reference(doc: str, i: int, encoding: str | None) -> None:
    spec = spec_of(i)
    try:
        data = doc.encode(encoding or "utf-8")
    except UnicodeEncodeError:
        data = doc.encode("utf-8")
    page = Page("https://example.org/b", data, datetime.now(UTC), encoding=encoding)
    expected = outcome(reference, page, spec)
    assert outcome(HtmlTable().parse, page, spec) == expected
    assert outcome(streaming, page, spec) == expected


RECORDED = [*sorted(PAGES.glob("html_*.html")), *sorted((REAL / "timm-docs-html").glob("*.html"))]


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.name)
@pytest.mark.parametrize("i", range(len(BOARDS)))
def test_recorded_pages_equal_the_reference(path: Path, i: int) -> None:
    page = Page("https://example.org/b", path.read_bytes(), datetime.now(UTC))
    spec = spec_of(i)
    expected = outcome(reference, page, spec)
    assert outcome(HtmlTable().parse, page, spec) == expected
    assert outcome(streaming, page, spec) == expected


MB = 1 << 20
HEAD = "<table><tr><th>model</th><th>score</th></tr>"


def fill(unit: str, size: int = MB) -> str:
    return unit * (size // len(unit))


@pytest.mark.parametrize("doc", [
    HEAD + fill("<tr><td rowspan=999 colspan=999>a</td></tr>"),
    HEAD[:-5] + fill("<td colspan=99999>x</td>", MB // 2) + "</tr>"
    + fill("<tr><td rowspan=99999>m</td></tr>", MB // 2),
    HEAD + fill("<tr><td rowspan=40 colspan=2>a</td></tr><tr><td>b</td><td>1</td></tr>"),
    HEAD + fill("<tr><td class=n>m<b>1</b></td><td>2</td></tr>"),
], ids=["spans", "wide-spans", "spans-in-budget", "markup"])
def test_megabyte_documents_streamed_equal_the_reference(doc: str) -> None:
    page = Page("https://example.org/b", doc.encode(), datetime.now(UTC))
    spec = spec_of(0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(html_table, "STREAM_FROM", 0)
        assert outcome(HtmlTable().parse, page, spec) == outcome(reference, page, spec)


def test_a_big_table_streams_and_drops_its_rows() -> None:
    rows = "".join(f"<tr><td>m{i}</td><td>{i}.5</td></tr>" for i in range(3000))
    data = f"<table><tr><th>model</th><th>score</th></tr>{rows}</table><p>after</p>".encode()
    tables = list(html_stream.stream_tables(data, chunk=4096))
    assert len(tables) == 1 and len(tables[0].lines) == 3001
    assert tables[0].lines[-1] == (["m2999", "2999.5"], None)


def test_a_table_inside_a_cell_is_left_to_the_whole_tree() -> None:
    data = b"<table><tr><th>model</th><th>score</th></tr><tr><td><table><tr><td>x</td></tr></table></td></tr></table>"
    with pytest.raises(html_stream.Unusual):
        list(html_stream.stream_tables(data))
    page = Page("https://example.org/b", data, datetime.now(UTC))
    assert outcome(streaming, page, spec_of(0)) == outcome(reference, page, spec_of(0))
