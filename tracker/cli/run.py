"""Commands that write: run, schedule, import and prune."""

from __future__ import annotations

import logging
import sys

import click

from .. import alerts, pipeline, scheduler
from ..errors import TrackerError
from ..store import prune as store_prune
from ..timeutil import parse_when
from .app import App, cli, errors


@cli.command()
@click.argument("boards", nargs=-1)
@click.option("--due", is_flag=True, help="Only the boards due by their schedule and last fetch (for system cron).")
@click.option("--force", is_flag=True, help="Accept documents that look truncated or shrank past max_drop "
              "(a board that really lost rows); also ignores ETag/Last-Modified.")
@click.pass_obj
def run(app: App, boards: tuple[str, ...], due: bool, force: bool) -> None:
    """Fetch boards (all, or those named), store new snapshots and record events.

    Prints one line per board; exits 2 if any board failed, 75 if another tracker process holds the store.

    Example: tracker run --due    (from cron: */15 * * * * cd /srv/tracker && .venv/bin/tracker run --due)
    """
    with errors(app), app.context(fetch=True) as ctx, ctx.store.lock(app.load().lock_wait, "tracker run"):
        s = app.load()
        if due and boards:
            raise TrackerError("give board names or --due, not both")
        if not s.boards:
            raise TrackerError(f"no boards in {s.path}; add a [[board]] table (see the README, 'Configuration')")
        if force and not boards:
            raise TrackerError("--force applies to the boards you name: tracker run --force BOARD")
        results = scheduler.run_due(s, ctx) if due else pipeline.run_all(s, ctx, boards, force=force)
        for r in results:
            click.echo(app.mask(r.summary()))
        sent = alerts.dispatch(s, ctx.store)
    if due and not results:
        click.echo("no board is due")
    if sent.summary():
        click.echo(sent.summary())
    if any(r.failed for r in results):
        sys.exit(2)


@cli.command()
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
@click.pass_obj
def schedule(app: App, once: bool) -> None:
    """Run every board on its schedule, in the foreground, until SIGINT or SIGTERM.

    Boards overdue at start run at once. A signal lets the fetch in progress finish, then exits 0.

    Example: tracker schedule    (as a systemd service; see the README)
    """
    if not app.verbose:
        logging.getLogger().setLevel(logging.INFO)
        logging.getLogger("tracker.fetch").setLevel(logging.WARNING)
    with errors(app), app.context(fetch=True) as ctx, ctx.store.lock(app.load().lock_wait, "tracker schedule"):
        if once:
            for r in scheduler.run_due(app.load(), ctx):
                click.echo(app.mask(r.summary()))
            sent = alerts.dispatch(app.load(), ctx.store)
            if sent.summary():
                click.echo(sent.summary())
        else:
            scheduler.serve(app.load(), ctx)


@cli.command("import")
@click.argument("board")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--observed-at", help="When these documents were seen (default: each file's modification time).")
@click.option("--force", is_flag=True, help="Store even if the row count dropped by more than max_drop.")
@click.option("--alert", is_flag=True, help="Send alerts for the events (imports are recorded quietly by default).")
@click.pass_obj
def import_(app: App, board: str, files: tuple[str, ...], observed_at: str | None, force: bool, alert: bool) -> None:
    """Ingest saved documents of BOARD, in the order given (for backfills and tests).

    Example: tracker import imagenet-timm old/results-imagenet.csv --observed-at 2024-08-13
    """
    with errors(app), app.context() as ctx, ctx.store.lock(app.load().lock_wait, "tracker import"):
        when = parse_when(observed_at) if observed_at else None
        results = pipeline.import_files(app.load().board(board), files, ctx, observed_at=when, force=force,
                                        alert=alert)
        for f, r in zip(files, results, strict=True):
            click.echo(app.mask(f"{f}: {r.summary()}"))
        sent = alerts.dispatch(app.load(), ctx.store)
    if sent.summary():
        click.echo(sent.summary())
    if any(r.failed for r in results):
        sys.exit(2)




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
