"""Candidate tables of a JSON/YAML document: lists of row objects anywhere in it, and objects keyed by model name."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ..errors import ParseError
from ..sources.base import one_line
from ..sources.json_api import KEY_SOURCE, as_text
from .tables import Candidate, Column

MAX_DEPTH = 8
MAX_ITEMS = 20  # items of a list that is not itself rows, descended into (e.g. leaderboards[].results)
MAX_CANDIDATES = 30
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LABEL_KEYS = ("name", "id", "title", "split", "key", "dataset", "task")


def ident(key: str) -> str:
    """A JMESPath identifier for an object key: bare when it can be, else quoted ("pass@1")."""
    return key if _IDENT.match(key) else json.dumps(key, ensure_ascii=False)


def _child(path: str | None, key: str) -> str:
    return ident(key) if path is None else f"{path}.{ident(key)}"


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def json_document(url: str, text: str) -> Any:
    """The JSON value of a document, or a ParseError in one line."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ParseError(f"{url} is nested too deeply to be a leaderboard") from None
    except ValueError as exc:
        raise ParseError(f"{url} is not valid JSON: {one_line(str(exc))}") from None


def doc_tables(doc: Any, fmt: str) -> list[Candidate]:
    """The candidate tables of a loaded json/yaml document, for a board of format `fmt`."""
    found: list[Candidate] = []
    _walk(doc, None, 0, found, fmt)
    return found


def _walk(value: Any, path: str | None, depth: int, out: list[Candidate], fmt: str) -> None:
    if depth > MAX_DEPTH or len(out) >= MAX_CANDIDATES:
        return
    kind = fmt.upper()
    if isinstance(value, list):
        items = [v for v in value if isinstance(v, dict)]
        columns = _columns(items) if items and len(items) >= 0.8 * len(value) else ()
        if columns:
            where = f" at {path!r}" if path else ""
            out.append(Candidate(len(out) + 1, fmt, f"{kind} list of {len(items)} objects{where}", columns,
                                 len(items), rows_path=path))
        if any(_numeric(c) for c in columns):
            return  # these are rows: lists inside a row are its details, not more tables
        label = _label_key(items) if len(items) == len(value) else None
        for i, item in enumerate(value[:MAX_ITEMS]):
            if isinstance(item, dict | list):
                sub = (f"{path or ''}[?{ident(label)}=={_literal(item[label])}] | [0]" if label and
                       isinstance(item, dict) else f"{path or ''}[{i}]")
                _walk(item, sub, depth + 1, out, fmt)
    elif isinstance(value, dict):
        inner = [v for v in value.values() if isinstance(v, dict)]
        columns = _columns(inner) if len(value) >= 2 and len(inner) == len(value) else ()
        if columns:
            keys = Column("(key)", KEY_SOURCE, tuple(str(k) for k in value))
            where = f" at {path!r}" if path else ""
            out.append(Candidate(len(out) + 1, fmt, f"{kind} object of {len(inner)} objects keyed by name{where}",
                                 (keys, *columns), len(inner), rows_path=f"values({path or '@'})",
                                 key_rows=path or "@"))
            return
        for k, v in value.items():
            if isinstance(v, dict | list):
                _walk(v, _child(path, str(k)), depth + 1, out, fmt)


def _columns(items: Sequence[dict[str, Any]]) -> tuple[Column, ...]:
    """The scalar members of the row objects (and of their nested objects, one level down), first seen first."""
    paths: dict[tuple[str, ...], None] = {}
    for item in items:
        for k, v in item.items():
            if isinstance(v, dict):
                paths.update({(str(k), str(k2)): None for k2, v2 in v.items() if not isinstance(v2, dict | list)})
            elif not isinstance(v, list):
                paths[(str(k),)] = None
    return tuple(Column(".".join(p), ".".join(ident(x) for x in p), tuple(as_text(_get(item, p)) for item in items))
                 for p in paths)


def _get(item: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = item
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return None if isinstance(value, dict | list) else value


def _numeric(column: Column) -> bool:
    return any(c is not None and re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", c) for c in column.cells)


def _label_key(items: Sequence[dict[str, Any]]) -> str | None:
    """A member whose string values tell the items apart ("name": "Verified"), to select one by a filter."""
    for key in _LABEL_KEYS:
        values = [i.get(key) for i in items]
        if items and all(isinstance(v, str) for v in values) and len(set(values)) == len(values):
            return key
    return None
