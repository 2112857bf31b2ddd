"""JSON documents: a JMESPath (`rows`) selects the rows (a list, or an object keyed by name), one JMESPath per field."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import jmespath
import jmespath.exceptions

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import Parsed, RawRow, Source, decode, one_line, required_fields


def as_text(value: Any, written: bool = True) -> str | None:
    """A JSON value as cell text: None stays None, numbers keep their digits, lists/objects become JSON. A YAML
    number gives the text written ("3.10") unless `written` is False (a number field: its value, "3.1")."""
    if value is None:
        return None
    text = getattr(value, "text", None)
    if written and isinstance(text, str):
        return text
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
    except TypeError as exc:  # an ordering comparison of text with a number (YAML numbers are text)
        raise ParseError(f"{spec.id}: the JMESPath {where} {expr.expression!r} failed on {page.url}: "
                         f"{one_line(str(exc), 120)}; fix {where}, e.g. compare numbers written as text with "
                         f"to_number(score) > `50`") from exc


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
    strict = {f.name: f.name in spec.key or f.type == "number" for f in spec.fields}
    numeric = {f.name: f.type == "number" for f in spec.fields}
    rows: list[RawRow] = []
    seen: set[str] = set()
    nested: dict[str, tuple[int, str, Any]] = {}  # number field -> (rows, JMESPath, first value) of objects/lists
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
            if isinstance(value, list) and len(value) == 1 and not isinstance(value[0], dict | list):
                value = value[0]  # a filter's one match (`results[?task=='mmlu'].acc`), or a literal [85.2]
            if isinstance(value, dict | list) and strict[name]:
                source = expr.expression if expr is not None else KEY_SOURCE
                if name in spec.key:
                    raise ParseError(_key_not_text(spec, page, name, source, value, len(rows) + 1))
                count, source, value = nested.get(name, (0, source, value))
                nested[name] = (count + 1, source, value)
                seen.add(name)  # the field is there, as something else than a number: warned below
                row[name] = None
                continue
            row[name] = as_text(value, written=not numeric[name])
            if value is not None:
                seen.add(name)
        rows.append(row)
    warnings = [_not_a_number(name, *found) for name, found in nested.items()]
    if rows:
        missing = ", ".join(sorted(required_fields(spec) - seen))
        if missing and isinstance(items, dict):
            raise ParseError(f"{spec.id}: 'rows' ({spec.rows or '@'}) selected an object, not a list of rows, in "
                             f"{page.url}; read as rows keyed by name, no member has a value for {missing}; name "
                             f'the entries with model = "{KEY_SOURCE}", or fix \'rows\' or [board.fields]')
        if missing:
            raise ParseError(f"{spec.id}: no row of {page.url} has a value for {missing}; "
                             f"check the JMESPath in [board.fields]")
        warnings += [f"no row has a value for optional field {f.name!r}" for f in spec.fields if f.name not in seen]
    return Parsed(rows, warnings, encoding)


def _example(source: str, value: Any, want: type | tuple[type, ...]) -> str:
    """`source` extended to a member of `value` (an object or list) that holds a `want`, for a message's fix."""
    pairs = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
    at = next((k for k, v in pairs if isinstance(v, want) and not isinstance(v, bool)), pairs[0][0] if pairs else None)
    if at is None:
        return f"{source}.mean" if isinstance(value, dict) else f"{source}[0]"
    if isinstance(at, int):
        return f"{source}[{at}]"
    step = at if _IDENTIFIER.fullmatch(at) else json.dumps(at, ensure_ascii=False)
    return f"{source}.{step}" if source != "@" else step


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _not_a_number(name: str, count: int, source: str, value: Any) -> str:
    """The warning for a number field whose JMESPath selected objects or lists."""
    what = "an object" if isinstance(value, dict) else "a list"
    return (f"{count} row(s) of field {name!r} hold {what}, not a number ({source!r} selects "
            f"{one_line(as_text(value) or what, 60)}), and count as no value; point its JMESPath in "
            f"[board.fields] at a number, e.g. {_example(source, value, (int, float))!r}")


def _key_not_text(spec: BoardSpec, page: Page, name: str, source: str, value: Any, row: int) -> str:
    """The error for a key field whose JMESPath selected an object or a list (no name to key an entry by)."""
    what = "an object" if isinstance(value, dict) else "a list"
    return (f"{spec.id}: key field {name!r} of row {row} of {page.url} is {what}, not a name ({source!r} selects "
            f"{one_line(as_text(value) or what, 60)}); point its JMESPath in [board.fields] at text, "
            f"e.g. {_example(source, value, str)!r}")


class JsonSource(Source):
    """A JSON API or file: `rows` is a JMESPath to a list of rows or to an object keyed by name ("$key")."""

    kind = "json"

    def parse(self, page: Page, spec: BoardSpec) -> Parsed:
        """Select the row objects and evaluate each field's JMESPath candidates (first non-null wins)."""
        doc, encoding = load_json(page, spec)
        return document_rows(doc, page, spec, encoding)
