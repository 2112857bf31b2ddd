"""The only module that knows the stage order: fetch -> parse -> normalize -> store -> diff (-> notify)."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime

from . import guards
from .config import BoardSpec, Settings
from .context import Context as Context  # re-exported: pipeline.Context
from .errors import Cancelled, FetchError, ParseError, TrackerError
from .fetch import Fetcher, OncePerRun
from .judge import judge, record_of
from .models import Change, ChangeKind, Event, Fetch, Page, Row
from .normalize import normalize
from .results import UNREAD as UNREAD  # re-exported
from .results import Prepared as Prepared
from .results import RunResult as RunResult
from .results import Unread as Unread
from .sources import has_element
from .sources import parse_document as parse_source
from .store import Encoded, FetchInfo, NewSnapshot, Store, encode_rows, prune, sha256
from .store.batch import FetchBatch
from .store.codec import gc_paused
from .store.runstate import BoardState

logger = logging.getLogger(__name__)


def content_hash(rows: Sequence[Row]) -> tuple[str, Encoded]:
    """A hash of the normalized rows that ignores row order (a re-ordering is no data change), and the encoding."""
    encoded = encode_rows(rows)
    return hashlib.sha256(encoded.data).hexdigest(), encoded


def parse_rows(page: Page, spec: BoardSpec) -> tuple[tuple[Row, ...], list[str]]:
    """Parse and normalize a document into Rows and warnings (ParseError when it does not fit the board)."""
    rows, warnings, _ = parse_document(page, spec)
    return rows, warnings


def parse_document(page: Page, spec: BoardSpec) -> tuple[tuple[Row, ...], list[str], str | None]:
    """Rows, warnings and the encoding used; whatever the document holds, the only error is a ParseError."""
    try:
        parsed = parse_source(page, spec)
        norm = normalize(parsed.rows, spec)
    except ParseError:
        raise
    except Exception as exc:  # a parser bug must not stop the run: it is this board's failure
        raise ParseError(f"{spec.id}: could not parse {page.url} ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:200] if str(exc) else 'no detail'})") from exc
    return norm.rows, [*parsed.warnings, *norm.warnings], parsed.encoding


def ingest(spec: BoardSpec, page: Page, ctx: Context, *, origin: str = "run", observed_at: datetime | None = None,
           backfilled: bool = False, force: bool = False, notify: bool = True, ref: str | None = None,
           recovered: Change | None = None, last: Fetch | Unread | None = UNREAD,
           prepared: Prepared | None = None) -> RunResult:
    """Turn one fetched document into a stored snapshot and its events, or a recorded failure.

    `recovered` (a source_recovered event) is stored in the same transaction as whatever this fetch records,
    unless the document fails. `last` is the board's last good fetch when the caller has registered the board and
    read it already (run_source), so neither is done twice. `prepared` holds the board's rows when its document is
    shared by many boards (a collection): then nothing is parsed or archived here.

    The cyclic garbage collector waits until the import is done (store.codec.gc_paused): an import's rows,
    changes and events hold no cycles and most are gone by then, so the collector never walks them.
    """
    with gc_paused():
        return _ingest(spec, page, ctx, origin=origin, observed_at=observed_at, backfilled=backfilled, force=force,
                       notify=notify, ref=ref, recovered=recovered, last=last, prepared=prepared)


def _ingest(spec: BoardSpec, page: Page, ctx: Context, *, origin: str, observed_at: datetime | None,
            backfilled: bool, force: bool, notify: bool, ref: str | None, recovered: Change | None,
            last: Fetch | Unread | None, prepared: Prepared | None) -> RunResult:
    store = ctx.store
    if isinstance(last, Unread):  # called alone (import, backfill, add): register the board, read its last fetch
        store.ensure_board(spec.id, spec.title, spec.url)
        last = store.last_good_fetch(spec.id)
    when = observed_at or page.fetched_at
    info = FetchInfo(started_at=when, status="unchanged", origin=origin, http_status=page.status,
                     bytes=len(page.content), duration=page.duration, etag=page.etag,
                     last_modified=page.last_modified, parse_hash=spec.parse_hash, ref=ref)
    if page.not_modified:
        return RunResult(spec.id, "unchanged", events=_unchanged(spec, ctx, _replace(info, status="not_modified"),
                                                                  recovered))
    raw_sha = prepared.raw_sha if prepared is not None else sha256(page.content)
    info = _replace(info, raw_sha=raw_sha)
    if last is not None and last.raw_sha == raw_sha and last.parse_hash == spec.parse_hash and not force:
        return RunResult(spec.id, "unchanged", events=_unchanged(spec, ctx, _replace(info, encoding=last.encoding),
                                                                  recovered))
    page = replace(page, hint_encoding=last.encoding if last is not None else None)
    try:
        rows, warnings, encoding = parse_document(page, spec) if prepared is None else prepared.result()
        head = store.latest(spec.id)  # read after the parse, whose peak memory need not hold the previous rows too
        guards.check(spec, rows, head, force)
    except ParseError as exc:
        if prepared is None:
            ctx.archive.put(page.content)
        error = spec.mask(str(exc))
        result = _failed(spec, ctx, _replace(info, status="failed", error=error), error, when, backfilled, notify)
        if prepared is None:  # a shared document is trimmed by its collection
            prune.trim_failed(store, ctx.archive, spec.id, ctx.keep_failed)
        return result
    info = _replace(info, warnings=tuple(spec.mask(w) for w in warnings), encoding=encoding)
    for w in info.warnings:
        logger.warning("%s: %s", spec.id, w)
    digest, encoded = content_hash(rows)
    if head is not None and head.content_hash == digest:
        return RunResult(spec.id, "unchanged", head.id, len(rows),
                         _unchanged(spec, ctx, _replace(info, status="unchanged"), recovered),
                         warnings=tuple(info.warnings))
    verdict = judge(spec, head.rows if head else None, head.leader_key if head else None, rows,
                    record_of(store, spec) if head else None)
    status = "baseline" if head is None else "changed"
    head = None  # the previous version's rows need not live through the save (a big board's peak memory)
    new_leader, changes = verdict.leader, list(verdict.changes)
    if prepared is None:
        ctx.archive.put(page.content)
    snap, events = store.save(
        NewSnapshot(spec.id, when, rows, digest, raw_sha, new_leader,
                    new_leader.value(spec.metric) if new_leader else None, backfilled, encoded, notify),
        changes, _replace(info, status="changed"), recovered)
    logger.info("%s: stored snapshot #%d (%d rows, %d events)", spec.id, snap.id, len(rows), len(events))
    return RunResult(spec.id, status, snap.id, len(rows), tuple(events), warnings=tuple(info.warnings))


def _events(event: Event | None) -> tuple[Event, ...]:
    return (event,) if event is not None else ()


def _unchanged(spec: BoardSpec, ctx: Context, info: FetchInfo, recovered: Change | None) -> tuple[Event, ...]:
    """Record a fetch that changed nothing: in the run's batch when there is one and no event goes with it."""
    if recovered is None and ctx.batch is not None:
        ctx.batch.add(spec.id, info)
        return ()
    return _events(ctx.store.record_fetch(spec.id, info, recovered)[1])


