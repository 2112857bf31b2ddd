"""A big HTML document's tables read while it streams in, so that its whole tree is never held at once.

lxml's pull parser builds the tree a chunk at a time; every table row is read as soon as it ends and then removed
from the tree (lxml allows dropping elements that have ended). Only what the whole-tree reading
(`html_grid.read_table`) answers the same way is handled here: anything else (a table inside a table or a cell, a
parser complaint) raises `Unusual`, and the caller reads the document as a whole instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import lxml.etree

from .html_grid import Element, TableRows, wrapped_row

CHUNK = 1 << 16  # bytes fed at a time: a few hundred rows
_SECTIONS = frozenset({"thead", "tbody", "tfoot"})


class Unusual(Exception):
    """The document has a shape the streaming reader leaves to the whole-tree one."""


def stream_tables(data: bytes, chunk: int | None = None) -> Iterator[TableRows]:
    """Every <table>'s own rows (UTF-8 `data`), in document order, each table as soon as it has ended.

    `chunk` bytes are fed at a time (CHUNK by default). Raises Unusual for a table inside another table, a row or
    a cell, and lets lxml's errors through; the caller then parses the whole document (which also gives the exact
    error for a document with no table at all).
    """
    parser = lxml.etree.HTMLPullParser(events=("end",), tag=("table", "tr"), remove_comments=True,
                                       encoding="utf-8", huge_tree=True)  # html_table.html_parser says why
    reader = _Reader()
    chunk = chunk or CHUNK
    for start in range(0, len(data), chunk):
        parser.feed(data[start:start + chunk])
        yield from reader.read(parser)
    parser.close()
    yield from reader.read(parser)


class _Reader:
    """The open table and its ended rows not yet read."""

    def __init__(self) -> None:
        self.table: Element | None = None
        self.rows = TableRows()
        self.pending: list[tuple[Element, Element]] = []  # (row, its parent), in document order

    def read(self, parser: lxml.etree.HTMLPullParser) -> Iterator[TableRows]:
        """The tables that ended among the parser's new events (their rows read and dropped from the tree)."""
        events: Iterator[tuple[str, Element]] = parser.read_events()
        for _, el in events:  # only "end" events: a table's own rows, then the table
            if el.tag == "tr":
                parent = el.getparent()
                table = parent if parent is None or parent.tag == "table" else \
                    parent.getparent() if parent.tag in _SECTIONS else None
                if table is None or table.tag != "table":
                    if wrapped_row(el):  # a row inside a stray <form> or <b>: the whole-tree reader finds it
                        raise Unusual("a table row inside another element")
                    continue  # not a table's own row: in a cell (read with the cell), or astray
                if table is not self.table:
                    if self.table is not None:
                        raise Unusual("a table inside a table or a cell")
                    self.table, self.rows = table, TableRows()
                self.pending.append((el, parent))
                continue
            if any(True for _ in el.iterancestors("table", "tr", "td", "th")) or (
                    self.table is not None and el is not self.table):
                raise Unusual("a table inside a table or a cell")
            if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
                raise Unusual("nested past libxml2's depth limit: the rest of the document was dropped")
            if self.table is None:  # a table without rows of its own
                yield TableRows()
                continue
            self._flush()
            el.clear(keep_tail=True)
            self.table = None
            yield self.rows
        self._flush()

    def _flush(self) -> None:
        """Read the pending rows, then remove them from the tree."""
        if not self.pending:
            return
        self.rows.add((tr, parent.tag) for tr, parent in self.pending)
        for tr, parent in self.pending:
            parent.remove(tr)
        self.pending.clear()
