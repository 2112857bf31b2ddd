"""Papers-With-Code task JSON (the evaluation-tables dump): tasks -> datasets -> sota.rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import Parsed, RawRow, Source, header_key, required_fields, shown
from .json_api import as_text, load_json

_CHILDREN = ("subtasks", "subdatasets", "datasets", "tasks")  # reversed: a stack pops "tasks" first


def _name(node: Mapping[str, Any]) -> str | None:
    value = node.get("dataset")
    if isinstance(value, str):
        return value
    return as_text(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _datasets(doc: Any, *, any_sota: bool = False) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(name, node) of every dataset in a task list, nested subtasks and subdatasets included, in document order.

    Iterative, so a deeply nested document costs no recursion; a dataset needs a `sota` object unless `any_sota`.
    """
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, Mapping):
            name = _name(node)
            if name is not None and (any_sota or isinstance(node.get("sota"), Mapping)):
                yield name, node
            stack.extend(node[key] for key in _CHILDREN if key in node)


class PwcSource(Source):
    """A Papers With Code task JSON; `dataset` picks the table, fields name row keys or metric names."""

    kind = "pwc"

    def parse(self, page: Page, spec: BoardSpec) -> Parsed:
        """Find the dataset (also in subdatasets) and map each sota row's keys and metrics to fields."""
        doc, encoding = load_json(page, spec)
        want = header_key(spec.dataset or "")
        found = next((d for name, d in _datasets(doc) if header_key(name) == want), None)
        if found is None:
            for name, d in _datasets(doc, any_sota=True):
                if header_key(name) == want:
                    raise ParseError(f"{spec.id}: dataset {spec.dataset!r} in {page.url} has a 'sota' that is "
                                     f"{_kind(d.get('sota'))}, not an object with rows; the file's format changed")
            names = sorted({name for name, _ in _datasets(doc)})
            raise ParseError(f"{spec.id}: dataset {spec.dataset!r} not found in {page.url} "
                             f"(datasets: {shown(names) or 'none'}); fix the board's 'dataset'")
        items = found["sota"].get("rows") or []
        if not isinstance(items, list):
            raise ParseError(f"{spec.id}: 'sota.rows' of dataset {spec.dataset!r} in {page.url} is "
                             f"{_kind(items)}, not a list of rows; the file's format changed")
        rows: list[RawRow] = []
        seen: set[str] = set()
        skipped = bad_metrics = 0
        for item in items:
            if not isinstance(item, Mapping):
                skipped += 1
                continue
            raw_metrics = item.get("metrics") or {}
            if not isinstance(raw_metrics, Mapping):
                bad_metrics += 1
                raw_metrics = {}
            metrics = {header_key(k): v for k, v in raw_metrics.items()}
            plain = {header_key(k): v for k, v in item.items() if k != "metrics"}
            row: RawRow = {}
            for f in spec.fields:
                value = None
                for cand in f.sources:
                    k = header_key(cand)
                    value = metrics.get(k, plain.get(k))
                    if value is not None:
                        seen.add(f.name)
                        break
                row[f.name] = as_text(value)
            rows.append(row)
        missing = sorted(required_fields(spec) - seen) if rows else []
        if missing:
            why = f" ({bad_metrics} row(s) have 'metrics' that is not an object)" if bad_metrics else ""
            raise ParseError(f"{spec.id}: no row of dataset {spec.dataset!r} in {page.url} has a value for "
                             f"{', '.join(missing)}{why}; check the names in [board.fields]")
        warnings = [f"{skipped} item(s) of 'sota.rows' are not objects and were skipped"] if skipped else []
        if bad_metrics:
            warnings.append(f"{bad_metrics} row(s) have 'metrics' that is not an object; their metrics were ignored")
        return Parsed(rows, warnings, encoding)


def _kind(value: Any) -> str:
    return "missing" if value is None else f"a {type(value).__name__}"
