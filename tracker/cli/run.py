"""Commands that write: run, schedule (and schedule --workers), import and prune.

In a worker pool's store, run, import and schedule --once take board leases instead of the store-wide lock
(tracker.workers.writing); prune keeps the store-wide lock, which only keeps it from other such commands.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from contextlib import redirect_stdout
from functools import partial
from typing import TYPE_CHECKING

import click

from ..errors import TrackerError
from .app import FORMAT_TEXT_JSON, App, cli, errors

if TYPE_CHECKING:  # the library is imported inside each command: `tracker run` with nothing to do starts fast
    from ..alerts import DispatchResult
    from ..config import Settings
    from ..pipeline import RunResult
    from ..store import Store


def no_boards(s: Settings) -> TrackerError:
    """The error for a configuration without boards."""
    return TrackerError(f"no boards in {s.path}; add a [[board]] table (see the README, 'Configuration')")


def report(app: App, results: Sequence[RunResult], style: str, files: Sequence[str] | None = None,
           skipped: dict[str, str] | None = None) -> None:
    """Print results: one line per board (failures only with -q), or one JSON array of objects for scripts.

    `skipped`: boards a pool's worker was running (board -> who), one line each (status "skipped" in JSON).
    """
    from .. import render
    from ..pipeline import RunResult

    named = list(zip(files, results, strict=True)) if files is not None else [(None, r) for r in results]
    held = [(b, f"{b}: {who} is running it; try again later") for b, who in (skipped or {}).items()]
    if style == "json":
        click.echo(app.mask(render.to_json([render.result_dict(r, f) for f, r in named] + [
            render.result_dict(RunResult(b, "skipped", error=why)) for b, why in held])))
        return
    for f, r in named:
        if r.failed or not app.quiet:
            click.echo(app.mask(f"{f}: {r.summary()}" if f is not None else r.summary()))
    for b, why in held:
        click.echo(app.mask(f"{b}: skipped: {why.removeprefix(b + ': ')}"))


def dispatch(s: Settings, store: Store, style: str) -> DispatchResult:
    """Send the alerts; with --format json the console channel writes to stderr, so stdout stays valid JSON."""
    from .. import alerts

    if style != "json":
        return alerts.dispatch(s, store)
    with redirect_stdout(sys.stderr):
        return alerts.dispatch(s, store)


def finish(app: App, sent: DispatchResult, style: str, results: Sequence[RunResult],
           skipped: dict[str, str] | None = None) -> None:
    """The alerts line (on stderr when stdout is JSON), then exit 2 if any board or file failed, 75 if a pool's
    worker was running a board asked for (try again later)."""
    if sent.summary():
        click.echo(app.mask(sent.summary() or ""), err=style == "json")
    if any(r.failed for r in results):
        sys.exit(2)
    if skipped:
        sys.exit(75)


@cli.command()
@click.argument("boards", nargs=-1)
@click.option("--due", is_flag=True, help="Only the boards due by their schedule and last fetch (for system cron).")
@click.option("--force", is_flag=True, help="Accept documents that look truncated or shrank past max_drop "
              "(a board that really lost rows); also ignores ETag/Last-Modified.")
@click.option("--format", "style", type=FORMAT_TEXT_JSON, default="text", show_default=True,
              help="json: one array of {board, status, snapshot_id, rows, events, error, warnings}.")
@click.pass_obj
def run(app: App, boards: tuple[str, ...], due: bool, force: bool, style: str) -> None:
    """Fetch boards (all, or those named), store new snapshots and record events.

    Prints one line per board; exits 2 if any board failed, 75 if another tracker process holds the store (or,
    in a worker pool's store, a worker is running a board asked for: the others run, that one is skipped).

    Example: tracker run --due    (from cron: */15 * * * * cd /srv/tracker && .venv/bin/tracker run --due -q)
    """
    with errors(app):
        if not app.load().boards and not app.load().collections:  # said before a store or HTTP client is opened
            raise no_boards(app.load())
    with errors(app), app.context(fetch=True) as ctx:
        s = app.load()
        if due and boards:
            raise TrackerError("give board names or --due, not both")
        if not s.boards:
            raise no_boards(s)
        if force and not boards:
            raise TrackerError("--force applies to the boards you name: tracker run --force BOARD")
        from .. import collect
        from .. import workers as pool

        asked = [s.board(b) for b in boards] or list(s.boards)
        with pool.writing(s, ctx, "tracker run", asked, due_only=due) as w:  # the store lock, or board leases
            for spec in w.specs[:1]:  # a store that cannot be written fails here, once, before anything is fetched
                ctx.store.ensure_board(spec.id, spec.title, spec.url)
            results = collect.run_specs(s, ctx, w.specs, force=force)
            report(app, results, style, skipped=w.skipped)
            sent = dispatch(s, ctx.store, style)
    if due and not results and style == "text" and not app.quiet:
        click.echo("no board is due")
    finish(app, sent, style, results, w.skipped)


@cli.command()
@click.option("--once", is_flag=True, help="Run what is due now, then exit (exit 2 if a board failed).")
@click.option("--workers", "join", is_flag=True,
              help="Join the worker pool of a PostgreSQL store: claim due boards with leases ([schedule] lease), "
                   "alongside any number of other workers on any machines.")
@click.option("--format", "style", type=FORMAT_TEXT_JSON, default="text", show_default=True,
              help="With --once: json is one array of objects, as `tracker run --format json`.")
@click.pass_obj
def schedule(app: App, once: bool, join: bool, style: str) -> None:
    """Run every board on its schedule, in the foreground, until SIGINT or SIGTERM.

    Boards overdue at start run at once. A signal lets the fetch in progress finish, then exits 0.
    With [fetch] retry_failed, a board whose run failed is tried again that much later.
    With --workers (PostgreSQL only) this process is one of a pool: each board is run by one worker at a time,
    and a worker that dies leaves its boards to the others once its leases expire. A worker that loses the
    database stops claiming and exits 2. `tracker workers` lists the pool.

    Example: tracker schedule --workers    (as a systemd service, on as many machines as you like; see the README)
    """
    if join and once:
        raise click.UsageError("--workers runs until stopped; for one pass over the due boards use --once alone")
    from .. import collect, scheduler
    from .. import workers as pool
    from ..store.pool import is_pool, url_supported

    with errors(app):
        ok, where = url_supported(app.load().storage_url)
        if join and not ok:  # said before the store is opened, and before logging gets louder
            raise pool.needs_postgres(where)
    if not app.verbose and not app.quiet and not once:
        logging.getLogger().setLevel(logging.INFO)
        logging.getLogger("tracker.fetch").setLevel(logging.WARNING)
    with errors(app), app.context(fetch=True) as ctx:
        s = app.load()
        if not s.boards:
            raise no_boards(s)
        if join:
            pool.serve(s, ctx)
            return
        if not once:
            with ctx.store.lock(s.lock_wait, "tracker schedule"):
                if is_pool(ctx.store):
                    raise TrackerError(f"{ctx.store.safe_url} is the store of a worker pool (see `tracker workers`):"
                                       f" join it with `tracker schedule --workers`, or use `tracker run --due`")
                scheduler.serve(s, ctx)
            return
        with pool.writing(s, ctx, "tracker schedule", list(s.boards), due_only=True) as w:
            results = collect.run_specs(s, ctx, w.specs)
            report(app, results, style)
            sent = dispatch(s, ctx.store, style)
    if not results and style == "text" and not app.quiet:
        click.echo("no board is due")
    finish(app, sent, style, results)


@cli.command("import")
@click.argument("board")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--observed-at", metavar="WHEN|name|mtime",
              help="When these documents were seen: a WHEN (2024-08-13, 2024-08-13T06:00Z, 7d), `name` (the date "
                   "or date-time each file name starts with, e.g. 2021-06-30_x.csv or 2024-07-13T06-00Z.json), or "
                   "`mtime` (each file's modification time, the default).")
@click.option("--allow-older", is_flag=True, help="Import files observed before the board's latest snapshot "
              "(they are diffed against it, in the order given).")
@click.option("--force", is_flag=True, help="Store even if the row count dropped by more than max_drop.")
@click.option("--alert", is_flag=True, help="Send alerts for the events (imports are recorded quietly by default).")
@click.option("--format", "style", type=FORMAT_TEXT_JSON, default="text", show_default=True,
              help="json: one array of {file, board, status, snapshot_id, rows, events, error, warnings}.")
@click.pass_obj
def import_(app: App, board: str, files: tuple[str, ...], observed_at: str | None, allow_older: bool, force: bool,
            alert: bool, style: str) -> None:
    """Ingest saved documents of BOARD, in the order given (for backfills and tests).

    A file observed before the board's latest snapshot, or in the future, is refused (nothing is imported).

    Example: tracker import imagenet-timm old/2021-06-30_d10b071a.csv old/2021-10-24_51f488b7.csv --observed-at name
    """
    from .. import collect, importing
    from .. import workers as pool
    from ..timeutil import observed

    with errors(app), app.context() as ctx:
        spec, coll = app.load().board(board), app.load().collection(board)
        with pool.writing(app.load(), ctx, "tracker import", [spec], reschedule=False) as w:  # lock, or lease
            pool.refuse_if_skipped(w, "tracker import", app.load().lock_wait)
            mode = (observed_at or "mtime").strip()
            when = None if mode.lower() in ("name", "mtime") else observed(mode)
            load = partial(collect.import_files, coll) if coll is not None and collect.is_document(spec) \
                else partial(importing.import_files, spec)
            results = load(files, ctx, observed_at=when, by_name=mode.lower() == "name", force=force, alert=alert,
                           allow_older=allow_older)
            report(app, results, style, files if load.func is importing.import_files else None)
            sent = dispatch(app.load(), ctx.store, style)
    finish(app, sent, style, results)


@cli.command()
@click.option("--older-than", "older_than", default="30d", show_default=True,
              help="Only raw documents archived before this age or date (e.g. 30d, 2025-01-01).")
@click.option("--no-vacuum", is_flag=True, help="Do not VACUUM/ANALYZE the database afterwards.")
@click.pass_obj
def prune(app: App, older_than: str, no_vacuum: bool) -> None:
    """Remove raw documents no snapshot needs (failed, superseded, orphaned), stale temp files; vacuum the database.

    Snapshots, events, fetch records and the raw document of every snapshot are never removed; each board keeps
    its newest [storage] keep_failed failed documents.

    Example: tracker prune --older-than 90d
    """
    from ..store import prune as store_prune
    from ..timeutil import parse_when

    with errors(app), app.context() as ctx, ctx.store.lock(app.load().lock_wait, "tracker prune"):
        when = parse_when(older_than)
        result = store_prune.prune(ctx.store, ctx.archive, when, app.load().keep_failed, vacuum=not no_vacuum)
    click.echo(result.summary())
