"""The Source plugin base: a kind, a docstring, and parse(page, spec) -> raw rows keyed by field name."""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from charset_normalizer import from_bytes

from ..config import BoardSpec, FieldSpec
from ..errors import ParseError
from ..models import Page

RawRow = dict[str, str | None]
_WS = re.compile(r"\s+")
# decoders that are no document encoding: punycode is quadratic (1 MB: ~50 s), the others are escapes/labels
_NOT_DOCUMENT_CODECS = frozenset({"punycode", "idna", "unicode-escape", "raw-unicode-escape", "undefined"})


@dataclass
class Parsed:
    """What a source found in a document: raw rows in source order, plus warnings for the fetch record."""

    rows: list[RawRow]
    warnings: list[str] = field(default_factory=list)
    encoding: str | None = None  # the codec the document was decoded with, e.g. "utf-8", "cp1252"


class Source:
    """Base of the document formats; subclasses set `kind` and implement parse()."""

    kind = ""

    def parse(self, page: Page, spec: BoardSpec) -> Parsed:
        """Extract raw rows (field name -> cell text) from a fetched document."""
        raise NotImplementedError


def header_key(text: str) -> str:
    """Header comparison form: case- and white-space-insensitive, without invisible characters (soft hyphen,
    zero-width space), compatibility forms folded (NFKC: "R²" is "r2", as copying it from a browser gives)."""
    key = _HEADER_NOISE.sub("", text)
    return key.casefold() if key.isascii() else unicodedata.normalize("NFKC", key).casefold()


_HEADER_NOISE = re.compile(r"[\s\u00a0\u00ad\u200b\u2060\ufeff]+")


def one_line(text: str, limit: int = 160) -> str:
    """The first line of `text`, white space collapsed and cut to `limit` characters (for error messages)."""
    first = " ".join((text.strip().splitlines() or [""])[0].split())
    return first if len(first) <= limit else first[: limit - 1] + "…"


def shown(items: Iterable[str], limit: int = 20) -> str:
    """Up to `limit` items for a message, each on one short line, then "and N more"."""
    items = list(items)
    out = ", ".join(one_line(x, 60) for x in items[:limit])
    return out + (f" and {len(items) - limit} more" if len(items) > limit else "")


def decode(page: Page, spec: BoardSpec) -> tuple[str, str]:
    """The document as text and the codec used ("utf-8", "cp1252", ...); a leading BOM is dropped.

    The order, first that works: the board's `encoding`; a byte-order mark (UTF-8, or UTF-16, where an odd
    number of bytes is a ParseError), which wins over the server's charset as it does in browsers; the charset
    the server declared (skipped when it is unknown, no document encoding, or fails on these bytes); strict
    UTF-8; `page.hint_encoding` (the encoding of this board's last good document, so a latin-1 board keeps
    decoding the same way); the encoding the document declares in its first 1,024 bytes (`<?xml ...
    encoding=...?>` or `<meta charset>`, as a browser's prescan reads it); windows-1252 when the text reads as a
    Western language in it (browsers' default, see _western); charset-normalizer's detection. An empty or
    white-space-only document is a ParseError.
    """
    data = page.content
    found = _strict(data, spec.encoding)
    if found is None and data.startswith(codecs.BOM_UTF8):
        found = data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8"
    elif found is None and data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        found = _utf16(page, spec)
    found = found or _strict(data, page.encoding) or _strict(data, "utf-8") or _strict(data, page.hint_encoding) \
        or _declared(data) or _western(data) or _detect(page, spec)
    text = found[0].lstrip("\ufeff")
    if not text.strip():
        what = f"{len(data)} bytes of white space" if data else "no content"
        raise ParseError(f"{spec.id}: {page.url} is empty (HTTP {page.status}, {what}); the site may be down or "
                         f"throttling; will try again on the next run")
    return text, found[1]


def _strict(data: bytes, encoding: str | None) -> tuple[str, str] | None:
    """`data` decoded strictly with `encoding`, or None when it is unset, unknown, not for documents or fails."""
    if not encoding:
        return None
    try:
        name = codecs.lookup(encoding).name
        if name in _NOT_DOCUMENT_CODECS:
            return None
        return data.decode(name), name
    except (LookupError, ValueError):  # UnicodeDecodeError is a ValueError
        return None


def _declared(data: bytes) -> tuple[str, str] | None:
    """`data` decoded with the encoding its first 1,024 bytes declare, or None (none declared, or it fails).
    A declared ISO-8859-1 is read as windows-1252 first, as browsers do (the WHATWG encoding labels)."""
    match = _DECLARATION.search(data[:1024])
    if match is None:
        return None
    name = (match.group(1) or match.group(2)).decode("ascii")
    try:
        latin1 = codecs.lookup(name).name == "iso8859-1"
    except LookupError:
        return None
    return (_strict(data, "cp1252") if latin1 else None) or _strict(data, name)


