"""JSON documents: a JMESPath (`rows`) selects the list of row objects, one JMESPath per field."""

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


class JsonSource(Source):
    """A JSON API or file: `rows` is a JMESPath to the list of rows; each field is a JMESPath into a row."""

    kind = "json"

    def parse(self, page: Page, spec: BoardSpec) -> Parsed:
        """Select the row objects and evaluate each field's JMESPath candidates (first non-null wins)."""
        doc, encoding = load_json(page, spec)
        items = search(jmespath.compile(spec.rows), doc, spec, page, "'rows'") if spec.rows else doc
        if not isinstance(items, list):
            got = type(items).__name__ if items is not None else "nothing"
            raise ParseError(f"{spec.id}: 'rows' ({spec.rows or '@'}) selected {got}, not a list of rows, in "
                             f"{page.url}; fix the board's 'rows' JMESPath")
        compiled = [(f.name, [jmespath.compile(s) for s in f.sources]) for f in spec.fields]
        rows: list[RawRow] = []
        seen: set[str] = set()
        for item in items:
            row: RawRow = {}
            for name, exprs in compiled:
                value = None
                for expr in exprs:
                    value = search(expr, item, spec, page, f"[board.fields] {name}")
                    if value is not None:
                        break
                row[name] = as_text(value)
                if value is not None:
                    seen.add(name)
            rows.append(row)
        warnings: list[str] = []
        if rows:
            missing = sorted(required_fields(spec) - seen)
            if missing:
                raise ParseError(f"{spec.id}: no row of {page.url} has a value for {', '.join(missing)}; "
                                 f"check the JMESPath in [board.fields]")
            warnings = [f"no row has a value for optional field {f.name!r}" for f in spec.fields if f.name not in seen]
        return Parsed(rows, warnings, encoding)
