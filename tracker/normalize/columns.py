"""Normalizing a column at a time: the same answers as the cell functions of .text, with their common cases
recognised once per column or inlined (tests/test_perf_normalize.py compares them with the row-by-row way)."""

from __future__ import annotations

import re
from typing import Any, cast

from ..config import name_key
from .text import _MARK_END, _SUFFIX, MAX_CELL, _number, canonical, clean_name, clean_text, parse_date


def _present(col: list[str | None]) -> list[str]:
    """The cells that are not None (the column itself when none is)."""
    return [v for v in col if v is not None] if None in col else cast(list[str], col)


def _clean_column(col: list[str | None]) -> tuple[list[str | None], int]:
    """clean_text of every cell (None stays None), cells cut to MAX_CELL first; and how many were cut."""
    texts = _present(col)
    cut = 0
    if texts and max(map(len, texts)) > MAX_CELL:
        cut = sum(len(v) > MAX_CELL for v in texts)
        col = [v[:MAX_CELL] if v is not None and len(v) > MAX_CELL else v for v in col]
        texts = _present(col)
    joined = "|".join(texts)  # every cell takes clean_text's fast path (strip) when the whole column does
    if joined.isascii() and joined.isprintable() and "  " not in joined:
        return [None if v is None else v.strip() for v in col], cut
    return [None if v is None else v.strip() if v.isascii() and v.isprintable() and "  " not in v else clean_text(v)
            for v in col], cut


def _name(v: str) -> str:
    """clean_name of a cell (at once for the common clean, plain ASCII name without a marker; a cell cut out by a
    field's regex may still have white space at its ends)."""
    plain = v.isascii() and v.isprintable() and "  " not in v and v == v.strip()
    return v if plain and (not v or v[-1] not in _MARK_END) and " *" not in v else clean_name(v)


def _names(col: list[str | None], aliases: dict[str, str]) -> list[str | None]:
    """The model column: clean names (None becomes ""), then the board's aliases."""
    out: list[str | None] = ["" if v is None else _name(v) for v in col]
    if aliases:
        out = [aliases.get(name_key(v), v) if v else v for v in out]
    return out


def _canonical_column(col: list[str | None]) -> list[str]:
    """canonical(v or "") of every cell (the cell's own string when it is canonical already: one string less
    per row to hold)."""
    texts = ["" if v is None else v for v in col]
    joined = "|".join(texts)
    if joined.isascii() and joined.isprintable() and "  " not in joined:
        keys = [v.strip().lower() for v in texts]
    else:
        keys = [v.strip().lower() if v.isascii() and v.isprintable() and "  " not in v else canonical(v)
                for v in texts]
    return [v if k == v else k for k, v in zip(keys, texts, strict=True)]


# one line per cell: a number, maybe "%" and/or " (...)" after it ("91.2", "91%", "82.2 (17.8)"): _number reads the
# number; a number with a unit letter ("660M"); or (the general pattern) anything else, which gets no group
_PLAIN = re.compile(r"^([-+]?[0-9]+(?:\.[0-9]*)?)%?(?: \(.*)?$", re.M)
_SCALED_LINE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([kKmMbBgGtT])$", re.M)
_ANY = re.compile(r"^(?:([-+]?[0-9]+(?:\.[0-9]*)?)%?(?: \(.*)?|([0-9]+(?:\.[0-9]+)?)([kKmMbBgGtT])|.*)$", re.M)
_UNIT = {u: _SUFFIX[u.lower()] for u in "kKmMbBgGtT"}


def _numbers(col: list[str | None]) -> list[float | None]:
    """_number of every cell, the common forms read off the whole column by one regex pass (tests/
    test_perf_normalize.py and tests/test_perf_parse_numbers.py hold them equal to the cell-by-cell answers)."""
    texts = _present(col)
    gaps = len(texts) < len(col)
    joined = "\n".join(texts)
    if not texts or joined.count("\n") != len(texts) - 1:  # none, or a cell with a line break (no line per cell)
        return [None if v is None else _number(v) for v in col]
    numbers: list[float | None] | None
    if texts[0][-1:] not in _UNIT:
        found: list[Any] = _PLAIN.findall(joined)  # a column of plain numbers: only those lines match
        numbers = list(map(float, found)) if len(found) == len(texts) else None
    else:
        found = _SCALED_LINE.findall(joined)
        numbers = [float(n) * _UNIT[u] for n, u in found] if len(found) == len(texts) else None
    if numbers is None:  # a mixed column: every line matches _ANY, the forms above in their groups
        numbers = [float(plain) if plain else float(scaled) * _UNIT[unit] if scaled else _number(text)
                   for text, (plain, scaled, unit) in zip(texts, _ANY.findall(joined), strict=True)]
    if not gaps:
        return numbers
    values = iter(numbers)
    return [None if v is None else next(values) for v in col]


def _dates(col: list[str | None]) -> list[str | None]:
    """parse_date of every cell, each distinct text parsed once."""
    seen: dict[str | None, str | None] = {}
    return [seen[v] if v in seen else seen.setdefault(v, parse_date(v)) for v in col]
