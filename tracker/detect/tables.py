"""Candidate tables of a fetched document: its format (CSV dialect, JSON/YAML rows, HTML tables), gzip/zip unpacked."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from urllib.parse import urlparse

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from ..sources.base import decode
from ..sources.containers import unpack
from ..sources.csv_file import sniff_sample
from ..sources.yaml_doc import load_yaml

DETECTABLE = ("csv", "html", "json", "yaml")
_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_YAML_LINE = re.compile(r"^(---\s*$|- \S|[A-Za-z_\"'][^,;\t|]*:(\s|$))")


@dataclass(frozen=True)
class Column:
    """One column of a candidate table: its header, what a board's field names (`from`), and its cells."""

    name: str
    source: str  # csv/html: the header text; json: a JMESPath into a row
    cells: tuple[str | None, ...]
    selectable: bool = True  # False for a column no field can read (an empty header)


@dataclass(frozen=True)
class Candidate:
    """One table a board could track: its format, where it is in the document, and its columns."""

    number: int  # 1-based, in document order
    format: str
    label: str
    columns: tuple[Column, ...]
    rows: int
    rows_path: str | None = None  # json/yaml: the board's `rows` JMESPath
    key_rows: str | None = None  # json/yaml object keyed by name: the `rows` when a field reads "$key" ("@": the root)
    selector: str | None = None  # html: the board's `selector`, when the page has more than one table
    title: str | None = None  # a caption or page title, for the board's title


def spec_for(board_id: str, url: str, fmt: str = "csv") -> BoardSpec:
    """A placeholder BoardSpec, so the sources' decoding and header helpers can be reused before a board exists."""
    return BoardSpec(id=board_id, title=board_id, url=url, format=fmt, metric="", fields=())


def detect_format(page: Page, text: str) -> str:
    """The document's format by its content: html, json, yaml or csv (a name or content type only breaks ties)."""
    head = text.lstrip()[:512].lower()
    path = urlparse(page.url).path.lower() if "://" in page.url else page.url.lower()
    ctype = page.content_type.lower()
    if head.startswith("<"):
        return "html"
    if head.startswith(("{", "[")):
        return "json"
    if "yaml" in ctype or path.endswith((".yaml", ".yml")):
        return "yaml"
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    if _YAML_LINE.match(first):
        return "yaml"
    return "csv"


def find_tables(page: Page, fmt: str | None = None) -> list[Candidate]:
    """Every table a board could read in the document (gzip/zip unpacked; ParseError when there is none)."""
    placeholder = spec_for("tracker add", page.url)
    page, _ = unpack(page, placeholder)
    text, _ = decode(page, placeholder)
    found = fmt or detect_format(page, text)
    if found in ("json", "yaml"):
        from .jsondoc import doc_tables, json_document

        doc = json_document(page.url, text) if found == "json" else load_yaml(text, placeholder, page.url)
        cands = doc_tables(doc, found)
    elif found == "html":
        from .htmldoc import html_tables

        cands = html_tables(page.url, text)
    else:
        cands = csv_tables(page.url, text)
    usable = [c for c in cands if c.rows]
    if not usable:
        what = {"html": "no <table> with data rows", "json": "no list of row objects",
                "yaml": "no list of row objects", "csv": "no data rows under a header line"}[found]
        raise ParseError(f"{page.url}: no table found ({found}: {what}); point `tracker add` at the document "
                         f"that holds the leaderboard rows")
    return usable


def csv_tables(url: str, text: str) -> list[Candidate]:
    """The one table of a CSV/TSV document, read with the dialect the csv source will sniff."""
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sniff_sample(text), delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        records = [r for r in csv.reader(io.StringIO(text, newline=""), dialect) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise ParseError(f"{url} is not valid CSV: {exc}") from exc
    if not records:
        return []
    header, body = records[0], records[1:]
    columns = tuple(Column(h.strip() or f"column {i + 1}", h, tuple(r[i] if i < len(r) else None for r in body),
                           selectable=bool(h.strip())) for i, h in enumerate(header))
    sep = _DELIMITERS.get(dialect.delimiter, repr(dialect.delimiter))
    return [Candidate(1, "csv", f"CSV, {sep}-separated", columns, len(body))]
