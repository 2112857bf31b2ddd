"""Papers-With-Code task JSON (the evaluation-tables dump): tasks -> datasets -> sota.rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import Parsed, RawRow, Source, header_key
from .json_api import as_text, load_json


def _datasets(node: Any) -> Iterator[Mapping[str, Any]]:
    """Every dataset in a task list, nested subtasks and subdatasets included."""
    if isinstance(node, list):
        for item in node:
            yield from _datasets(item)
    elif isinstance(node, Mapping):
        if "dataset" in node and isinstance(node.get("sota"), Mapping):
            yield node
        for key in ("tasks", "datasets", "subdatasets", "subtasks"):
            if key in node:
                yield from _datasets(node[key])


class PwcSource(Source):
    """A Papers With Code task JSON; `dataset` picks the table, fields name row keys or metric names."""

    kind = "pwc"

    def parse(self, page: Page, spec: BoardSpec) -> Parsed:
        """Find the dataset (also in subdatasets) and map each sota row's keys and metrics to fields."""
        doc = load_json(page, spec)
        want = header_key(spec.dataset or "")
        found = [d for d in _datasets(doc) if header_key(str(d["dataset"])) == want]
        if not found:
            names = sorted({str(d["dataset"]) for d in _datasets(doc)})
            shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
            raise ParseError(f"{spec.id}: dataset {spec.dataset!r} not found in {page.url} "
                             f"(datasets: {shown or 'none'}); fix the board's 'dataset'")
        rows: list[RawRow] = []
        for item in found[0]["sota"].get("rows") or []:
            if not isinstance(item, Mapping):
                continue
            metrics = {header_key(k): v for k, v in (item.get("metrics") or {}).items()}
            plain = {header_key(k): v for k, v in item.items() if k != "metrics"}
            row: RawRow = {}
            for f in spec.fields:
                value = None
                for cand in f.sources:
                    k = header_key(cand)
                    value = metrics.get(k, plain.get(k))
                    if value is not None:
                        break
                row[f.name] = as_text(value)
            rows.append(row)
        return Parsed(rows, [])
