"""Writing the boards that changed: one after another, or split over worker processes when there are many (each
worker opens its own connection to the store; the site's files of different boards never overlap)."""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from pathlib import Path
from typing import Any

from ..config import BoardSpec
from ..errors import TrackerError
from ..store import Store
from . import api, manifest
from .collect import BoardData, collect
from .feed import board_feed
from .pages import board_page

logger = logging.getLogger(__name__)
PARALLEL_FROM = 200  # fewer changed boards than this are built in this process (a worker costs ~1 s to start)
MAX_WORKERS = 4


def links(board: str, base_url: str | None) -> tuple[str, str]:
    """The board page's and API file's addresses for boards.json: absolute under --base-url, else relative."""
    page, doc = f"b/{board}/index.html", f"api/b/{board}.json"
    return (f"{base_url}b/{board}/", f"{base_url}{doc}") if base_url else (page, doc)


def write_board(out: Path, data: BoardData, base_url: str | None) -> dict[str, Any]:
    """Write a board's page, feed, downloads and API file; return its summary for the index and boards.json."""
    if "/" in data.spec.id or "\\" in data.spec.id or data.spec.id.startswith("."):
        raise TrackerError(f"board id {data.spec.id!r} cannot be a folder name; use letters, digits, '.', '_', '-'")
    folder = out / "b" / data.spec.id
    manifest.write(out / "api" / "b" / f"{data.spec.id}.json", api.dumps(api.board_doc(data)))
    manifest.write(folder / "rows.json", api.dumps(api.rows_doc(data)))
    manifest.write(folder / "rows.csv", api.rows_csv(data))
    manifest.write(folder / "history.json", api.dumps(api.history_doc(data)))
    manifest.write(folder / "feed.xml", board_feed(data.spec, data.key_events, base_url))
    manifest.write(folder / "index.html", board_page(data).encode())
    url, doc = links(data.spec.id, base_url)
    spark = [(r.when.timestamp(), r.value) for r in data.history.records]
    if spark:
        spark.append((max(data.snap.observed_at.timestamp(), spark[-1][0]), spark[-1][1]))
    return {**api.summary(data, url, doc), "page": f"b/{data.spec.id}/index.html", "spark": spark}


def build_one(store: Store, spec: BoardSpec, out: Path, base_url: str | None,
              as_of: datetime | None) -> dict[str, Any] | None:
    """Read one board and write its files; its summary, or None when it has no snapshot by `as_of`."""
    data = collect(store, spec, as_of)
    if data is None:
        return None
    summary = write_board(out, data, base_url)
    logger.debug("site: built %s from snapshot #%s", spec.id, data.snap.id)
    return summary


def _chunk(url: str, specs: Sequence[BoardSpec], out: Path, base_url: str | None,
           as_of: datetime | None) -> dict[str, dict[str, Any] | None]:
    """A worker process's share of the boards."""
    store = Store(url)
    try:
        return {s.id: build_one(store, s, out, base_url, as_of) for s in specs}
    finally:
        store.close()


def default_workers() -> int:
    """The CPUs this process may use, at most MAX_WORKERS."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cpus))


def build_boards(store: Store, specs: Sequence[BoardSpec], out: Path, base_url: str | None, as_of: datetime | None,
                 workers: int | None = None) -> dict[str, dict[str, Any] | None]:
    """Build the boards' files; board id -> summary (None: no snapshot by `as_of`)."""
    n = default_workers() if workers is None else workers
    if n <= 1 or len(specs) < PARALLEL_FROM or store.url in ("sqlite://", "sqlite:///:memory:"):
        return {s.id: build_one(store, s, out, base_url, as_of) for s in specs}
    chunks = [list(specs[i::n]) for i in range(n)]  # interleaved, so big and small boards spread evenly
    try:
        with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_chunk, store.url, chunk, out, base_url, as_of) for chunk in chunks if chunk]
            result: dict[str, dict[str, Any] | None] = {}
            for f in futures:
                result.update(f.result())
    except BrokenProcessPool as exc:
        raise TrackerError(f"a site worker process died ({exc}); run again, or with fewer boards") from exc
    return {s.id: result.get(s.id) for s in specs}
