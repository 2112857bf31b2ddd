"""One [[collection]] table -> CollectionSpec, and a generated board -> BoardSpec (through the [[board]] rules)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .board import board, resolve_url, with_written_url
from .checks import check_keys, num, str_list, string
from .specs import (
    COLLECTION_BOARD_KEYS,
    COLLECTION_FORMATS,
    COLLECTION_OWN_KEYS,
    JMESPATH_FORMATS,
    SLUG,
    BoardSpec,
    CollectionSpec,
    ScheduleSettings,
)

MAX_ID = 100  # board ids are stored in a String(100)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
# keys of the collection table that each generated board takes as they are
_INHERITED = (*COLLECTION_BOARD_KEYS, "fields", "metric", "metrics", "key", "higher_is_better", "rows")


def slug(text: str) -> str:
    """A board-id slug of a name: lowercase ASCII letters and digits joined by '-' ("ImageNet (top-1)" ->
    "imagenet-top-1")."""
    return _NOT_SLUG.sub("-", text.lower()).strip("-")


def collection(raw: Any, index: int, base: Path, sched: ScheduleSettings,
               global_aliases: Mapping[str, str]) -> CollectionSpec:
    """Validate one [[collection]] table (after ${VAR} expansion) into a CollectionSpec.

    Its board keys are checked at load by generating a sample board, so a mistake shows before any fetch.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"collection #{index + 1}: must be a table")
    cid = raw.get("id")
    if not isinstance(cid, str) or not SLUG.match(cid) or len(cid) > 40:
        raise ConfigError(f"collection #{index + 1}: 'id' must be a slug of at most 40 characters (lowercase "
                          f"letters, digits, '.', '_', '-'); it prefixes every generated board id; got {cid!r}")
    w = f"collection {cid!r}"
    check_keys(raw, (*COLLECTION_OWN_KEYS, *COLLECTION_BOARD_KEYS), w)
    fmt = raw.get("format")
    if fmt not in COLLECTION_FORMATS:
        raise ConfigError(f"{w}: unknown format {fmt!r} (allowed: {', '.join(COLLECTION_FORMATS)})")
    boards_expr, name_expr, members = raw.get("boards"), raw.get("name"), raw.get("members")
    if fmt == "pwc":
        for key in ("fields", "metrics", "rows", "boards", "name", "members", "key"):
            if key in raw:
                raise ConfigError(f"{w}: format 'pwc' generates '{key}' itself (one board per task and dataset, "
                                  f"ranked by the dataset's first metric, or by 'metric' where it has one); remove "
                                  f"'{key}'")
        if "metric" in raw and not isinstance(raw["metric"], str | list):
            raise ConfigError(f"{w}: 'metric' (pwc) is a metric name or a list of them, as the document spells "
                              f"them (e.g. \"F1\"): a dataset listing one is ranked by it")
    elif fmt in JMESPATH_FORMATS and members is None:
        if not isinstance(boards_expr, str) or not isinstance(name_expr, str):
            raise ConfigError(f"{w}: format {fmt!r} needs 'boards' (a JMESPath to the list of board objects) and "
                              f"'name' (a JMESPath to each board's name), or 'members' for a zip of documents")
    elif members is None:
        raise ConfigError(f"{w}: format {fmt!r} needs 'members' (a glob such as \"*.csv\"): each zip member "
                          f"matching it is one board")
    if members is not None and (not isinstance(members, str) or not members):
        raise ConfigError(f"{w}: 'members' must be a glob such as \"*.csv\"")
    if members is not None and (boards_expr is not None or name_expr is not None):
        raise ConfigError(f"{w}: give 'members' (a zip of documents) or 'boards'/'name' (one document), not both")
    max_bytes = int(num(raw, "max_bytes", w, 0, low=1)) if "max_bytes" in raw else None
    spec = CollectionSpec(
        id=cid, title=string(raw, "title", w, cid), url=resolve_url(string(raw, "url", w), w, base), format=fmt,
        template={k: raw[k] for k in _INHERITED if k in raw},
        include=str_list(raw, "include", w, ()), exclude=str_list(raw, "exclude", w, ()),
        lower_is_better=str_list(raw, "lower_is_better", w, ()), max_bytes=max_bytes,
        boards=boards_expr, name=name_expr, members=members, base=base, schedule=sched,
        global_aliases=tuple(global_aliases.items()))
    generate(spec, f"{cid}-sample", sample(spec))
    return spec


def sample(coll: CollectionSpec) -> dict[str, Any]:
    """What the document could say about a board: enough to check the collection's board keys (and to give the
    collection's own board, which holds the document's fetch log, a spec)."""
    if coll.format != "pwc":
        return {"title": coll.title}
    return {"title": coll.title, "dataset": coll.title, "metric": "score", "fields": {
        "model": "model_name", "score": {"from": "score", "type": "number"},
        "paper_date": {"from": "paper_date", "type": "date"}, "extra_data": "uses_additional_data"}}


def with_written_collection_url(coll: CollectionSpec, written: Any, base: Path) -> CollectionSpec:
    """Keep the collection's url as written (${VAR} unexpanded); only the fetcher sees the expanded one."""
    probe = with_written_url(BoardSpec(coll.id, coll.title, coll.url, "json", "x", ()), written, base)
    return replace(coll, url=probe.url, fetch_url=probe.fetch_url, secrets=probe.secrets)


def generate(coll: CollectionSpec, board_id: str, gen: Mapping[str, Any]) -> BoardSpec:
    """The BoardSpec of one generated board: the collection's board keys, then what the document says (`gen`)."""
    raw: dict[str, Any] = {**coll.template, "format": coll.format, "url": coll.url, **gen, "id": board_id}
    raw.setdefault("title", board_id)
    try:
        spec = board(raw, 0, coll.base, coll.schedule, dict(coll.global_aliases))
    except ConfigError as exc:
        text = str(exc).replace(f"board {board_id!r}", f"collection {coll.id!r} (board {board_id!r})", 1)
        raise ConfigError(text) from None
    return replace(spec, collection=coll.id, url=coll.url, fetch_url=coll.fetch_url, secrets=coll.secrets,
                   max_bytes=coll.max_bytes)


def board_id(coll: CollectionSpec, name: str, taken: set[str]) -> str:
    """`<collection id>-<slug of the name>`, cut to fit, with -2, -3, ... when the slug is taken already."""
    stem = f"{coll.id}-{slug(name) or 'board'}"[:MAX_ID - 4].rstrip("-")
    out, n = stem, 1
    while out in taken:
        n += 1
        out = f"{stem}-{n}"
    taken.add(out)
    return out