def _failed(spec: BoardSpec, ctx: Context, info: FetchInfo, error: str, when: datetime,
            backfilled: bool, notify: bool = True) -> RunResult:
    streak = ctx.store.consecutive_failures(spec.id) + 1
    runs = f" ({streak} failed runs in a row)" if streak > 1 else ""
    change = Change(ChangeKind.SOURCE_FAILED, None, None, f"{spec.title}: source failed{runs}: {error}",
                    value=float(streak))
    _, event = ctx.store.record_fetch(spec.id, info, change, when, backfilled, notify)
    logger.info("failed: %s", error)
    return RunResult(spec.id, "failed", error=error, events=(event,) if event else ())


def record_failure(spec: BoardSpec, ctx: Context, error: str, when: datetime, *, info: FetchInfo | None = None,
                   origin: str = "run", notify: bool = True) -> RunResult:
    """Record that a board's run failed (a failed fetch and its source_failed event), as run_source does."""
    info = info or FetchInfo(started_at=when, status="failed", origin=origin, error=error, parse_hash=spec.parse_hash)
    return _failed(spec, ctx, _replace(info, status="failed", error=error), error, when, False, notify)


def _replace(info: FetchInfo, **changes: object) -> FetchInfo:
    return replace(info, **changes)  # type: ignore[arg-type]


def run_source(spec: BoardSpec, ctx: Context, *, force: bool = False, state: BoardState | None = None) -> RunResult:
    """Fetch one board and ingest it; whatever goes wrong is recorded and returned, never raised.

    `state` is the board as Store.begin_run read it for the whole run (then no transaction happens before the fetch).
    """
    if ctx.fetcher is None:
        raise TrackerError("run_source needs a fetcher")
    try:
        return _run_source(spec, ctx, force, state)
    except TrackerError as exc:
        error = spec.mask(str(exc))
        logger.warning("%s: %s", spec.id, error)
        return RunResult(spec.id, "failed", error=error)
    except Exception as exc:  # a bug must cost one board, never the run and its alerts
        error = spec.mask(f"{spec.id}: internal error ({type(exc).__name__}: {exc}); please report it")
        logger.error("%s", error, exc_info=logger.isEnabledFor(logging.DEBUG))
        try:
            info = FetchInfo(started_at=datetime.now(UTC), status="failed", error=error, parse_hash=spec.parse_hash)
            return _failed(spec, ctx, info, error, info.started_at, False)
        except Exception:  # the store itself is failing: the run goes on with the other boards
            return RunResult(spec.id, "failed", error=error)


