"""`tracker import`: saved documents of a board, each observed at a given time, its name's date or its mtime."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from .config import BoardSpec
from .errors import TrackerError
from .fetch import read_file_url
from .models import Page
from .pipeline import Context, RunResult, ingest
from .store import sha256
from .timeutil import name_time, short


def observed_times(paths: Sequence[Path], observed_at: datetime | None, by_name: bool, now: datetime) -> list[datetime]:
    """When each saved document was seen: `observed_at`, the date its name starts with (`by_name`), or its
    modification time; a TrackerError for a name without a date or a time in the future."""
    times: list[datetime] = []
    for path in paths:
        when = name_time(path.name, now) if by_name else observed_at
        if by_name and when is None:
            raise TrackerError(f"{path}: its name does not start with a date (like 2021-06-30_x.csv or "
                               f"2024-07-13T06-00Z.json); rename it, or pass --observed-at WHEN")
        when = when or datetime.fromtimestamp(path.stat().st_mtime, UTC)
        if when > now:
            raise TrackerError(f"{path}: observed at {short(when)}, which is in the future (now {short(now)}); "
                               f"check the date")
        times.append(when)
    return times


def import_files(spec: BoardSpec, files: Sequence[str | os.PathLike[str]], ctx: Context, *,
                 observed_at: datetime | None = None, by_name: bool = False, force: bool = False,
                 alert: bool = False, allow_older: bool = False, now: datetime | None = None) -> list[RunResult]:
    """Ingest saved documents in the order given, each observed at `observed_at`, the date its name starts with
    (`by_name`), or its modification time.

    Nothing is imported when a file is observed in the future, has no date in its name (`by_name`), or (unless
    `allow_older`) is observed before the board's latest snapshot, since snapshots are compared in storage order;
    a file already imported at that time is then reported unchanged. Events are recorded but not alerted unless
    `alert` is true (backfills of history stay quiet).
    """

    def ref(path: Path, when: datetime, content: bytes | None = None) -> str:
        data = content if content is not None else read_file_url(str(path), 1 << 40).content
        return f"import:{sha256(data)}@{when.astimezone(UTC).isoformat()}"  # content and time: seen before?

    now = now or datetime.now(UTC)
    paths = [Path(f) for f in files]
    times = observed_times(paths, observed_at, by_name, now)
    latest = ctx.store.latest(spec.id, with_rows=False)
    floor = latest.observed_at if latest is not None else None
    done = ctx.store.refs(spec.id, "import:") if latest is not None and not allow_older else set()
    skip: set[int] = set()
    for i, (path, when) in enumerate(zip(paths, times, strict=True)):
        if floor is not None and when < floor and not allow_older:
            if ref(path, when) in done:
                skip.add(i)  # imported before, at this very time: nothing to do
                continue
            what = (f"{spec.id}'s latest snapshot #{latest.id} ({short(latest.observed_at)})"
                    if latest is not None and when < latest.observed_at else f"a file given before it ({short(floor)})")
            raise TrackerError(f"{path}: observed {short(when)}, before {what}; snapshots are compared in the order "
                               f"they are stored, so import older versions first or into a fresh store, or pass "
                               f"--allow-older")
        floor = when if floor is None else max(floor, when)
    results = []
    for i, (path, when) in enumerate(zip(paths, times, strict=True)):
        if i in skip:
            results.append(RunResult(spec.id, "unchanged"))
            continue
        page = read_file_url(str(path), 1 << 40)
        results.append(ingest(spec, Page(url=str(path), content=page.content, fetched_at=when), ctx,
                              origin="import", observed_at=when, force=force, notify=alert,
                              ref=ref(path, when, page.content)))
    return results

