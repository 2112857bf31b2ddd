"""CSV (and TSV) documents: sniffed dialect, BOM, quoted numbers; the first non-empty line is the header."""

from __future__ import annotations

import csv
import io

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import Parsed, RawRow, Source, decode, map_columns


class CsvSource(Source):
    """A CSV/TSV file with one header row; fields map to header names (case- and space-insensitive)."""

    kind = "csv"

    def parse(self, page: Page, spec: BoardSpec) -> Parsed:
        """Read the header, map columns to fields, and return one raw row per data line."""
        text = decode(page, spec)
        sample = text[:8192]
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(io.StringIO(text, newline=""), dialect)
        try:
            header = next((r for r in reader if any(c.strip() for c in r)), None)
            if header is None:
                raise ParseError(f"{spec.id}: {page.url} is empty (no CSV header line)")
            mapping, warnings = map_columns([[h] for h in header], spec, f"the CSV header of {page.url}")
            rows: list[RawRow] = []
            for rec in reader:
                if not any(c.strip() for c in rec):
                    continue
                rows.append({name: (rec[col] if col < len(rec) else None) for name, col in mapping.items()})
        except csv.Error as exc:
            raise ParseError(f"{spec.id}: {page.url} is not valid CSV (line {reader.line_num}): {exc}") from exc
        return Parsed(rows, warnings)
