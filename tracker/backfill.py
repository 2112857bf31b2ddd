"""Backfill a board's past: Internet Archive captures (Wayback CDX API) or every version of a file in a git repo.

Backfilled snapshots are observed at the capture or commit time, their events are marked `backfilled` and never
alerted, and each capture or commit is recorded by reference, so running a backfill again imports nothing twice.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from .config import BoardSpec, Settings
from .errors import FetchError, TrackerError
from .models import Page
from .pipeline import Context, RunResult, ingest
from .store import FetchInfo

logger = logging.getLogger(__name__)
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Version:
    """One past version of a board's document: where it comes from and when it was seen."""

    ref: str
    observed_at: datetime
    label: str


@dataclass(frozen=True)
class BackfillResult:
    """What a backfill did."""

    found: int
    imported: int
    skipped: int
    failed: int
    too_old: int
    results: tuple[RunResult, ...] = ()

    def summary(self, board: str) -> str:
        """One line for the terminal."""
        line = (f"{board}: {self.found} versions found, {self.imported} imported, {self.skipped} already imported, "
                f"{self.failed} failed")
        if self.too_old:
            line += (f", {self.too_old} older than the board's latest snapshot left out (backfill before "
                     f"tracking, or into a fresh store)")
        return line


def _cdx_time(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())[:14]


def wayback_versions(settings: Settings, spec: BoardSpec, ctx: Context, *, since: datetime | None = None,
                     until: datetime | None = None, limit: int | None = None) -> list[Version]:
    """The archive's distinct 200 captures of the board's URL, oldest first (CDX API, collapsed by digest)."""
    if ctx.fetcher is None:
        raise TrackerError("a backfill from the archive needs a fetcher")
    query = {"url": spec.url, "output": "json", "filter": "statuscode:200", "collapse": "digest"}
    if since:
        query["from"] = since.strftime("%Y%m%d%H%M%S")
    if until:
        query["to"] = until.strftime("%Y%m%d%H%M%S")
    if limit:
        query["limit"] = str(limit)
    url = f"{settings.fetch.wayback_url}/cdx/search/cdx?{urlencode(query)}"
    page = ctx.fetcher.fetch(url)
    try:
        rows = json.loads(page.content or b"[]")
    except json.JSONDecodeError as exc:
        raise FetchError(f"{url}: the CDX API did not answer JSON: {exc}") from exc
    if not rows:
        return []
    header, *captures = rows
    try:
        ts, original = header.index("timestamp"), header.index("original")
    except ValueError:
        raise FetchError(f"{url}: unexpected CDX header {header}") from None
    out = []
    for row in captures:
        stamp = _cdx_time(row[ts])
        when = datetime.strptime(stamp.ljust(14, "0"), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        out.append(Version(f"wayback:{stamp}", when, f"{settings.fetch.wayback_url}/web/{stamp}id_/{row[original]}"))
    out.sort(key=lambda v: v.observed_at)
    return out[:limit] if limit else out


def git_versions(repo: Path, path: str) -> list[Version]:
    """Every commit that changed `path` in a local clone, following renames, oldest first."""
    try:
        out = subprocess.run(["git", "-C", str(repo), "log", "--follow", "--format=%x00%H %ct", "--name-only",
                              "--", path], check=True, capture_output=True, text=True).stdout
    except FileNotFoundError as exc:
        raise TrackerError("git is not installed; install git to backfill from a repository") from exc
    except subprocess.CalledProcessError as exc:
        raise TrackerError(f"git log in {repo} failed: {exc.stderr.strip()}; is it a git clone?") from exc
    versions = []
    for block in out.split("\x00")[1:]:
        lines = [x for x in block.strip().splitlines() if x.strip()]
        if len(lines) < 2:
            continue
        sha, ct = lines[0].split()
        versions.append(Version(f"git:{sha}", datetime.fromtimestamp(int(ct), UTC), f"{sha[:10]}:{lines[-1]}"))
    if not versions:
        raise TrackerError(f"no commit of {path!r} in {repo}; check --path (relative to the repository root)")
    return list(reversed(versions))


def _git_show(repo: Path, label: str, full_ref: str) -> bytes:
    sha = full_ref.removeprefix("git:")
    path = label.split(":", 1)[1]
    try:
        return subprocess.run(["git", "-C", str(repo), "show", f"{sha}:{path}"], check=True,
                              capture_output=True).stdout
    except subprocess.CalledProcessError as exc:
        raise FetchError(f"git show {sha[:10]}:{path}: {exc.stderr.decode(errors='replace').strip()}") from exc


def run(spec: BoardSpec, ctx: Context, versions: list[Version], *, repo: Path | None = None,
        progress: Progress | None = None) -> BackfillResult:
    """Import versions oldest first, skipping those already imported and those older than the board's history."""
    ctx.store.ensure_board(spec.id, spec.title, spec.url)
    done = ctx.store.refs(spec.id, versions[0].ref.split(":")[0] + ":") if versions else set()
    latest = ctx.store.latest(spec.id, with_rows=False)
    imported = skipped = failed = too_old = 0
    results = []
    for v in versions:
        if v.ref in done:
            skipped += 1
        elif latest is not None and v.observed_at <= latest.observed_at:
            too_old += 1
        else:
            try:
                content = _git_show(repo, v.label, v.ref) if repo is not None else _fetch(ctx, v.label)
            except FetchError as exc:
                logger.warning("%s: %s", spec.id, exc)
                ctx.store.record_fetch(spec.id, FetchInfo(v.observed_at, "failed", origin="backfill", error=str(exc),
                                                          ref=v.ref, parse_hash=spec.parse_hash))
                failed += 1
            else:
                r = ingest(spec, Page(v.label, content, v.observed_at), ctx, origin="backfill",
                           observed_at=v.observed_at, backfilled=True, notify=False, ref=v.ref)
                results.append(r)
                failed += r.failed
                imported += not r.failed
                if r.status in ("baseline", "changed"):
                    latest = ctx.store.latest(spec.id, with_rows=False)
        if progress is not None:
            progress(1)
    return BackfillResult(len(versions), imported, skipped, failed, too_old, tuple(results))


def _fetch(ctx: Context, url: str) -> bytes:
    assert ctx.fetcher is not None
    return ctx.fetcher.fetch(url).content
