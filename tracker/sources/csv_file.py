"""CSV (and TSV) documents: sniffed dialect, BOM, quoted numbers; the first non-empty line is the header."""

from __future__ import annotations

import csv
import io
import re

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import Parsed, RawRow, Source, decode, map_columns, one_line

_SAMPLE = 8192
# csv.Sniffer's quote regexes are quadratic in the quote characters of the sample (8 KB of '"\n': 1.4 s);
# a sample is cut before its 256th quote character (real boards have a handful in 8 KB; worst case ~50 ms)
_MAX_SAMPLE_QUOTES = 256
_QUOTE = re.compile("[\"']")


def sniff_sample(text: str) -> str:
    """The start of a document that the dialect is guessed from: 8 KB, cut before its 256th quote character."""
    sample = text[:_SAMPLE]
    for n, m in enumerate(_QUOTE.finditer(sample), start=1):
        if n == _MAX_SAMPLE_QUOTES:
            return sample[: m.start()]
    return sample


class CsvSource(Source):
    """A CSV/TSV file with one header row; fields map to header names (case- and space-insensitive)."""

    kind = "csv"

    def parse(self, page: Page, spec: BoardSpec) -> Parsed:
        """Read the header, map columns to fields, and return one raw row per data line."""
        text, encoding = decode(page, spec)
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sniff_sample(text), delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(io.StringIO(text, newline=""), dialect)
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
            raise ParseError(f"{spec.id}: {page.url} is not valid CSV (line {reader.line_num}): "
                             f"{one_line(str(exc))}") from exc
        if last is not None and len(last) < len(header) and not text.endswith(("\n", "\r")):
            raise ParseError(f"{spec.id}: {page.url} looks truncated: the last line has {len(last)} of "
                             f"{len(header)} fields and no final newline; will try again on the next run")
        return Parsed(rows, warnings, encoding)
