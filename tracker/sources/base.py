"""The Source plugin base: a kind, a docstring, and parse(page, spec) -> raw rows keyed by field name."""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from charset_normalizer import from_bytes

from ..config import BoardSpec, FieldSpec
from ..errors import ParseError
from ..models import Page

RawRow = dict[str, str | None]
_WS = re.compile(r"\s+")


@dataclass
class Parsed:
    """What a source found in a document: raw rows in source order, plus warnings for the fetch record."""

    rows: list[RawRow]
    warnings: list[str] = field(default_factory=list)


class Source:
    """Base of the document formats; subclasses set `kind` and implement parse()."""

    kind = ""

    def parse(self, page: Page, spec: BoardSpec) -> Parsed:
        """Extract raw rows (field name -> cell text) from a fetched document."""
        raise NotImplementedError


def header_key(text: str) -> str:
    """Header comparison form: case- and white-space-insensitive."""
    return _WS.sub("", text.replace("\u00a0", " ")).casefold()


def decode(page: Page, spec: BoardSpec) -> str:
    """The document as text: board encoding, else declared charset, else BOM/UTF-8, else detected."""
    data = page.content
    for enc in (spec.encoding, page.encoding):
        if enc:
            try:
                return data.decode(enc).lstrip("\ufeff")
            except (LookupError, UnicodeDecodeError):
                continue
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(data).best()
        if best is None:
            raise ParseError(f"{spec.id}: cannot detect the text encoding of {page.url}; set 'encoding' on the "
                             f"board") from None
        return str(best)


def required_fields(spec: BoardSpec) -> set[str]:
    """Fields a document must have: the key fields and the primary metric."""
    return {*spec.key, spec.metric}


def map_columns(headers: Sequence[Sequence[str]], spec: BoardSpec, where: str) -> tuple[dict[str, int], list[str]]:
    """Match each field's candidate names against column headers (each column: its header labels).

    Returns field -> column index and warnings for optional fields that matched nothing; raises ParseError
    naming the missing required fields and the headers that were there.
    """
    index: dict[str, list[int]] = {}
    for col, labels in enumerate(headers):
        for label in labels:
            index.setdefault(header_key(label), []).append(col)
    mapping: dict[str, int] = {}
    warnings: list[str] = []
    for f in spec.fields:
        found = _first_match(f, index)
        if found is not None:
            mapping[f.name] = found
        elif f.name in required_fields(spec):
            shown = ", ".join(repr(" / ".join(dict.fromkeys(h))) for h in headers if any(h)) or "(none)"
            raise ParseError(f"{spec.id}: {where} has no column for field {f.name!r} (looked for "
                             f"{', '.join(map(repr, f.sources))}; columns: {shown}); fix [board.fields]")
        else:
            warnings.append(f"no column for optional field {f.name!r} (looked for {', '.join(f.sources)})")
    return mapping, warnings


def _first_match(f: FieldSpec, index: dict[str, list[int]]) -> int | None:
    for cand in f.sources:
        cols = index.get(header_key(cand))
        if cols:
            return cols[0]
    return None
