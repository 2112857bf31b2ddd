"""A [[collection]] document -> the boards it holds, each with its raw rows (the parse stage of many boards at once).

    pwc        the evaluation-tables dump: one board per (task, dataset or subdataset), ranked by the dataset's
               first listed metric; the other metrics are tracked
    json/yaml  `boards` (JMESPath) selects the board objects, `name` names each, `rows`/fields as for a board
    members    a zip archive: each member matching the glob is one board in the collection's format
"""

from __future__ import annotations

import fnmatch
import io
import logging
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import jmespath

from ..config import BoardSpec, CollectionSpec, generate
from ..config.collection import board_id
from ..errors import ConfigError, ParseError
from ..models import Page
from .base import RawRow, Source, decode, one_line
from .containers import gunzip, unzip
from .csv_file import CsvSource
from .html_table import HtmlTable
from .json_api import as_text, document_rows, load_json, search
from .parquet import ParquetSource
from .streaming import stream_items, streamable
from .yaml_doc import load_yaml

logger = logging.getLogger(__name__)
MAX_BOARDS = 100_000  # boards one document may generate
MAX_MEMBERS = 10_000
PWC_FIELDS = ("model", "paper_title", "paper_url", "paper_date", "code", "extra_data")
_MEMBER_SOURCES: dict[str, type[Source]] = {"csv": CsvSource, "html": HtmlTable, "parquet": ParquetSource}