def _run_source(spec: BoardSpec, ctx: Context, force: bool, state: BoardState | None = None) -> RunResult:
    assert ctx.fetcher is not None
    if state is None:
        state = ctx.store.begin_run([(spec.id, spec.title, spec.url)])[spec.id]
    streak, last = state.failures, state.last_good
    use_validators = last is not None and last.parse_hash == spec.parse_hash and not force
    started = datetime.now(UTC)
    recovered = Change(ChangeKind.SOURCE_RECOVERED, None, None,
                       f"{spec.title}: source recovered after {streak} failed run{'s' if streak > 1 else ''}",
                       value=float(streak)) if streak else None
    try:
        page = get_page(spec, ctx.fetcher, etag=last.etag if last and use_validators else None,
                        last_modified=last.last_modified if last and use_validators else None)
    except Cancelled as exc:  # tracker is stopping: nothing happened to the source, so nothing is recorded
        return RunResult(spec.id, "failed", error=spec.mask(f"{spec.id}: {exc}"))
    except FetchError as exc:
        error = spec.mask(f"{spec.id}: {exc}")
        info = FetchInfo(started_at=started, status="failed", error=error, parse_hash=spec.parse_hash)
        result = _failed(spec, ctx, info, error, started, False)
    else:
        result = ingest(spec, replace(page, url=spec.mask(page.url)), ctx, recovered=recovered, force=force,
                        last=last)
    if result.failed:
        stale = check_stale(spec, ctx.store, started)
        if stale is not None:
            result = replace(result, events=(*result.events, stale))
    return result


def get_page(spec: BoardSpec, fetcher: Fetcher, *, etag: str | None = None,
             last_modified: str | None = None) -> Page:
    """The board's document: fetched, or with `render` loaded in headless Chromium and its DOM taken."""
    limited = getattr(fetcher, "limited", None)
    if spec.max_bytes is not None and callable(limited):
        fetcher = limited(spec.max_bytes)
    if spec.render:
        render = getattr(fetcher, "render", None)
        if render is None:
            raise FetchError(f"{spec.url}: this fetcher cannot render pages (render = {spec.render!r})")
        page: Page = render(spec.fetch_url)
        if spec.wait_for and not has_element(page, spec.wait_for):
            raise FetchError(f"{spec.url}: the rendered page has no element matching wait_for {spec.wait_for!r} "
                             f"after its scripts ran; the page may have changed, or load its data from a JSON API "
                             f"you can track instead")
        return page
    return fetcher.fetch(spec.fetch_url, etag=etag, last_modified=last_modified)


def check_stale(spec: BoardSpec, store: Store, now: datetime) -> Event | None:
    """Record `source_stale` once when the board has had no success for `stale_after`."""
    last_ok = store.last_good_fetch(spec.id)
    since = last_ok.started_at if last_ok is not None else store.first_fetch_at(spec.id)
    if since is None or now - since < spec.stale_after:
        return None
    if store.events(spec.id, [ChangeKind.SOURCE_STALE.value], since=since):
        return None
    hours = spec.stale_after.total_seconds() / 3600
    what = f"since {since:%Y-%m-%d %H:%M} UTC" if last_ok is not None else "ever"
    change = Change(ChangeKind.SOURCE_STALE, None, None,
                    f"{spec.title}: no successful fetch {what} (stale_after {hours:g}h); check `tracker boards`")
    logger.warning("%s", change.message)
    return store.add_event(spec.id, change, now)


def run_all(settings: Settings, ctx: Context, boards: Sequence[str] = (), *,
            specs: Sequence[BoardSpec] | None = None, force: bool = False) -> list[RunResult]:
    """Run the named boards (all when none are named), `[fetch] workers` at a time; results in config order.

    Boards on different hosts are fetched concurrently; the fetcher's per-host gate keeps one request in flight
    per host. A URL shared by several boards is fetched once. One failure never stops the rest.
    """
    chosen = list(specs) if specs is not None else (
        [settings.board(b) for b in boards] if boards else list(settings.boards))
    urls = Counter(spec.fetch_url for spec in chosen)
    if ctx.fetcher is not None and any(n > 1 for n in urls.values()):
        ctx = replace(ctx, fetcher=OncePerRun(ctx.fetcher, [u for u, n in urls.items() if n > 1]))
    try:  # every board registered and read in one transaction (issue 10); on a store error each board reads alone
        states = ctx.store.begin_run([(spec.id, spec.title, spec.url) for spec in chosen])
    except TrackerError:
        states = {}
    batch = FetchBatch(ctx.store) if len(chosen) > 1 else None
    ctx = replace(ctx, batch=batch)
    with ctx.archive.group():  # the run's documents are fsynced together when it ends
        try:
            if len(chosen) <= 1 or settings.fetch.workers <= 1:
                return [run_source(spec, ctx, force=force, state=states.get(spec.id)) for spec in chosen]
            with ThreadPoolExecutor(max_workers=min(settings.fetch.workers, len(chosen)),
                                    thread_name_prefix="board") as pool:
                return list(pool.map(lambda spec: run_source(spec, ctx, force=force, state=states.get(spec.id)),
                                     chosen))
        finally:
            if batch is not None:
                batch.close()  # unchanged boards' fetch records: one statement per few hundred boards
