"""Raw rows -> Row: clean text, parse numbers and dates, canonical keys, duplicates; pure functions.

    text.py      one cell: clean_text, clean_name, canonical, is_missing, parse_number, parse_date
    columns.py   the same a column at a time (what normalize() uses)
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from ..config import BoardSpec, name_key
from ..models import Row
from .columns import _canonical_column, _clean_column, _dates, _name, _names, _numbers
from .text import MAX_CELL, RawRow, canonical, clean_name, clean_text, is_missing, parse_date, parse_number

__all__ = ["MAX_CELL", "Normalized", "RawRow", "aliased", "apply_aliases", "canonical", "clean_name", "clean_text",
           "is_missing", "normalize", "one_per_key", "parse_date", "parse_number"]


@dataclass(frozen=True)
class Normalized:
    """The result of normalizing one document: rows in source order and warnings for the fetch record."""

    rows: tuple[Row, ...]
    warnings: tuple[str, ...]


def normalize(raw_rows: Iterable[RawRow], spec: BoardSpec) -> Normalized:
    """Turn raw rows into Rows: typed values, canonical keys (after aliases), `where` filters, one row per key.

    Works a column at a time (a clean column is recognised in one pass over its joined text, numbers and dates are
    parsed per column) and gives exactly what cleaning each row's cells one by one gives. The cyclic garbage
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
    rows: list[Row] = []
    warnings: list[str] = []
    skipped = filtered = 0
    out_of_range: list[str] = []
    names = [f.name for f in spec.fields]
    numeric = [f.name for f in spec.fields if f.type == "number"]
    dates = [f.name for f in spec.fields if f.type == "date"]
    key_fields = spec.key
    aliases = dict(spec.aliases)
    cut = 0
    cols: dict[str, list[str | None]] = {}
    for n in names:
        cols[n], c = _clean_column([r.get(n) for r in raw])
        cut += c
    for f in spec.fields:
        if f.regex is not None:
            rx = f.regex
            cols[f.name] = [None if v is None else (m.group(1) if m.groups() else m.group(0))
                            if (m := rx.search(v)) else None for v in cols[f.name]]
    keep = [True] * len(raw)
    for field, allowed in ((w, {v.casefold() for v in ok}) for w, ok in spec.where):
        keep = [k and (v or "").casefold() in allowed
                for k, v in zip(keep, cols.get(field) or [None] * len(raw), strict=True)]
    if "model" in cols:
        cols["model"] = _names(cols["model"], aliases)
    for k in key_fields:
        if k != "model" and k in cols:
            cols[k] = [None if v is None else _name(v) for v in cols[k]]
    keys = list(zip(*[_canonical_column(cols.get(k) or [None] * len(raw)) for k in key_fields], strict=True)) \
        if key_fields else [()] * len(raw)
    numbers = {n: _numbers(cols[n]) for n in numeric}
    dated = {n: _dates(cols[n]) for n in dates}
    dropped: dict[str, int] = {}
    field_cols = [cols[n] for n in names]
    for i, vals in enumerate(zip(*field_cols, strict=True) if names else [()] * len(raw)):
        if not keep[i]:
            filtered += 1
            continue
        key = keys[i]
        if not all(key):
            skipped += 1
            continue
        fields: dict[str, str | None] = dict(zip(names, vals, strict=True))
        model = fields.get("model") or " / ".join(fields.get(k) or "" for k in key_fields)
        if spec.exclude and any(p.search(model) for p in spec.exclude):
            continue
        values: dict[str, float | None] = {}
        for n in numeric:
            value = numbers[n][i]
            if value is not None and not math.isfinite(value):
                dropped[n], value = dropped.get(n, 0) + 1, None
            values[n] = value
        for n in dates:
            fields[n] = dated[n][i]
        if spec.metric_range is not None:
            score = values.get(spec.metric)
            lo, hi = spec.metric_range
            if score is not None and not lo <= score <= hi:
                out_of_range.append(f"{model} ({score:g})")
                values[spec.metric] = None
        rows.append(Row(key=key, model=model, fields=fields, values=values, position=len(rows)))
    rows, dupes = one_per_key(rows, spec)
    if cut:
        warnings.append(f"{cut} cell(s) longer than {MAX_CELL} characters were cut to that length")
    warnings.extend(f"{k} {n} value(s) too large for a number (or infinite) count as no value"
                    for n, k in dropped.items())
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


def one_per_key(rows: list[Row], spec: BoardSpec) -> tuple[list[Row], list[tuple[str, int]]]:
    """One row per key by `duplicates` (first | best: best primary value, ties to the first | last), source order
    kept; also each repeated key with how many rows were dropped."""
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
