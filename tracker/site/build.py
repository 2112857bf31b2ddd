"""`tracker site`: build the static site from the store, incrementally.

One query finds every board's newest snapshot and event (as of the site's time); a board whose pages were built
from exactly that state (and the same board configuration and build format) is left alone. The index, boards.json
and feed.xml are redrawn every time from the boards' summaries kept in the manifest, which is written last.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import BoardSpec, Settings
from ..store import Store
from ..store.latest import heads as board_heads
from ..timeutil import iso
from . import api, manifest
from .collect import KEY_EVENTS, SHOWN_EVENTS
from .feed import site_feed
from .index import index_page
from .parallel import build_boards

logger = logging.getLogger(__name__)
FEED_ENTRIES = 100  # leader changes and records in the site-wide feed.xml


@dataclass(frozen=True)
class SiteResult:
    """What a build did."""

    out: Path
    boards: int  # boards on the site
    built: int  # boards whose pages were (re)written
    unchanged: int  # boards left as they were
    removed: int = 0  # boards of an earlier build no longer on the site
    empty: tuple[str, ...] = field(default_factory=tuple)  # selected boards with no snapshot (yet, or by --as-of)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for the terminal."""
        text = (f"{self.out}: {self.boards} boards, {self.built} built, {self.unchanged} unchanged"
                f"{f', {self.removed} removed' if self.removed else ''} in {self.seconds:.1f} s")
        if self.empty:
            shown = ", ".join(self.empty[:5]) + (", ..." if len(self.empty) > 5 else "")
            text += f"; {len(self.empty)} without a snapshot ({shown})"
        return text


def build_site(store: Store, settings: Settings, out: Path, *, boards: Sequence[str] | None = None,
               base_url: str | None = None, as_of: datetime | None = None, workers: int | None = None) -> SiteResult:
    """Build (or bring up to date) the site in `out` for the given board ids (None: every configured board).

    `workers` processes build the changed boards when there are many (default: the CPUs, at most 4)."""
    t0 = time.perf_counter()
    if base_url and not base_url.endswith("/"):
        base_url += "/"
    chosen = set(boards) if boards is not None else None
    specs = [b for b in settings.boards if (chosen is None or b.id in chosen)
             and not (b.collection is not None and b.collection == b.id)]  # a collection's document has no rows
    old = manifest.load(out, {"base_url": base_url, "as_of": iso(as_of)})
    new = manifest.Manifest(old.options, valid=True)
    heads = board_heads(store, as_of, SHOWN_EVENTS)
    empty: list[str] = []
    kept: dict[str, dict[str, Any]] = {}
    todo: list[BoardSpec] = []
    built_from: dict[str, dict[str, Any]] = {}
    for spec in specs:
        snapshot_id, event_id = heads.get(spec.id, (None, None))
        if snapshot_id is None:
            empty.append(spec.id)
            continue
        built_from[spec.id] = {"snapshot": snapshot_id, "event": event_id, "spec": manifest.spec_hash(spec)}
        summary = old.fresh(spec.id, built_from[spec.id])
        if summary is None or not (out / "b" / spec.id / "index.html").exists():
            todo.append(spec)
        else:
            kept[spec.id] = summary
    fresh = build_boards(store, todo, out, base_url, as_of, workers)
    for spec in specs:
        summary = kept.get(spec.id) or fresh.get(spec.id)
        if summary is not None:
            new.boards[spec.id] = {**built_from[spec.id], "summary": summary}
        elif spec.id in fresh:
            empty.append(spec.id)
    built = sum(1 for v in fresh.values() if v is not None)
    unchanged = len(kept)
    gone = [b for b in old.boards if b not in new.boards]
    for board in gone:
        manifest.remove_board(out, board)
    summaries = [e["summary"] for e in new.boards.values()]
    now = iso(datetime.now(UTC)) or ""
    entries = [{k: v for k, v in s.items() if k not in ("page", "spark")} for s in summaries]
    manifest.write(out / "api" / "boards.json", api.dumps(api.boards_doc(entries, now, iso(as_of))))
    events = list(store.iter_events(boards=None if chosen is None else sorted(new.boards), types=KEY_EVENTS,
                                    until=as_of, limit=FEED_ENTRIES)) if new.boards else []
    events = [e for e in events if e.board in new.boards]
    manifest.write(out / "feed.xml", site_feed(events, {s.id: s for s in specs}, base_url))
    titles = {c.id: c.title for c in settings.collections}
    manifest.write(out / "index.html", index_page(summaries, iso(as_of), now, titles).encode())
    manifest.save(out, new)
    return SiteResult(out, len(new.boards), built, unchanged, len(gone), tuple(empty), time.perf_counter() - t0)
