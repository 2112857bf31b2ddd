"""The history commands of the CLI: backfill, history, plot, report, feed (registered on the `tracker` group)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from click._termui_impl import ProgressBar

from .. import backfill as backfill_mod
from .. import render, report, views
from .. import workers as pool
from ..errors import TrackerError
from ..history import history as board_history
from ..models import ChangeKind
from ..timeutil import parse_when
from .app import FORMAT_ROWS_MD, FORMAT_TEXT_JSON, App, cli, errors


@cli.command()
@click.argument("board")
@click.option("--wayback", is_flag=True, help="Import the Internet Archive's captures of the board's URL.")
@click.option("--git", "repo", type=click.Path(exists=True, file_okay=False), help="A local git clone to read.")
@click.option("--path", "path", help="With --git: the file's path in the repository (renames are followed).")
@click.option("--from", "since", help="With --wayback: captures at or after this date.")
@click.option("--to", "until", help="With --wayback: captures at or before this date.")
@click.option("--limit", type=click.IntRange(min=1), help="With --wayback: at most this many captures.")
@click.option("--format", "style", type=FORMAT_TEXT_JSON, default="text", show_default=True,
              help="json: one array with one object for the board (run fields plus found/imported/... counts).")
@click.pass_obj
def backfill(app: App, board: str, wayback: bool, repo: str | None, path: str | None, since: str | None,
             until: str | None, limit: int | None, style: str) -> None:
    """Import a board's past versions, oldest first: archive captures (--wayback) or a file's git history (--git).

    Backfilled events are never alerted; running a backfill again imports nothing twice.

    Example: tracker backfill imagenet-timm --git ~/src/pytorch-image-models --path results/results-imagenet.csv
    """
    if wayback == bool(repo):
        raise click.UsageError("give --wayback or --git REPO --path FILE")
    if repo and not path:
        raise click.UsageError("--git needs --path FILE (the file's path inside the repository)")
    with errors(app), app.context(fetch=True) as ctx, pool.writing(  # the store lock, or in a pool the board's lease
            app.load(), ctx, "tracker backfill", [app.load().board(board)], reschedule=False) as held:
        pool.refuse_if_skipped(held, "tracker backfill", app.load().lock_wait)
        s = app.load()
        spec = s.board(board)
        if wayback:
            start = parse_when(since, start_of_day=True) if since else None
            versions = backfill_mod.wayback_versions(s, spec, ctx, since=start, limit=limit,
                                                     until=parse_when(until) if until else None)
        else:
            versions = backfill_mod.git_versions(Path(repo or "."), path or "")
        bar: ProgressBar[int] = click.progressbar(length=len(versions), label=f"{board}: importing",
                                                  file=sys.stderr, show_pos=True, hidden=app.quiet)
        with bar:
            result = backfill_mod.run(spec, ctx, versions, repo=Path(repo) if repo else None,
                                      progress=bar.update)
    if style == "json":
        click.echo(app.mask(render.to_json([render.backfill_dict(board, result)])))
    else:
        click.echo(app.mask(result.summary(board)))


@cli.command()
@click.argument("board")
@click.option("--format", "style", type=FORMAT_ROWS_MD, default="text", show_default=True,
              help="csv and ndjson: one line per leader, then per record, with a `kind` field saying which.")
@click.pass_obj
def history(app: App, board: str, style: str) -> None:
    """Show who led the board when (the leader timeline) and how the record progressed.

    Example: tracker history imagenet-timm --format markdown
    """
    with errors(app), app.context() as ctx:
        h = board_history(ctx.store, app.load().board(board))
    click.echo(app.mask(render.history(h, style)))


@cli.command()
@click.argument("board")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the chart: a .png or .svg file.")
@click.option("--since", help="Only records and entries from WHEN on.")
@click.pass_obj
def plot(app: App, board: str, output: str, since: str | None) -> None:
    """Draw the state-of-the-art step chart of a board (records over time, entries as dots when dated).

    Example: tracker plot imagenet-timm -o imagenet.svg --since 2020-01-01
    """
    out = Path(output)
    from .. import chart
    with errors(app), app.context() as ctx:
        spec = app.load().board(board)
        when = parse_when(since, start_of_day=True) if since else None
        latest = ctx.store.latest(spec.id)
        hist = board_history(ctx.store, spec, when)
        if since and latest is not None and not hist.records:
            raise TrackerError(f"{board}: no records since {since}; try an earlier --since")
        c = chart.sota_chart(hist, latest.rows if latest else (),
                             fmt_=out.suffix.lstrip(".").lower(), since=when,
                             end=latest.observed_at if latest else None)
        try:
            out.write_bytes(c.data)
        except OSError as exc:
            raise TrackerError(f"cannot write {out}: {exc.strerror}") from exc
    click.echo(f"{out}: {c.steps} record steps, {c.dots} entries")


@cli.command("report")
@click.argument("board")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--format", "style", type=click.Choice(["markdown", "html"]), default="markdown", show_default=True)
@click.option("--as-of", "as_of", help="The report as it would have been at WHEN.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@click.pass_obj
def report_(app: App, board: str, top: int, style: str, as_of: str | None, output: str | None) -> None:
    """Write a dated report: the leader and margin, a top-N table, the record chart, recent changes, the source.

    Example: tracker report imagenet-timm --format html -o imagenet.html
    """
    from .. import chart
    with errors(app), app.context() as ctx:
        spec = app.load().board(board)
        snap = views.as_of(ctx.store, spec, as_of)
        if snap is None:
            raise TrackerError(f"{board}: no snapshots yet; run `tracker run {board}` first")
        hist = board_history(ctx.store, spec)
        hist = type(hist)(hist.board, hist.leaders, tuple(r for r in hist.records if r.when <= snap.observed_at))
        r = report.build(ctx.store, spec, snap, hist, top)
        if style == "html":
            svg = chart.sota_chart(hist, snap.rows, fmt_="svg", end=snap.observed_at).data if hist.records else None
            text = report.to_html(r, svg)
        else:
            text = report.markdown(r)
        text = app.mask(text)
        if output:
            try:
                Path(output).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise TrackerError(f"cannot write {output}: {exc.strerror}") from exc
    if output:
        click.echo(f"{output}: {spec.title} as of {snap.observed_at:%Y-%m-%d}")
    else:
        click.echo(text, nl=False)


@cli.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.pass_obj
def feed(app: App, output: str | None, limit: int) -> None:
    """Write an Atom feed of leader changes and new records across all boards, for feed readers.

    Example: tracker feed -o /var/www/sota.xml
    """
    with errors(app), app.context() as ctx:
        s = app.load()
        events = [e for b in s.boards for e in ctx.store.events(
            b.id, [ChangeKind.LEADER_CHANGED.value, ChangeKind.NEW_SOTA.value])]
        events = sorted(events, key=lambda e: (e.observed_at, e.id))[-limit:]
        data = app.mask(report.atom_feed(s, events).decode()).encode()
        if output:
            try:
                Path(output).write_bytes(data)
            except OSError as exc:
                raise TrackerError(f"cannot write {output}: {exc.strerror}") from exc
    if output:
        click.echo(f"{output}: {len(events)} entries, updated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    else:
        click.echo(data.decode(), nl=False)
