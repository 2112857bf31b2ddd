"""Cleaning one cell: white space, display names, canonical keys, numbers ('91.2%', '660M') and dates."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime

RawRow = Mapping[str, str | None]

MAX_CELL = 10_000  # characters of a cell that are kept; longer (pathological) cells are cut, with a warning
_SPACES = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u00a0\u2000-\u200a\u202f\u205f\u3000]+")  # + controls
# invisible characters that join what is around them (zero-width space, soft hyphen, word joiner, BOM): dropped
_INVISIBLE = re.compile(r"[\u00ad\u200b\u2060\ufeff]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
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
# a number: digits with separators; an exponent; a unit
_NUMBER = re.compile(
    r"(?P<sign>[-+−–]?)\s*(?P<num>\d[\d,.'\u2009\u202f]*\d|\d)"
    r"(?P<exp>[eE][-+−]?\d{1,3}(?!\d))?(?:\s*(?P<suffix>[kKmMbBgGtT%])(?![A-Za-z]))?")
_FULLWIDTH = {0xFF0E: ".", 0xFF0C: ",", 0xFF05: "%", 0xFF0D: "-"}  # "９１．５" (its digits are digits already)
# a no-break or thin space between digit groups ("1 234,5" as French and Excel write it); a plain space or a line
# break between digits separates two numbers ("742<br>123 votes" is 742)
_GROUPED = re.compile(r"(?<=\d)[\u00a0\u202f\u2009](?=\d{3}(?!\d))")
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
    text = _SPACES.sub(" ", _INVISIBLE.sub("", text)).strip()
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def _is_badge(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat == "So" or cat == "Cs" or ch in "\ufe0f\u200d" or 0x1F000 <= ord(ch) <= 0x1FAFF


def clean_name(text: str | None) -> str:
    """A display name: clean text without emoji badges and footnote markers (`*tfp`, `†`, `[1]`)."""
    s = text or ""
    if not s.isascii():  # each distinct non-ASCII character is looked up once (no ASCII character is a badge)
        badges = [ch for ch in set(_NON_ASCII.findall(s)) if _is_badge(ch)]
        if badges:
            s = s.translate(dict.fromkeys(map(ord, badges)))
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
    s = clean_text(_GROUPED.sub("", text) if not text.isascii() else text).replace("\u2212", "-")
    if not s.isascii():
        s = s.translate(_FULLWIDTH)
    m = _NUMBER.search(s)
    if m is None:
        return None
    num = m.group("num").replace("'", "").replace("\u2009", "").replace("\u202f", "")
    if "," in num and "." in num:
        dec = "." if num.rfind(".") > num.rfind(",") else ","
        num = num.replace("." if dec == "," else ",", "").replace(",", ".")
    elif "," in num:
        # "1,234" groups thousands; "0,875" (no group starts with 0) and "91,0" have a decimal comma
        num = num.replace(",", "") if re.fullmatch(r"[1-9]\d{0,2}(,\d{3})+", num) else num.replace(",", ".")
    elif num.count(".") > 1:
        num = num.replace(".", "")
    exp = m.group("exp")
    try:  # an exponent past the float range gives ±inf or 0.0, not an error
        value = float(num + ("e" + exp[1:].replace("−", "-") if exp else ""))
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
