"""Commands that read: diff, show, events, boards and formats."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from .. import render, scheduler, views
from ..errors import TrackerError
from ..models import ChangeKind
from ..sources import FORMATS
from ..store.pool import is_pool, last_workers
from ..timeutil import parse_when
from ..workers import boards_with_workers
from .app import FORMAT_ALL, FORMAT_ROWS, FORMAT_ROWS_MD, FORMAT_TEXT_JSON, App, cli, errors


@cli.command()
@click.argument("board", required=False)
@click.option("--from", "from_ref", help="Older snapshot: an id, or a date/time (the latest at or before it).")
@click.option("--to", "to_ref", help="Newer snapshot: an id or a date/time (default: the latest).")
@click.option("--since", help="Compare the snapshot in force at WHEN (e.g. 2025-01-01 or 7d) with --to.")
@click.option("--as-of", "as_of", help="Same as --to: what changed up to WHEN.")
@click.option("--format", "style", type=FORMAT_ALL, default="text", show_default=True)
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are changes, 0 when there are none.")
@click.pass_obj
def diff(app: App, board: str | None, from_ref: str | None, to_ref: str | None, since: str | None,
         as_of: str | None, style: str, exit_code: bool) -> None:
    """Show what changed between two snapshots of a board (default: the last two, for every board).

    Example: tracker diff imagenet-timm --since 30d --format markdown
    """
    with errors(app), app.context() as ctx:
        s = app.load()
        specs = [s.board(board)] if board else list(s.boards)
        when = parse_when(since) if since else None
        result = [views.compare(ctx.store, spec, from_ref, to_ref or as_of, when) for spec in specs]
    click.echo(app.mask(render.comparisons(result, style)))
    if exit_code and any(c.changes for c in result):
        sys.exit(1)


@cli.command()
@click.argument("board")
@click.option("--top", type=click.IntRange(min=1), default=None, help="Only the best N entries.")
@click.option("--as-of", "as_of", help="Show the board as it was at WHEN (a snapshot id or date/time).")
@click.option("--format", "style", type=FORMAT_ROWS_MD, default="text", show_default=True,
              help="csv: one row per entry, one column per field; ndjson: the JSON form's rows, one per line.")
@click.pass_obj
def show(app: App, board: str, top: int | None, as_of: str | None, style: str) -> None:
    """Show a board's standings from its latest snapshot (or as of a past time).

    Example: tracker show imagenet-timm --top 10
    """
    with errors(app), app.context() as ctx:
        spec = app.load().board(board)
        snap = views.as_of(ctx.store, spec, as_of)
        if snap is None:
            raise TrackerError(f"{board}: no snapshots yet; run `tracker run {board}` first")
        rows = views.standings(spec, snap)
    click.echo(app.mask(render.standings(spec, snap, rows[:top] if top else rows, style)))


@cli.command()
@click.option("--board", "boards", multiple=True, metavar="BOARD|GLOB",
              help="Only these boards (repeatable; a glob such as 'lmarena-*' matches configured board ids).")
@click.option("--type", "types", multiple=True, type=click.Choice([k.value for k in ChangeKind]),
              help="Only these event types (repeatable).")
@click.option("--since", help="Only events observed at or after WHEN (e.g. 2025-01-01 or 7d).")
@click.option("--until", help="Only events observed at or before WHEN (a date means the end of that day).")
@click.option("--limit", type=click.IntRange(min=1), help="Only the newest N matching events (still oldest first).")
@click.option("--format", "style", type=FORMAT_ROWS, default="text", show_default=True,
              help="json, ndjson and csv carry the same fields; all three stream.")
@click.pass_obj
def events(app: App, boards: tuple[str, ...], types: tuple[str, ...], since: str | None, until: str | None,
           limit: int | None, style: str) -> None:
    """List recorded events, oldest first.

    Example: tracker events --board 'lmarena-*' --type leader_changed --since 90d --format csv
    """
    with errors(app), app.context() as ctx:
        ids = views.pick_boards(app.load(), boards)
        start: datetime | None = parse_when(since, start_of_day=True) if since else None
        end = parse_when(until) if until else None
        app.echo_lines(render.events(ctx.store.iter_events(ids, types, start, end, limit), style))


@cli.command()
@click.argument("board")
@click.option("--format", "style", type=FORMAT_ROWS, default="text", show_default=True)
@click.pass_obj
def snapshots(app: App, board: str, style: str) -> None:
    """List a board's stored snapshots, oldest first: id, when observed, rows, leader and value, events recorded.

    The ids are what --from, --to and --as-of take.

    Example: tracker snapshots imagenet-timm --format csv
    """
    with errors(app), app.context() as ctx:
        items = ctx.store.snapshot_list(app.load().board(board).id)
    app.echo_lines(render.snapshots(items, style))


@cli.command()
@click.option("--format", "style", type=FORMAT_TEXT_JSON, default="text", show_default=True)
@click.pass_obj
def boards(app: App, style: str) -> None:
    """List configured boards with their counters and health (in a worker pool's store: which worker ran each last).

    Example: tracker boards --format json
    """
    with errors(app), app.context() as ctx:
        items = scheduler.health(app.load(), ctx.store)
        ran = last_workers(ctx.store, [s.id for s in items]) if is_pool(ctx.store) else {}  # a worker pool's store
    click.echo(app.mask(boards_with_workers(items, ran, style)))


@cli.command()
def formats() -> None:
    """List the document formats a board can use, with what each expects.

    Example: tracker formats
    """
    for name, cls in FORMATS.items():
        click.echo(f"{name:6} {(cls.__doc__ or '').strip()}")
