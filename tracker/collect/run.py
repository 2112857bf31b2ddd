"""Run a [[collection]]: fetch its document once, split it into boards, and store each board like any other.

Unchanged bytes (or a 304) skip every board at once with one bulk write; a changed document is archived once, and
only boards whose rows changed go through the snapshot/diff path. A board that is no longer in the document gets
one source_failed ("no longer in the collection"), never removals.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .. import pipeline
from ..config import BoardSpec, CollectionSpec, Settings
from ..errors import Cancelled, FetchError, ParseError, TrackerError
from ..models import Change, ChangeKind, Fetch, Page
from ..normalize import normalize
from ..store import FetchInfo, sha256
from ..store.generated import Generated, head_hashes, last_fetches, record_fetches, register, registered
from .registry import DOCUMENT, document_spec, generated_specs

if TYPE_CHECKING:  # the splitting code (and jmespath, PyYAML, ijson) loads only when a document changed
    from ..sources.collection import Part

logger = logging.getLogger(__name__)
GONE = "no longer in the collection"


def run_specs(settings: Settings, ctx: pipeline.Context, specs: Sequence[BoardSpec], *,
              force: bool = False) -> list[pipeline.RunResult]:
    """Run boards: [[board]]s through pipeline.run_all, generated ones through their collection (fetched once)."""
    plain = [s for s in specs if s.collection is None]
    results = pipeline.run_all(settings, ctx, specs=plain, force=force) if plain else []
    wanted: dict[str, set[str] | None] = {}
    for s in specs:
        if s.collection is None:
            continue
        if s.id == s.collection:
            wanted[s.collection] = None
        elif wanted.get(s.collection, set()) is not None:
            wanted.setdefault(s.collection, set()).add(s.id)  # type: ignore[union-attr]
    for cid, only in wanted.items():
        coll = settings.collection(cid)
        if coll is not None:
            results.extend(run_collection(coll, ctx, only=only, force=force))
    return results


def jobs(specs: Sequence[BoardSpec]) -> list[BoardSpec]:
    """The units a scheduler runs: every [[board]], and each collection once (its document's board) instead of
    the boards it generated."""
    return [s for s in specs if s.collection is None or s.collection == s.id]


def run_job(settings: Settings, spec: BoardSpec, ctx: pipeline.Context, *,
            force: bool = False) -> list[pipeline.RunResult]:
    """Run one scheduler unit: a [[board]] through pipeline.run_source, a collection's board as the collection."""
    coll = settings.collection(spec.collection) if spec.collection is not None else None
    if coll is None:
        return [pipeline.run_source(spec, ctx, force=force)]
    return run_collection(coll, ctx, only=None if spec.id == coll.id else {spec.id}, force=force)


def run_collection(coll: CollectionSpec, ctx: pipeline.Context, *, only: set[str] | None = None,
                   force: bool = False) -> list[pipeline.RunResult]:
    """Run one collection (only the boards in `only` when given); never raises for a bad document or board."""
    doc = document_spec(coll)
    try:
        return _run(coll, doc, ctx, only, force)
    except TrackerError as exc:
        error = doc.mask(str(exc))
        logger.warning("%s: %s", coll.id, error)
        return [pipeline.RunResult(coll.id, "failed", error=error)]


def _run(coll: CollectionSpec, doc: BoardSpec, ctx: pipeline.Context, only: set[str] | None,
         force: bool) -> list[pipeline.RunResult]:
    assert ctx.fetcher is not None
    register(ctx.store, coll.id, [Generated(coll.id, coll.title, coll.url, DOCUMENT)])
    last = ctx.store.last_good_fetch(coll.id)
    fresh = last is not None and last.parse_hash == doc.parse_hash and not force
    started = datetime.now(UTC)
    try:
        page = pipeline.get_page(doc, ctx.fetcher, etag=last.etag if last and fresh else None,
                                 last_modified=last.last_modified if last and fresh else None)
    except Cancelled as exc:
        return [pipeline.RunResult(coll.id, "failed", error=doc.mask(f"{coll.id}: {exc}"))]
    except FetchError as exc:
        result = pipeline.record_failure(doc, ctx, doc.mask(f"{coll.id}: {exc}"), started)
        stale = pipeline.check_stale(doc, ctx.store, started)
        return [replace(result, events=(*result.events, stale)) if stale is not None else result]
    return process(coll, replace(page, url=doc.mask(page.url)), ctx, only=only, force=force, last=last)


def process(coll: CollectionSpec, page: Page, ctx: pipeline.Context, *, only: set[str] | None = None,
            force: bool = False, origin: str = "run", notify: bool = True, ref: str | None = None,
            last: Fetch | pipeline.Unread | None = pipeline.UNREAD) -> list[pipeline.RunResult]:
    """Store what one version of the collection's document says, observed at page.fetched_at.

    `last` is the document's last good fetch when the caller registered the collection and read it already."""
    doc, store = document_spec(coll), ctx.store
    if isinstance(last, pipeline.Unread):
        register(store, coll.id, [Generated(coll.id, coll.title, coll.url, DOCUMENT)])
        last = store.last_good_fetch(coll.id)
    fresh = last is not None and last.parse_hash == doc.parse_hash and not force
    streak = store.consecutive_failures(coll.id)
    recovered = Change(ChangeKind.SOURCE_RECOVERED, None, None, f"{coll.title}: source recovered after {streak} "
                       f"failed run{'s' if streak > 1 else ''}", value=float(streak)) if streak else None
    info = FetchInfo(started_at=page.fetched_at, status="unchanged", origin=origin, http_status=page.status,
                     bytes=len(page.content), duration=page.duration, etag=page.etag,
                     last_modified=page.last_modified, parse_hash=doc.parse_hash, ref=ref)
    raw_sha = None if page.not_modified else sha256(page.content)
    if page.not_modified or (fresh and last is not None and last.raw_sha == raw_sha):
        return _unchanged(coll, ctx, replace(info, status="not_modified" if page.not_modified else "unchanged",
                                             raw_sha=raw_sha or (last.raw_sha if last else None)), recovered, only)
    assert raw_sha is not None
    ctx.archive.put(page.content)
    info = replace(info, raw_sha=raw_sha)
    from ..sources.collection import expand

    try:
        parts, present = expand(page, coll)
    except ParseError as exc:
        return [pipeline.record_failure(doc, ctx, doc.mask(str(exc)), page.fetched_at, info=info, origin=origin,
                                        notify=notify)]
    register(store, coll.id, [Generated(p.spec.id, p.spec.title, coll.url, json.dumps(p.gen, sort_keys=True))
                              for p in parts])
    store.record_fetch(coll.id, replace(info, status="changed"), recovered)
    chosen = [p for p in parts if only is None or p.spec.id in only]
    results = _boards(chosen, page, info, ctx, force, notify)
    gone = _gone(coll, ctx, present, page.fetched_at, origin, notify) if only is None else []
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    unchanged = len(chosen) - sum(n for st, n in counts.items() if st != "unchanged")
    shown = [r for r in results if r.status != "unchanged"] + gone
    what = [f"{n} {st}" for st, n in sorted(counts.items()) if st != "unchanged"] + [f"{unchanged} unchanged"]
    what += [f"{len(gone)} no longer in it"] if gone else []
    detail = f"{len(chosen)} board(s): {', '.join(what)}"
    return [pipeline.RunResult(coll.id, "changed", detail=detail), *shown]


def _unchanged(coll: CollectionSpec, ctx: pipeline.Context, info: FetchInfo, recovered: Change | None,
               only: set[str] | None) -> list[pipeline.RunResult]:
    """The same document again: one fetch row per selected board, written at once, and nothing else."""
    _, back = ctx.store.record_fetch(coll.id, info, recovered)
    ids = [g.id for g in registered(ctx.store, coll.id)
           if g.id != coll.id and coll.wants(g.id) and (only is None or g.id in only)]
    lasts = last_fetches(ctx.store, ids, good=False)
    record_fetches(ctx.store, [(i, replace(info, parse_hash=lasts[i].parse_hash if i in lasts else None))
                               for i in ids if i in lasts and lasts[i].status != "failed"])
    events = (back,) if back is not None else ()
    if only is not None:  # boards named on the command line: a line for each
        return [pipeline.RunResult(i, "unchanged", events=events if n == 0 else ()) for n, i in enumerate(ids)]
    return [pipeline.RunResult(coll.id, "unchanged", events=events,
                               detail=f"unchanged ({len(ids)} board(s) not re-read)")]


def _boards(parts: list[Part], page: Page, info: FetchInfo, ctx: pipeline.Context, force: bool,
            notify: bool) -> list[pipeline.RunResult]:
    ids = [p.spec.id for p in parts]
    store = ctx.store
    lasts, goods, heads = last_fetches(store, ids, good=False), last_fetches(store, ids, good=True), \
        head_hashes(store, ids)
    quiet: list[tuple[str, FetchInfo]] = []
    results = []
    for part in parts:
        spec = part.spec
        prepared = _prepare(part, info.raw_sha or "")
        failed_before = spec.id in lasts and lasts[spec.id].status == "failed"
        good = goods.get(spec.id)
        if (prepared.error is None and not failed_before and not force and good is not None
                and good.parse_hash == spec.parse_hash
                and heads.get(spec.id) == pipeline.content_hash(prepared.rows)[0]):
            quiet.append((spec.id, replace(info, etag=None, last_modified=None, parse_hash=spec.parse_hash)))
            continue
        results.append(_one(spec, page, ctx, prepared, good, failed_before, force, info, notify))
    record_fetches(store, quiet)
    return results


def _prepare(part: Part, raw_sha: str) -> pipeline.Prepared:
    if part.error is not None:
        return pipeline.Prepared(raw_sha, error=part.error)
    try:
        norm = normalize(part.rows, part.spec)
    except ParseError as exc:
        return pipeline.Prepared(raw_sha, error=str(exc))
    except Exception as exc:  # a bug on one board's part costs that board only
        return pipeline.Prepared(raw_sha, error=f"{part.spec.id}: could not read this board's part of the "
                                 f"document ({type(exc).__name__}: {str(exc)[:200]})")
    return pipeline.Prepared(raw_sha, tuple(norm.rows), (*part.warnings, *norm.warnings))


def _one(spec: BoardSpec, page: Page, ctx: pipeline.Context, prepared: pipeline.Prepared, good: Fetch | None,
         failed_before: bool, force: bool, info: FetchInfo, notify: bool) -> pipeline.RunResult:
    streak = ctx.store.consecutive_failures(spec.id) if failed_before else 0
    recovered = Change(ChangeKind.SOURCE_RECOVERED, None, None, f"{spec.title}: source recovered after {streak} "
                       f"failed run{'s' if streak > 1 else ''}", value=float(streak)) if streak else None
    try:
        return pipeline.ingest(spec, page, ctx, recovered=recovered, force=force, last=good, prepared=prepared,
                               origin=info.origin, notify=notify, ref=info.ref)
    except TrackerError as exc:
        return pipeline.RunResult(spec.id, "failed", error=spec.mask(str(exc)))


def _gone(coll: CollectionSpec, ctx: pipeline.Context, present: set[str], when: datetime, origin: str,
          notify: bool) -> list[pipeline.RunResult]:
    """One source_failed for each selected board the document no longer holds (its snapshots stay as they are)."""
    missing = {g.id for g in registered(ctx.store, coll.id)} - present - {coll.id}
    gone = [s for s in generated_specs(coll, ctx.store, missing)] if missing else []
    lasts = last_fetches(ctx.store, [s.id for s in gone], good=False)
    out = []
    for spec in gone:
        last = lasts.get(spec.id)
        if last is not None and last.status == "failed" and GONE in (last.error or ""):
            continue
        out.append(pipeline.record_failure(spec, ctx, f"{spec.id}: {GONE} {coll.id} ({coll.url})", when,
                                           origin=origin, notify=notify))
    return out
