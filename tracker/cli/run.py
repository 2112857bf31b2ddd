"""Commands that write: run, schedule, import and prune."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from contextlib import redirect_stdout

import click

from .. import alerts, importing, pipeline, render, scheduler
from ..config import Settings
from ..errors import TrackerError
from ..pipeline import RunResult
from ..store import Store
from ..store import prune as store_prune
from ..timeutil import observed, parse_when
from .app import FORMAT_TEXT_JSON, App, cli, errors


def no_boards(s: Settings) -> TrackerError:
    """The error for a configuration without boards."""
    return TrackerError(f"no boards in {s.path}; add a [[board]] table (see the README, 'Configuration')")


def report(app: App, results: Sequence[RunResult], style: str, files: Sequence[str] | None = None) -> None:
    """Print results: one line per board (failures only with -q), or one JSON array of objects for scripts."""
    named = list(zip(files, results, strict=True)) if files is not None else [(None, r) for r in results]
    if style == "json":
        click.echo(app.mask(render.to_json([render.result_dict(r, f) for f, r in named])))
        return
    for f, r in named:
        if r.failed or not app.quiet:
            click.echo(app.mask(f"{f}: {r.summary()}" if f is not None else r.summary()))


def dispatch(s: Settings, store: Store, style: str) -> alerts.DispatchResult:
    """Send the alerts; with --format json the console channel writes to stderr, so stdout stays valid JSON."""
    if style != "json":
        return alerts.dispatch(s, store)
    with redirect_stdout(sys.stderr):
        return alerts.dispatch(s, store)


def finish(app: App, sent: alerts.DispatchResult, style: str, results: Sequence[RunResult]) -> None:
    """The alerts line (on stderr when stdout is JSON), then exit 2 if any board or file failed."""
    if sent.summary():
        click.echo(app.mask(sent.summary() or ""), err=style == "json")
    if any(r.failed for r in results):
        sys.exit(2)


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

    Prints one line per board; exits 2 if any board failed, 75 if another tracker process holds the store.

    Example: tracker run --due    (from cron: */15 * * * * cd /srv/tracker && .venv/bin/tracker run --due -q)
    """
    with errors(app), app.context(fetch=True) as ctx, ctx.store.lock(app.load().lock_wait, "tracker run"):
        s = app.load()
        if due and boards:
            raise TrackerError("give board names or --due, not both")
        if not s.boards:
            raise no_boards(s)
        if force and not boards:
            raise TrackerError("--force applies to the boards you name: tracker run --force BOARD")
        specs = scheduler.due(s, ctx.store) if due else [s.board(b) for b in boards] or list(s.boards)
        for spec in specs[:1]:  # a store that cannot be written fails here, once, before anything is fetched
            ctx.store.ensure_board(spec.id, spec.title, spec.url)
        results = pipeline.run_all(s, ctx, specs=specs, force=force)
        report(app, results, style)
        sent = dispatch(s, ctx.store, style)
    if due and not results and style == "text" and not app.quiet:
        click.echo("no board is due")
    finish(app, sent, style, results)


@cli.command()
@click.option("--once", is_flag=True, help="Run what is due now, then exit (exit 2 if a board failed).")
@click.option("--format", "style", type=FORMAT_TEXT_JSON, default="text", show_default=True,
              help="With --once: json is one array of objects, as `tracker run --format json`.")
@click.pass_obj
def schedule(app: App, once: bool, style: str) -> None:
    """Run every board on its schedule, in the foreground, until SIGINT or SIGTERM.

    Boards overdue at start run at once. A signal lets the fetch in progress finish, then exits 0.
    With [fetch] retry_failed, a board whose run failed is tried again that much later.

    Example: tracker schedule    (as a systemd service; see the README)
    """
    if not app.verbose and not app.quiet and not once:
        logging.getLogger().setLevel(logging.INFO)
        logging.getLogger("tracker.fetch").setLevel(logging.WARNING)
    with errors(app), app.context(fetch=True) as ctx, ctx.store.lock(app.load().lock_wait, "tracker schedule"):
        s = app.load()
        if not s.boards:
            raise no_boards(s)
        if not once:
            scheduler.serve(s, ctx)
            return
        results = scheduler.run_due(s, ctx)
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
    with errors(app), app.context() as ctx, ctx.store.lock(app.load().lock_wait, "tracker import"):
        mode = (observed_at or "mtime").strip()
        when = None if mode.lower() in ("name", "mtime") else observed(mode)
        results = importing.import_files(app.load().board(board), files, ctx, observed_at=when,
                                        by_name=mode.lower() == "name", force=force, alert=alert,
                                        allow_older=allow_older)
        report(app, results, style, files)
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
    with errors(app), app.context() as ctx, ctx.store.lock(app.load().lock_wait, "tracker prune"):
        when = parse_when(older_than)
        result = store_prune.prune(ctx.store, ctx.archive, when, app.load().keep_failed, vacuum=not no_vacuum)
    click.echo(result.summary())
