"""The boards of [[collection]]s as BoardSpecs: the document's own board, and every board the store has seen it
generate (rebuilt from what the document said, so read commands need no fetch)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace

from ..config import BoardSpec, CollectionSpec, Settings, generate
from ..config.collection import sample
from ..errors import ConfigError
from ..store import Store
from ..store.generated import registered

logger = logging.getLogger(__name__)
DOCUMENT = '{"document":true}'  # the spec stored for a collection's own board


def document_spec(coll: CollectionSpec) -> BoardSpec:
    """The collection's own board: its fetch log and health (source_failed, source_recovered) hold the
    document's; it has no rows. Its id is the collection id."""
    spec = generate(coll, coll.id, sample(coll))
    return replace(spec, title=coll.title, parse_hash=parse_hash(coll))


def parse_hash(coll: CollectionSpec) -> str:
    """A hash of everything that decides how the document is read: a change re-reads an unchanged document."""
    keys = {"format": coll.format, "template": coll.template, "include": coll.include, "exclude": coll.exclude,
            "lower_is_better": coll.lower_is_better, "boards": coll.boards, "name": coll.name,
            "members": coll.members}
    return hashlib.sha256(json.dumps(keys, sort_keys=True, default=str).encode()).hexdigest()[:16]


def is_document(spec: BoardSpec) -> bool:
    """Whether a spec is a collection's own board (the document), not a board with rows."""
    return spec.collection is not None and spec.collection == spec.id


def generated_specs(coll: CollectionSpec, store: Store, only: set[str] | None = None) -> list[BoardSpec]:
    """The collection's generated boards the store knows, that its include/exclude still select (of `only`)."""
    out = []
    for g in registered(store, coll.id):
        if g.id == coll.id or not coll.wants(g.id) or (only is not None and g.id not in only):
            continue
        try:
            out.append(generate(coll, g.id, json.loads(g.spec)))
        except (ConfigError, ValueError, TypeError) as exc:
            logger.warning("%s: cannot rebuild this board of collection %s with today's configuration (%s); it "
                           "is left out until the next run", g.id, coll.id, exc)
    return out


def with_generated(settings: Settings, store: Store) -> Settings:
    """Settings whose boards include each collection's document board and generated boards (after the [[board]]s)."""
    if not settings.collections:
        return settings
    boards = list(settings.boards)
    for coll in settings.collections:
        boards.append(document_spec(coll))
        boards.extend(generated_specs(coll, store))
    return replace(settings, boards=tuple(boards))
