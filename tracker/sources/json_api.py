"""JSON documents: a JMESPath (`rows`) selects the rows (a list, or an object keyed by name), one JMESPath per field."""

from __future__ import annotations

import json
import sys
from typing import Any

import jmespath
import jmespath.exceptions

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import Parsed, RawRow, Source, decode, one_line, required_fields


def as_text(value: Any) -> str | None:
    """A JSON value as cell text: None stays None, numbers keep their digits, lists/objects become JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (RecursionError, ValueError):  # nested deeper than the stack allows: no usable value
        return None


def load_json(page: Page, spec: BoardSpec) -> tuple[Any, str]:
    """A document's JSON value and the encoding it was read with, or a ParseError naming the board and position."""
    text, encoding = decode(page, spec)
    try:
        return json.loads(text), encoding
    except json.JSONDecodeError as exc:
        raise ParseError(f"{spec.id}: {page.url} is not valid JSON: {exc}") from exc
    except RecursionError:
        raise ParseError(f"{spec.id}: {page.url} is nested too deeply to read (about {sys.getrecursionlimit()} "
                         f"levels of [ and {{); it is not a leaderboard") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ParseError(f"{spec.id}: {page.url} is not usable JSON: {one_line(str(exc).split(':')[0])}") from None


def search(expr: Any, value: Any, spec: BoardSpec, page: Page, where: str) -> Any:
    """Evaluate a compiled JMESPath, turning its errors (wrong types in the data) into a ParseError."""
    try:
        return expr.search(value)
    except jmespath.exceptions.JMESPathError as exc:
        raise ParseError(f"{spec.id}: the JMESPath {where} {expr.expression!r} failed on {page.url}: "
                         f"{one_line(str(exc), 120)}; fix {where}") from exc


KEY_SOURCE = "$key"  # a field source: the member's name, when `rows` selects an object keyed by name


def document_rows(doc: Any, page: Page, spec: BoardSpec, encoding: str | None) -> Parsed:
    """The json/yaml rules on a loaded document: `rows` selects a list of row objects, or an object whose
    members are the rows (each member's name is the field source "$key"); each field is JMESPath candidates."""
    items = search(jmespath.compile(spec.rows), doc, spec, page, "'rows'") if spec.rows else doc
    if isinstance(items, dict):
        members: list[tuple[str | None, Any]] = [(str(k), v) for k, v in items.items()]
    elif isinstance(items, list):
        members = [(None, item) for item in items]
    else:
        got = type(items).__name__ if items is not None else "nothing"
        raise ParseError(f"{spec.id}: 'rows' ({spec.rows or '@'}) selected {got}, not a list of rows, in "
                         f"{page.url}; fix the board's 'rows' JMESPath")
    compiled = [(f.name, [None if s == KEY_SOURCE else jmespath.compile(s) for s in f.sources]) for f in spec.fields]
    rows: list[RawRow] = []
    seen: set[str] = set()
    for key, item in members:
        row: RawRow = {}
        for name, exprs in compiled:
            value = None
            for expr in exprs:
                if expr is None:
                    value = key
                elif key is None or isinstance(item, dict):  # a keyed member that is no object has only $key
                    value = search(expr, item, spec, page, f"[board.fields] {name}")
                if value is not None:
                    break
            row[name] = as_text(value)
            if value is not None:
                seen.add(name)
        rows.append(row)
    warnings: list[str] = []
    if rows:
        missing = ", ".join(sorted(required_fields(spec) - seen))
        if missing and isinstance(items, dict):
            raise ParseError(f"{spec.id}: 'rows' ({spec.rows or '@'}) selected an object, not a list of rows, in "
                             f"{page.url}; read as rows keyed by name, no member has a value for {missing}; name "
                             f'the entries with model = "{KEY_SOURCE}", or fix \'rows\' or [board.fields]')
        if missing:
            raise ParseError(f"{spec.id}: no row of {page.url} has a value for {missing}; "
                             f"check the JMESPath in [board.fields]")
        warnings = [f"no row has a value for optional field {f.name!r}" for f in spec.fields if f.name not in seen]
    return Parsed(rows, warnings, encoding)


class JsonSource(Source):
    """A JSON API or file: `rows` is a JMESPath to a list of rows or to an object keyed by name ("$key")."""

    kind = "json"

    def parse(self, page: Page, spec: BoardSpec) -> Parsed:
        """Select the row objects and evaluate each field's JMESPath candidates (first non-null wins)."""
        doc, encoding = load_json(page, spec)
        return document_rows(doc, page, spec, encoding)
