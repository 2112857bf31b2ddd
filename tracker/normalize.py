"""Raw rows -> Row: clean text, parse numbers and dates, canonical keys, duplicates; pure functions."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from .config import BoardSpec, name_key
from .models import Row

RawRow = Mapping[str, str | None]

MAX_CELL = 10_000  # characters of a cell that are kept; longer (pathological) cells are cut, with a warning
_SPACES = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]+")  # + controls
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # lone surrogates (JSON "\ud800") cannot be stored as UTF-8
_NO_VALUE = frozenset({"", "-", "--", "—", "–", "−", "n/a", "na", "nan", "none", "null", "unknown", "?", "tbd",
                       "not available", "/"})
# footnote markers at the end of a name, matched on the REVERSED name so each character is read once:
# "[1]" / "[a]" / "[note 2]", a run of "*" or of "†‡§¶", and " *tag" (the regexes read right to left)
_NOTE_REV = re.compile(r"\]\s*(?:\d+|[a-z]|\d*\s*eton)\s*\[", re.I)
_RUN_REV = re.compile(r"\*+|[†‡§¶]+")
_TAG_REV = re.compile(r"[A-Za-z0-9]*\*\s", re.I)
_WS = re.compile(r"\s*")
_MARK_END = frozenset("]*†‡§¶")
_NUMBER = re.compile(
    r"(?P<sign>[-+−–]?)\s*(?P<num>\d[\d,.'\u2009\u202f]*\d|\d)(?:\s*(?P<suffix>[kKmMbBgGtT%])(?![A-Za-z]))?")
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "%": 1.0}
_ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?(?:[T ].*)?")
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}


def clean_text(text: str | None) -> str:
    """Collapse all kinds of white space (NBSP, thin spaces, BOM) to single spaces and trim."""
    if text is None:
        return ""
    if text.isascii() and text.isprintable() and "  " not in text:
        return text.strip()
    text = _SPACES.sub(" ", text).strip()
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def _is_badge(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat == "So" or cat == "Cs" or ch in "\ufe0f\u200d" or 0x1F000 <= ord(ch) <= 0x1FAFF


def clean_name(text: str | None) -> str:
    """A display name: clean text without emoji badges and footnote markers (`*tfp`, `†`, `[1]`)."""
    s = text or ""
    if not s.isascii():
        s = "".join(ch for ch in s if not _is_badge(ch))
    s = clean_text(s)
    if not s or (s[-1] not in _MARK_END and " *" not in s):
        return s
    rev, pos = s[::-1], 0  # strip markers right to left; a marker that would leave nothing stays
    while True:
        first = rev[pos]
        pattern = _NOTE_REV if first == "]" else _RUN_REV if first in "*†‡§¶" else _TAG_REV
        m = pattern.match(rev, pos)
        ws = _WS.match(rev, m.end()) if m else None
        if ws is None or ws.end() == len(rev):
            return s[: len(s) - pos]
        pos = ws.end()


def canonical(text: str) -> str:
    """The identity form of a name: case-folded and white-space-collapsed."""
    if text.isascii():
        return clean_text(text).lower()
    return clean_text(unicodedata.normalize("NFKC", text)).casefold()


def is_missing(text: str | None) -> bool:
    """True for the ways sites say 'no value': empty, dashes, n/a, Unknown, ..."""
    return clean_text(text).lower().strip(" ~") in _NO_VALUE


def parse_number(text: str | None) -> float | None:
    """Parse '91.0%', '90,98 %', '1,014.45', '−3', '~1B', '660M', '82.242 (17.758)' -> float; no value -> None.

    Never NaN or ±inf: a value too large for a float (a 400-digit cell, "1e999", "inf") is no value either.
    """
    value = _number(text)
    return value if value is None or math.isfinite(value) else None


def _number(text: str | None) -> float | None:
    """parse_number, except that a number too large for a float comes back as ±inf (so it can be counted)."""
    if text is None:
        return None
    head, _, rest = text.strip().partition(" ")
    if not rest or rest[0] == "(":
        try:
            value = float(head[:-1] if head.endswith("%") else head)
            if not math.isnan(value):
                return value
        except ValueError:
            pass
    if is_missing(text):
        return None
    s = clean_text(text).replace("\u2212", "-")
    m = _NUMBER.search(s)
    if m is None:
        return None
    num = m.group("num").replace("'", "").replace("\u2009", "").replace("\u202f", "")
    if "," in num and "." in num:
        dec = "." if num.rfind(".") > num.rfind(",") else ","
        num = num.replace("." if dec == "," else ",", "").replace(",", ".")
    elif "," in num:
        num = num.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", num) else num.replace(",", ".")
    elif num.count(".") > 1:
        num = num.replace(".", "")
    try:
        value = float(num)
    except ValueError:
        return None
    if m.group("sign") in ("-", "−", "–"):
        value = -value
    suffix = m.group("suffix")
    if suffix:
        value *= _SUFFIX[suffix.lower()]
    return value


def parse_date(text: str | None) -> str | None:
    """Parse '2024-4-2', '2023/10', '2019-01-14T10:00:00Z', 'Oct 2023', '2 Apr 2024' -> ISO 'YYYY-MM[-DD]'."""
    if text is None:
        return None
    s = clean_text(text)
    m = _ISO_DATE.fullmatch(s)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), m.group(3)
        if not 1 <= mo <= 12:
            return None
        return f"{y:04d}-{mo:02d}" + (f"-{int(d):02d}" if d else "")
    m = re.fullmatch(r"(\d{4})", s)
    if m:
        return m.group(1)
    m = re.fullmatch(r"(?:(\d{1,2})\s+)?([A-Za-z]{3})[a-z]*\.?,?\s+(?:(\d{1,2}),?\s+)?(\d{4})", s)
    if m and m.group(2).lower() in _MONTHS:
        day = m.group(1) or m.group(3)
        out = f"{int(m.group(4)):04d}-{_MONTHS[m.group(2).lower()]:02d}"
        return out + (f"-{int(day):02d}" if day else "")
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", s)
    if m:
        try:
            return datetime(int(m.group(3)), int(m.group(1)), int(m.group(2))).strftime("%Y-%m-%d")
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class Normalized:
    """The result of normalizing one document: rows in source order and warnings for the fetch record."""

    rows: tuple[Row, ...]
    warnings: tuple[str, ...]


def normalize(raw_rows: Iterable[RawRow], spec: BoardSpec) -> Normalized:
    """Turn raw rows into Rows: typed values, canonical keys (after aliases), `where` filters, one row per key."""
    rows: list[Row] = []
    warnings: list[str] = []
    skipped = filtered = 0
    out_of_range: list[str] = []
    names = [f.name for f in spec.fields]
    numeric = [f.name for f in spec.fields if f.type == "number"]
    dates = [f.name for f in spec.fields if f.type == "date"]
    regexed = [f for f in spec.fields if f.regex is not None]
    key_fields = spec.key
    aliases = dict(spec.aliases)
    where = [(f, {v.casefold() for v in allowed}) for f, allowed in spec.where]
    cut = 0
    dropped: dict[str, int] = {}
    for raw in raw_rows:
        fields: dict[str, str | None] = {}
        for n in names:
            v = raw.get(n)
            if v is not None and len(v) > MAX_CELL:
                v, cut = v[:MAX_CELL], cut + 1
            fields[n] = None if v is None else clean_text(v)
        for f in regexed:
            v = fields[f.name]
            if v is not None and f.regex is not None:
                m = f.regex.search(v)
                fields[f.name] = (m.group(1) if m.groups() else m.group(0)) if m else None
        if where and not all((fields.get(f) or "").casefold() in allowed for f, allowed in where):
            filtered += 1
            continue
        if "model" in fields:
            fields["model"] = clean_name(fields["model"])
            if aliases and fields["model"]:
                fields["model"] = aliases.get(name_key(fields["model"]), fields["model"])
        for k in key_fields:
            if k != "model" and fields.get(k) is not None:
                fields[k] = clean_name(fields[k])
        key = tuple(canonical(fields.get(k) or "") for k in key_fields)
        if not all(key):
            skipped += 1
            continue
        model = fields.get("model") or " / ".join(fields.get(k) or "" for k in key_fields)
        if spec.exclude and any(p.search(model) for p in spec.exclude):
            continue
        values: dict[str, float | None] = {}
        for n in numeric:
            value = _number(fields[n])
            if value is not None and not math.isfinite(value):
                dropped[n], value = dropped.get(n, 0) + 1, None
            values[n] = value
        for n in dates:
            fields[n] = parse_date(fields[n])
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