@dataclass
class Part:
    """One generated board: its spec, and its raw rows or the ParseError its part of the document gave."""

    spec: BoardSpec
    gen: dict[str, Any]  # what the document said about the board (stored, so read commands can rebuild the spec)
    rows: list[RawRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


def expand(page: Page, coll: CollectionSpec) -> tuple[list[Part], set[str]]:
    """Every board of the document that passes include/exclude, in document order with stable unique ids, and the
    ids of every board the document holds (selected or not).

    A problem with the whole document is a ParseError; a problem with one board's part becomes that Part's error.
    """
    probe = BoardSpec(coll.id, coll.title, coll.url, "json", "x", (), max_bytes=coll.max_bytes)
    taken: set[str] = set()
    if coll.members is not None:
        return list(_members(page, coll, probe, taken)), taken
    if coll.format == "pwc" and streamable(page.content):
        return list(_pwc(stream_items(page, probe), coll, taken)), taken
    if page.content.startswith(b"\x1f\x8b"):
        page = replace(page, content=gunzip(page.content, probe, page.url))
    if coll.format == "pwc":
        doc, encoding = load_json(page, probe)
        return list(_pwc(doc if isinstance(doc, list) else [doc], coll, taken)), taken
    if coll.format == "yaml":
        text, encoding = decode(page, probe)
        doc = load_yaml(text, probe, page.url)
    else:
        doc, encoding = load_json(page, probe)
    return list(_objects(doc, page, coll, probe, encoding, taken)), taken


def _make(coll: CollectionSpec, name: str, gen: dict[str, Any], taken: set[str]) -> Part | None:
    bid = board_id(coll, name, taken)
    if len(taken) > MAX_BOARDS:
        raise ParseError(f"{coll.id}: {coll.url} holds more than {MAX_BOARDS:,} boards; narrow it with 'include'")
    if not coll.wants(bid):
        return None
    gen = {"title": name, **gen}
    try:
        return Part(generate(coll, bid, gen), gen)
    except ConfigError as exc:  # this board cannot be tracked with the collection's keys; the others can
        logger.warning("%s: skipped: %s", bid, exc)
        return None


# ---- pwc: the evaluation-tables dump ------------------------------------------------------------------------

def _pwc_datasets(doc: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(task name, dataset node) for every dataset and subdataset with a `sota` object, in document order."""
    stack: list[tuple[str, Any]] = [("", doc)]
    while stack:
        task, node = stack.pop()
        if isinstance(node, list):
            stack.extend((task, item) for item in reversed(node))
        elif isinstance(node, Mapping):
            if isinstance(node.get("task"), str):
                task = node["task"]
            children: list[tuple[str, Any]] = [(task, node[k]) for k in ("datasets", "subdatasets", "subtasks")
                                               if k in node]
            stack.extend(reversed(children))
            if isinstance(node.get("dataset"), str) and isinstance(node.get("sota"), Mapping):
                yield task, node


def _metric_names(sota: Mapping[str, Any], items: list[Any]) -> list[str]:
    listed = sota.get("metrics")
    names = [m for m in listed if isinstance(m, str) and m.strip()] if isinstance(listed, list) else []
    if not names:  # no list: the metrics of the rows, in first-seen order
        for item in items:
            if isinstance(item, Mapping) and isinstance(item.get("metrics"), Mapping):
                names.extend(k for k in item["metrics"] if isinstance(k, str) and k not in names)
    return list(dict.fromkeys(names))


def _preferred(coll: CollectionSpec) -> list[str]:
    """The collection's `metric` (pwc): metric names that rank a dataset listing them, first match wins."""
    m = coll.template.get("metric")
    return [m] if isinstance(m, str) else [x for x in m if isinstance(x, str)] if isinstance(m, list) else []


def _field_names(metrics: list[str]) -> dict[str, str]:
    """A field name for each metric name: "Top 1 Accuracy" -> "top_1_accuracy", unique, not a PWC_FIELDS name."""
    out: dict[str, str] = {}
    used = set(PWC_FIELDS)
    for m in metrics:
        base = re.sub(r"[^a-z0-9]+", "_", m.lower()).strip("_") or "metric"
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}_{n}"
        used.add(name)
        out[m] = name
    return out


def _pwc(tasks: Iterable[Any], coll: CollectionSpec, taken: set[str]) -> Iterator[Part]:
    for task, ds in (pair for node in tasks for pair in _pwc_datasets(node)):
        items = ds["sota"].get("rows")
        items = items if isinstance(items, list) else []
        metrics = _metric_names(ds["sota"], items)
        if not metrics or not items:
            continue  # an empty table is no board (yet)
        preferred = next((m for p in _preferred(coll) for m in metrics if m.lower() == p.lower()), None)
        if preferred is not None:
            metrics = [preferred, *[m for m in metrics if m != preferred]]
        names = _field_names(metrics)
        fields: dict[str, Any] = {"model": "model_name", "paper_title": "paper_title", "paper_url": "paper_url",
                                  "paper_date": {"from": "paper_date", "type": "date"}, "code": "code_links",
                                  "extra_data": "uses_additional_data"}
        fields.update({names[m]: {"from": m, "type": "number"} for m in metrics})
        gen = {"dataset": ds["dataset"], "metric": names[metrics[0]], "higher_is_better": not coll.lower(metrics[0]),
               "fields": fields}
        if len(metrics) > 1:
            gen["metrics"] = [names[m] for m in metrics[1:]]
        if "duplicates" not in coll.template:
            gen["duplicates"] = "best"  # a model listed twice (two papers) keeps its best result
        title = f"{task} on {ds['dataset']}" if task else str(ds["dataset"])
        part = _make(coll, title, gen, taken)
        if part is not None:
            yield _pwc_rows(part, items, names)


def _pwc_rows(part: Part, items: list[Any], names: dict[str, str]) -> Part:
    skipped = 0
    for item in items:
        if not isinstance(item, Mapping):
            skipped += 1
            continue
        metrics = item.get("metrics")
        metrics = metrics if isinstance(metrics, Mapping) else {}
        links = item.get("code_links")
        code = next((c.get("url") for c in links if isinstance(c, Mapping) and isinstance(c.get("url"), str)),
                    None) if isinstance(links, list) else None
        extra = item.get("uses_additional_data")
        row: RawRow = {"model": as_text(item.get("model_name")), "paper_title": as_text(item.get("paper_title")),
                       "paper_url": as_text(item.get("paper_url")), "paper_date": as_text(item.get("paper_date")),
                       "code": code, "extra_data": ("yes" if extra else "no") if isinstance(extra, bool) else None}
        row.update({f: as_text(metrics.get(m)) for m, f in names.items()})
        part.rows.append(row)
    if skipped:
        part.warnings.append(f"{skipped} item(s) of 'sota.rows' are not objects and were skipped")
    return part


# ---- json / yaml: board objects ------------------------------------------------------------------------------

def _objects(doc: Any, page: Page, coll: CollectionSpec, probe: BoardSpec, encoding: str,
             taken: set[str]) -> Iterator[Part]:
    assert coll.boards is not None and coll.name is not None
    found = search(jmespath.compile(coll.boards), doc, probe, page, "'boards'")
    if isinstance(found, Mapping):
        objects: list[tuple[str | None, Any]] = [(str(k), v) for k, v in found.items()]
    elif isinstance(found, list):
        objects = [(None, v) for v in found]
    else:
        got = type(found).__name__ if found is not None else "nothing"
        raise ParseError(f"{coll.id}: 'boards' ({coll.boards}) selected {got}, not a list of board objects, in "
                         f"{page.url}; fix the collection's 'boards' JMESPath")
    name_expr = jmespath.compile(coll.name)
    for key, obj in objects:
        name = key if coll.name == "$key" else as_text(search(name_expr, obj, probe, page, "'name'"))
        if not name or not name.strip():
            continue  # a board object without a name cannot get a stable id
        part = _make(coll, one_line(name, 200), {}, taken)
        if part is None:
            continue
        try:
            parsed = document_rows(obj, page, part.spec, encoding)
            part.rows, part.warnings = parsed.rows, parsed.warnings
        except ParseError as exc:
            part.error = str(exc)
        yield part


# ---- members of a zip archive -----------------------------------------------------------------------------

def _members(page: Page, coll: CollectionSpec, probe: BoardSpec, taken: set[str]) -> Iterator[Part]:
    assert coll.members is not None
    try:
        with zipfile.ZipFile(io.BytesIO(page.content)) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ParseError(f"{coll.id}: {page.url} is not a readable zip archive ({one_line(str(exc), 100)}); "
                         f"'members' needs one") from None
    chosen = [n for n in names if fnmatch.fnmatchcase(n, coll.members)][:MAX_MEMBERS]
    if not chosen:
        raise ParseError(f"{coll.id}: no member of {page.url} matches 'members' ({coll.members}); members: "
                         f"{', '.join(names[:20]) or '(none)'}")
    source = _MEMBER_SOURCES.get(coll.format)
    for member in chosen:
        stem = member.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        part = _make(coll, stem, {}, taken)
        if part is None:
            continue
        spec = part.spec
        exact = replace(spec, member=re.sub(r"([*?\[])", r"[\1]", member))
        try:
            sub = replace(page, content=unzip(page.content, exact, page.url))
            if source is not None:
                parsed = source().parse(sub, spec)
            else:
                text, encoding = decode(sub, spec)
                doc = load_yaml(text, spec, sub.url) if coll.format == "yaml" else load_json(sub, spec)[0]
                parsed = document_rows(doc, sub, spec, encoding)
            part.rows, part.warnings = parsed.rows, parsed.warnings
        except ParseError as exc:
            part.error = str(exc)
        yield part
