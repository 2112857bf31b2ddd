"""Normalizing a column at a time: the same answers as the cell functions of .text, with their common cases
recognised once per column or inlined (tests/test_perf_normalize.py compares them with the row-by-row way)."""

from __future__ import annotations

import contextlib
import math

from ..config import name_key
from .text import _MARK_END, _SCALED, _SUFFIX, MAX_CELL, _number, canonical, clean_name, clean_text, parse_date


def _clean_column(col: list[str | None]) -> tuple[list[str | None], int]:
    """clean_text of every cell (None stays None), cells cut to MAX_CELL first; and how many were cut."""
    texts = [v for v in col if v is not None]
    cut = 0
    if texts and max(map(len, texts)) > MAX_CELL:
        cut = sum(len(v) > MAX_CELL for v in texts)
        col = [v[:MAX_CELL] if v is not None and len(v) > MAX_CELL else v for v in col]
        texts = [v for v in col if v is not None]
    joined = "|".join(texts)  # every cell takes clean_text's fast path (strip) when the whole column does
    if joined.isascii() and joined.isprintable() and "  " not in joined:
        return [None if v is None else v.strip() for v in col], cut
    return [None if v is None else clean_text(v) for v in col], cut


def _name(v: str) -> str:
    """clean_name of a cleaned cell (the common plain ASCII name without a marker at once)."""
    return v if v.isascii() and (not v or v[-1] not in _MARK_END) and " *" not in v else clean_name(v)


def _names(col: list[str | None], aliases: dict[str, str]) -> list[str | None]:
    """The model column: clean names (None becomes ""), then the board's aliases."""
    out: list[str | None] = ["" if v is None else _name(v) for v in col]
    if aliases:
        out = [aliases.get(name_key(v), v) if v else v for v in out]
    return out


def _canonical_column(col: list[str | None]) -> list[str]:
    """canonical(v or "") of every cell."""
    texts = ["" if v is None else v for v in col]
    joined = "|".join(texts)
    if joined.isascii() and joined.isprintable() and "  " not in joined:
        return [v.strip().lower() for v in texts]
    return [canonical(v) for v in texts]


def _numbers(col: list[str | None]) -> list[float | None]:
    """_number of every cell, with its quick answers inlined (tests/test_perf_normalize.py holds them equal)."""
    out: list[float | None] = []
    nan = math.nan
    for text in col:
        if text is None:
            out.append(None)
            continue
        value = nan
        if " " in text or text[-1:] == "%":  # float(text) fails: _number's first step, "91.2 (8.8)", "91%"
            head, _, rest = text.strip().partition(" ")
            if not rest or rest[0] == "(":
                with contextlib.suppress(ValueError):
                    value = float(head[:-1] if head.endswith("%") else head)
        else:
            try:
                value = float(text)  # what _number's first step gives for a cell without space or "%"
            except ValueError:
                if m := _SCALED.fullmatch(text):  # "660M": what _number's regex path gives
                    value = float(m.group(1)) * _SUFFIX[m.group(2).lower()]
        out.append(value if value == value else _number(text))  # NaN: no quick answer (or "nan", no value)
    return out


def _dates(col: list[str | None]) -> list[str | None]:
    """parse_date of every cell, each distinct text parsed once."""
    seen: dict[str | None, str | None] = {}
    return [seen[v] if v in seen else seen.setdefault(v, parse_date(v)) for v in col]
