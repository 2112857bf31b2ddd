"""Raw rows -> Row: clean text, parse numbers and dates, canonical keys, duplicates; pure functions.

    text.py      one cell: clean_text, clean_name, canonical, is_missing, parse_number, parse_date
    columns.py   the same a column at a time (what normalize() uses)
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from operator import itemgetter
from typing import Any, TypeVar, cast

from ..config import BoardSpec, name_key
from ..models import Row
from .columns import _canonical_column, _clean_column, _dates, _name, _names, _numbers
from .text import MAX_CELL, RawRow, canonical, clean_name, clean_text, is_missing, parse_date, parse_number

T = TypeVar("T")

__all__ = ["MAX_CELL", "Normalized", "RawRow", "aliased", "apply_aliases", "canonical", "clean_name", "clean_text",
           "is_missing", "normalize", "one_per_key", "parse_date", "parse_number"]


@dataclass(frozen=True)
class Normalized:
    """The result of normalizing one document: rows in source order and warnings for the fetch record."""

    rows: tuple[Row, ...]
    warnings: tuple[str, ...]


def normalize(raw_rows: Iterable[RawRow], spec: BoardSpec) -> Normalized:
    """Turn raw rows into Rows: typed values, canonical keys (after aliases), `where` filters, one row per key.

    Works a column at a time (a clean column is recognised in one pass over its joined text, a column's numbers
    are read off it by one regex pass, each distinct date is parsed once, the rows are assembled from the columns)
    and gives exactly what cleaning each row's cells one by one gives. The cyclic garbage
    collector is paused meanwhile (no cycles are made; its full passes over 100,000s of new objects cost more
    than the work).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _normalize(list(raw_rows), spec)
    finally:
        if enabled:
            gc.enable()


def _normalize(raw: list[RawRow], spec: BoardSpec) -> Normalized:
    warnings: list[str] = []
    names = [f.name for f in spec.fields]
    numeric = [f.name for f in spec.fields if f.type == "number"]
    key_fields = spec.key
    aliases = dict(spec.aliases)
    cut = 0
    cols: dict[str, list[str | None]] = {}
    for n in names:
        cols[n], c = _clean_column(_column(raw, n))
        cut += c
    for f in spec.fields:
        if f.regex is not None:
            rx = f.regex
            cols[f.name] = [None if v is None else (m.group(1) if m.groups() else m.group(0))
                            if (m := rx.search(v)) else None for v in cols[f.name]]
    none: list[str | None] = [None] * len(raw)
    keep = [True] * len(raw)
    for field, allowed in ((w, {v.casefold() for v in ok}) for w, ok in spec.where):
        keep = [k and (v or "").casefold() in allowed for k, v in zip(keep, cols.get(field) or none, strict=True)]
    if "model" in cols:
        cols["model"] = _names(cols["model"], aliases)
    for k in key_fields:
        if k != "model" and k in cols:
            cols[k] = [None if v is None else _name(v) for v in cols[k]]
    canonical_cols = [_canonical_column(cols.get(k) or none) for k in key_fields]
    keys = list(zip(*canonical_cols, strict=True)) if key_fields else [()] * len(raw)
    filtered = keep.count(False)
    if filtered or any("" in col for col in canonical_cols):
        idx = [i for i, (k, key) in enumerate(zip(keep, keys, strict=True)) if k and all(key)]  # the rows that stay
    else:
        idx = list(range(len(raw)))
    skipped = len(raw) - filtered - len(idx)
    key_cols = [cols.get(k) or none for k in key_fields]
    model_col = _pick(cols.get("model") or none, idx)
    models = [m or " / ".join(c[i] or "" for c in key_cols) for m, i in zip(model_col, idx, strict=True)] \
        if "" in model_col or None in model_col else cast(list[str], model_col)
    if spec.exclude:
        idx, models = _unexcluded(idx, models, spec)
    value_cols, dropped = _value_columns(cols, numeric, idx)
    out_of_range = _out_of_range(spec, numeric, value_cols, models)
    field_cols = [_pick(_dates(cols[n]) if f.type == "date" else cols[n], idx) for n, f in zip(names, spec.fields,
                                                                                                strict=True)]
    rows = list(map(Row, _pick(keys, idx), models, _dicts(names, field_cols, len(idx)),
                    _dicts(numeric, value_cols, len(idx)), range(len(idx))))
    rows, dupes = one_per_key(rows, spec)
    if cut:
        warnings.append(f"{cut} cell(s) longer than {MAX_CELL} characters were cut to that length")
    warnings.extend(f"{k} {n} value(s) too large for a number (or infinite) count as no value" for n, k in dropped)
    if skipped:
        warnings.append(f"{skipped} row(s) without a value for the key field(s) {', '.join(key_fields)} skipped")
    if filtered:
        warnings.append(f"{filtered} row(s) left out by 'where'")
    if dupes:
        shown = ", ".join(f"{k} ({n} dropped)" for k, n in dupes[:5]) + (
            f" and {len(dupes) - 5} more" if len(dupes) > 5 else "")
        warnings.append(f"{len(dupes)} duplicate key(s), {spec.duplicates} row kept: {shown}")
    if out_of_range:
        lo, hi = spec.metric_range or (0.0, 0.0)
        shown = ", ".join(out_of_range[:5]) + (f" and {len(out_of_range) - 5} more" if len(out_of_range) > 5 else "")
        warnings.append(f"{len(out_of_range)} {spec.metric} value(s) outside metric_range [{lo:g}, {hi:g}] "
                        f"kept no score: {shown}")
    return Normalized(tuple(rows), tuple(warnings))


