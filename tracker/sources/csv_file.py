"""CSV (and TSV) documents: sniffed dialect (or Excel's `sep=` line), BOM, quoted numbers, title lines above the
header."""

from __future__ import annotations

import csv
import io
import re
from typing import TYPE_CHECKING

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import Parsed, RawRow, Source, decode, header_key, map_columns, one_line, required_fields

if TYPE_CHECKING:
    from _csv import Reader

_SAMPLE = 8192
# csv.Sniffer's quote regexes are quadratic in the quote characters of the sample (8 KB of '"\n': 1.4 s);
# a sample is cut before its 256th quote character (real boards have a handful in 8 KB; worst case ~50 ms)
_MAX_SAMPLE_QUOTES = 256
_QUOTE = re.compile("[\"']")
# Excel's first line "sep=;" names the delimiter (any one character but a letter, digit, quote or line break)
_SEP_LINE = re.compile(r"[ ]*sep=([^\w\s\"']|\t)\1*[ ]*(?:\r\n|\r|\n|\Z)", re.IGNORECASE)
MAX_TITLE_LINES = 20  # non-empty lines after the first that may still be the header (titles, comments above it)


def sniff_sample(text: str) -> str:
    """The start of a document that the dialect is guessed from: 8 KB, cut before its 256th quote character."""
    sample = text[:_SAMPLE]
    for n, m in enumerate(_QUOTE.finditer(sample), start=1):
        if n == _MAX_SAMPLE_QUOTES:
            return sample[: m.start()]
    return sample


def _header_at(text: str, spec: BoardSpec, delimiters: str) -> tuple[int, int, str | None]:
    """Where the header line starts: (offset, lines above it, its delimiter), or (0, 0, None) for the first line.

    The first non-empty line is the header unless it lacks a column for a required field and one of the next
    MAX_TITLE_LINES non-empty lines has them all (the lines above are a title or comments). Lines are split at
    each delimiter, cells trimmed of spaces and quotes, and matched as base.map_columns matches header names.
    """
    pos, lines, seen = 0, 0, 0
    while seen <= MAX_TITLE_LINES and pos < len(text):
        end = _LINE_END.search(text, pos)
        stop, after = (end.start(), end.end()) if end else (len(text), len(text))
        line = text[pos:stop]
        if line.strip():  # a line of only delimiters or quotes counts: the reader may take it for a header
            found = next((d for d in delimiters if _has_required(line.split(d), spec)), None)
            if found is not None:
                return (pos, lines, found) if seen else (0, 0, None)
            seen += 1
        pos, lines = after, lines + 1
    return 0, 0, None


_LINE_END = re.compile(r"\r\n|\r|\n")


def _has_required(cells: list[str], spec: BoardSpec) -> bool:
    """Whether header cells name a column for every required field (the header matching of base.map_columns)."""
    labels = {header_key(c).strip("\"'") for c in cells}
    return all(any(header_key(s) in labels for s in spec.field(name).sources) for name in required_fields(spec))


def _reader(text: str, spec: BoardSpec) -> tuple[Reader, int]:
    """A csv reader from the header line on, and the lines above it that it skips. An Excel `sep=` first line
    sets the delimiter; title lines above the header are skipped (their delimiter then is the header's);
    otherwise the dialect is sniffed from the start of the document."""
    sep = _SEP_LINE.match(text)
    skipped = 0
    if sep is not None:
        text, skipped = text[sep.end():], 1
    offset, above, delimiter = _header_at(text, spec, sep.group(1) if sep else ",;\t|")
    if offset:
        text, skipped = text[offset:], skipped + above
    delimiter = sep.group(1) if sep else delimiter
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sniff_sample(text), delimiters=delimiter
                                                                       or ",;\t|")
    except csv.Error:
        dialect = csv.excel
    stream = io.StringIO(text, newline="")
    if delimiter is not None:
        return csv.reader(stream, dialect, delimiter=delimiter), skipped
    return csv.reader(stream, dialect), skipped


class CsvSource(Source):
    """A CSV/TSV file with one header row; fields map to header names (case- and space-insensitive)."""

    kind = "csv"

    def parse(self, page: Page, spec: BoardSpec) -> Parsed:
        """Read the header, map columns to fields, and return one raw row per data line."""
        text, encoding = decode(page, spec)
        reader, skipped = _reader(text, spec)
        last: list[str] | None = None
        try:
            header = next((r for r in reader if any(c.strip() for c in r)), None)
            if header is None:
                raise ParseError(f"{spec.id}: {page.url} is empty (no CSV header line)")
            mapping, warnings = map_columns([[h] for h in header], spec, f"the CSV header of {page.url}")
            rows: list[RawRow] = []
            for rec in reader:
                if not any(c.strip() for c in rec):
                    continue
                last = rec
                rows.append({name: (rec[col] if col < len(rec) else None) for name, col in mapping.items()})
        except csv.Error as exc:
            raise ParseError(f"{spec.id}: {page.url} is not valid CSV (line {reader.line_num + skipped}): "
                             f"{one_line(str(exc))}") from exc
        if last is not None and len(last) < len(header) and not text.endswith(("\n", "\r")):
            raise ParseError(f"{spec.id}: {page.url} looks truncated: the last line has {len(last)} of "
                             f"{len(header)} fields and no final newline; will try again on the next run")
        return Parsed(rows, warnings, encoding)
