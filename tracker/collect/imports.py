"""`tracker import` for a [[collection]]: saved versions of its document, each observed at a given time."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from .. import pipeline
from ..config import CollectionSpec
from ..errors import TrackerError
from ..fetch import read_file_url
from ..importing import observed_times
from ..models import Page
from ..store import sha256
from ..timeutil import short
from .run import process


def import_files(coll: CollectionSpec, files: Sequence[str | os.PathLike[str]], ctx: pipeline.Context, *,
                 observed_at: datetime | None = None, by_name: bool = False, force: bool = False,
                 alert: bool = False, allow_older: bool = False,
                 now: datetime | None = None) -> list[pipeline.RunResult]:
    """Ingest saved versions of the collection's document in the order given (as `tracker import` does for a
    board): each observed at `observed_at`, the date its name starts with, or its modification time.

    Nothing is imported when a file is observed in the future or (unless `allow_older`) before the document's
    last recorded version, since every generated board compares versions in storage order.
    """
    now = now or datetime.now(UTC)
    paths = [Path(f) for f in files]
    times = observed_times(paths, observed_at, by_name, now)
    last = ctx.store.last_good_fetch(coll.id)
    floor = last.started_at if last is not None else None
    for path, when in zip(paths, times, strict=True):
        if floor is not None and when < floor and not allow_older:
            raise TrackerError(f"{path}: observed {short(when)}, before the last version of collection {coll.id} "
                               f"({short(floor)}); import older versions first or into a fresh store, or pass "
                               f"--allow-older")
        floor = max(floor, when) if floor is not None else when
    results: list[pipeline.RunResult] = []
    for path, when in zip(paths, times, strict=True):
        content = read_file_url(str(path), 1 << 40).content
        page = Page(url=str(path), content=content, fetched_at=when)
        results.extend(process(coll, page, ctx, force=force, origin="import", notify=alert,
                               ref=f"import:{sha256(content)}@{when.isoformat()}"))
    return results