_DECLARATION = re.compile(rb"""<\?xml\s[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']"""
                          rb"""|<meta\s[^>]*?\bcharset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)


def _western(data: bytes) -> tuple[str, str] | None:
    """`data` as windows-1252 when it decodes strictly and reads like a Western language: no run of three or more
    non-ASCII characters (Cyrillic, Greek or CJK bytes read as windows-1252 give such runs: "Ìîäåëü", "ÖÐÎÄ";
    "Naïve", "süß", "ação" do not), no Central European letter that windows-1252 misreads as a sign inside a word
    (Polish "języka" has "ą" -> "¹", "ł" -> "³", "ż" -> "¿"), and no `<html lang>` naming another language.
    charset-normalizer guesses poorly on short pages ("Naïve" as cp1250 "Naďve"); browsers in Western locales
    default to windows-1252 for undeclared pages."""
    if b"\x00" in data:  # no text document holds NUL bytes: UTF-16 without a byte-order mark, or binary
        return None
    lang = _LANG.search(data[:1024])
    if lang is not None and lang.group(1).lower().decode() not in _WESTERN_LANGS:
        return None
    found = _strict(data, "cp1252")
    if found is None or _FOREIGN_RUN.search(found[0]) or _MISREAD.search(found[0]):
        return None
    return found


_FOREIGN_RUN = re.compile(r"[^\x00-\x7f]{3,}")
_MISREAD = re.compile(r"(?<=\w)[¹³¿¥ª¼¾]|[¹³¿¥ª¼¾](?=\w)")  # cp1250's ą ł ż Ą Ş ľ Ľ read as cp1252 signs
_LANG = re.compile(rb"""<html[^>]*?\blang\s*=\s*["']?([A-Za-z]{2,3})""", re.IGNORECASE)
_WESTERN_LANGS = frozenset({"en", "fr", "de", "es", "it", "pt", "nl", "sv", "da", "no", "nb", "nn", "fi", "is",
                            "ga", "ca", "eu", "gl", "af", "sq", "id", "ms", "sw", "la", "lb", "fo", "oc", "br",
                            "gd", "cy", "et", "mt", "eo", "ia", "rm", "fy", "wa", "co"})


def _utf16(page: Page, spec: BoardSpec) -> tuple[str, str]:
    if len(page.content) % 2:
        raise ParseError(f"{spec.id}: {page.url} starts with a UTF-16 byte-order mark but has an odd number of "
                         f"bytes ({len(page.content)}): it is cut short or not UTF-16; will try again on the next "
                         f"run, or set 'encoding' on the board")
    try:
        return page.content.decode("utf-16"), "utf-16"
    except UnicodeDecodeError as exc:
        raise ParseError(f"{spec.id}: {page.url} starts with a UTF-16 byte-order mark but is not valid UTF-16 "
                         f"({exc.reason} at byte {exc.start}); set 'encoding' on the board") from None


def _detect(page: Page, spec: BoardSpec) -> tuple[str, str]:
    best = from_bytes(page.content).best()
    if best is None:
        raise ParseError(f"{spec.id}: cannot detect the text encoding of {page.url}; set 'encoding' on the "
                         f"board")
    try:
        name = codecs.lookup(best.encoding).name
    except LookupError:
        name = best.encoding
    return str(best), name


def required_fields(spec: BoardSpec) -> set[str]:
    """Fields a document must have: the key fields and the primary metric."""
    return {*spec.key, spec.metric}


def map_columns(headers: Sequence[Sequence[str]], spec: BoardSpec, where: str) -> tuple[dict[str, int], list[str]]:
    """Match each field's candidate names against column headers (each column: its header labels).

    Returns field -> column index and warnings for optional fields that matched nothing; raises ParseError
    naming the missing required fields and the headers that were there.
    """
    index: dict[str, list[int]] = {}
    loose: dict[str, list[int]] = {}  # the same without footnote marks ("Score[1]", "Top-1*"): tried second
    for col, labels in enumerate(headers):
        for label in labels:
            index.setdefault(header_key(label), []).append(col)
            loose.setdefault(_loose(label), []).append(col)
    mapping: dict[str, int] = {}
    warnings: list[str] = []
    for f in spec.fields:
        found = _first_match(f, index, header_key)
        found = found if found is not None else _first_match(f, loose, _loose)
        if found is not None:
            mapping[f.name] = found
        elif f.name in required_fields(spec):
            columns = shown((repr(" / ".join(dict.fromkeys(h))) for h in headers if any(h)), 30) or "(none)"
            raise ParseError(f"{spec.id}: {where} has no column for field {f.name!r} (looked for "
                             f"{', '.join(map(repr, f.sources))}; columns: {columns}); fix [board.fields]")
        else:
            warnings.append(f"no column for optional field {f.name!r} (looked for {', '.join(f.sources)})")
    return mapping, warnings


def _first_match(f: FieldSpec, index: dict[str, list[int]], key: Callable[[str], str]) -> int | None:
    for cand in f.sources:
        cols = index.get(key(cand))
        if cols:
            return cols[0]
    return None


def _loose(label: str) -> str:
    """A header's key without sorting arrows ("Model ▲▼", "Score ↕") or the footnote marks at its end
    ("Score[1]", "Top-1*", "Acc†", "MMLU¹"): tried when no header matches exactly; the exact key when nothing
    else would be left."""
    bare = _HEADER_MARKS.sub("", _ARROWS.sub("", label).rstrip())
    return header_key(bare) or header_key(label)


_ARROWS = re.compile(r"[\u2190-\u21ff\u25b2-\u25bf\u2b06\u2b07\u2b0d]+")
_HEADER_MARKS = re.compile(r"(?:\s*(?:\[[0-9a-zA-Z]{1,3}\]|[*†‡§¶]+|[⁰¹²³⁴⁵⁶⁷⁸⁹]+))+$")