def _column(raw: list[RawRow], name: str) -> list[str | None]:
    """Each raw row's cell for `name` (None where a row has none)."""
    try:
        return list(map(itemgetter(name), raw))  # every row has the field: the common case, at C speed
    except KeyError:
        return [r.get(name) for r in raw]


def _pick(col: list[T], idx: list[int]) -> list[T]:
    """The cells of the rows that stay (the column itself when every row stays)."""
    return col if len(idx) == len(col) else [col[i] for i in idx]


def _dicts(names: list[str], cols: list[list[Any]], n: int) -> list[dict[str, Any]]:
    """One {name: cell} per row."""
    if not names:
        return [{} for _ in range(n)]
    return [dict(zip(names, vals)) for vals in zip(*cols, strict=True)]  # noqa: B905 (a cell per name)


def _unexcluded(idx: list[int], models: list[str], spec: BoardSpec) -> tuple[list[int], list[str]]:
    """The rows (and their names) that no `exclude` pattern matches."""
    kept = [(i, m) for i, m in zip(idx, models, strict=True) if not any(p.search(m) for p in spec.exclude)]
    return [i for i, _ in kept], [m for _, m in kept]


def _value_columns(cols: dict[str, list[str | None]], numeric: list[str], idx: list[int]) \
        -> tuple[list[list[float | None]], list[tuple[str, int]]]:
    """Each numeric field's numbers in the rows that stay; and (field, count) of those too large for a float
    (infinite), which count as no value, in the order a row-by-row pass meets them."""
    out: list[list[float | None]] = []
    first: list[tuple[int, int, str, int]] = []  # (first row, field position, field, count)
    for at, n in enumerate(numeric):
        values = _pick(_numbers(cols[n]), idx)
        if not all(map(math.isfinite, [v for v in values if v is not None])):
            bad = [j for j, v in enumerate(values) if v is not None and not math.isfinite(v)]
            first.append((bad[0], at, n, len(bad)))
            values = [None if v is None or not math.isfinite(v) else v for v in values]
        out.append(values)
    return out, [(n, count) for _, _, n, count in sorted(first)]


def _out_of_range(spec: BoardSpec, numeric: list[str], value_cols: list[list[float | None]],
                  models: list[str]) -> list[str]:
    """The primary metric's values outside `metric_range` (set to None here), as "model (value)"."""
    if spec.metric_range is None or spec.metric not in numeric:
        return []
    lo, hi = spec.metric_range
    values = value_cols[numeric.index(spec.metric)]
    found = []
    for j, score in enumerate(values):
        if score is not None and not lo <= score <= hi:
            found.append(f"{models[j]} ({score:g})")
            values[j] = None
    return found


def one_per_key(rows: list[Row], spec: BoardSpec) -> tuple[list[Row], list[tuple[str, int]]]:
    """One row per key by `duplicates` (first | best: best primary value, ties to the first | last), source order
    kept; also each repeated key with how many rows were dropped."""
    if len({row.key for row in rows}) == len(rows):
        return rows, []
    winner: dict[tuple[str, ...], int] = {}
    counts: dict[tuple[str, ...], int] = {}
    for i, row in enumerate(rows):
        counts[row.key] = counts.get(row.key, 0) + 1
        if row.key not in winner or spec.duplicates == "last":
            winner[row.key] = i
        elif spec.duplicates == "best":
            held, v = rows[winner[row.key]].value(spec.metric), row.value(spec.metric)
            if v is not None and (held is None or (v > held if spec.higher_is_better else v < held)):
                winner[row.key] = i
    if len(winner) == len(rows):
        return rows, []
    kept = [replace(rows[i], position=n) for n, i in enumerate(sorted(winner.values()))]
    return kept, [(" / ".join(k), n - 1) for k, n in counts.items() if n > 1]


def aliased(spec: BoardSpec, model: str, key: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """A stored name and key under the board's current aliases."""
    alias = dict(spec.aliases).get(name_key(model)) if spec.aliases else None
    if alias is None or "model" not in spec.key:
        return (alias or model), key
    at = spec.key.index("model")
    return alias, (*key[:at], canonical(alias), *key[at + 1:])


def apply_aliases(rows: Sequence[Row], spec: BoardSpec) -> list[Row]:
    """The rows under the board's current aliases (display name and key), one for one, e.g. for past snapshots."""
    aliases = dict(spec.aliases)
    if not aliases:
        return list(rows)
    at = spec.key.index("model") if "model" in spec.key else None
    out = []
    for row in rows:
        alias = aliases.get(name_key(row.model))
        if alias is None or alias == row.model:
            out.append(row)
            continue
        key = row.key if at is None else (*row.key[:at], canonical(alias), *row.key[at + 1:])
        out.append(replace(row, key=key, model=alias, fields={**row.fields, "model": alias}))
    return out
