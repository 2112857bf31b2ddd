"""Commands that set a board up: add (detect a document's table and append a [[board]]) and check (a dry run)."""

from __future__ import annotations

import sys
from dataclasses import replace

import click

from .. import config, detect, render
from ..errors import TrackerError
from ..timeutil import parse_when
from .app import App, cli, errors

SAMPLES = 3


@cli.command()
@click.argument("url")
@click.option("--id", "board_id", help="The board's id (default: a slug of the URL's file or host name).")
@click.option("--title", help="The board's title (default: the table's caption or page title, else the id).")
@click.option("--format", "fmt", type=click.Choice(detect.DETECTABLE), help="Read the document as this format "
              "instead of detecting it.")
@click.option("--table", "table_no", type=click.IntRange(min=1), help="Use this one of the tables listed "
              "(default: the largest that has a name and a metric column).")
@click.option("--render", is_flag=True, help="Tables drawn by JavaScript: load the page in headless Chromium "
              "(Debian's chromium) and read the rendered tables; the board then renders it on every run.")
@click.option("--observed-at", help="When the document was seen (default: now), e.g. a saved copy of an old version.")
@click.option("-y", "--yes", is_flag=True, help="Accept the proposed table, columns and id without asking.")
@click.pass_obj
def add(app: App, url: str, board_id: str | None, title: str | None, fmt: str | None, table_no: int | None,
        render: bool, observed_at: str | None, yes: bool) -> None:
    """Add a board from a URL or local file: find its tables, propose the model and metric columns, append a
    commented [[board]] to the config (created if missing), and store the baseline snapshot.

    The config's existing text is kept byte for byte; nothing is written if the result would not load or parse.

    Example: tracker add https://example.org/results.csv --id my-board --yes
    """
    with errors(app):
        path = config.config_path(app.config_path)
        if not path.exists():
            app.settings = detect.new_settings(path)
        settings = app.load()
        if board_id:
            detect.refuse_existing(settings, board_id)
        when = parse_when(observed_at) if observed_at else None
        with app.context(fetch=True) as ctx:
            page = detect.read_document(url, ctx, render=render)
            cands = detect.find_tables(page, fmt)
            cand = _choose(url, cands, table_no, yes)
            click.echo(_columns(cand))
            proposal = detect.propose(cand, url, detect.written_url(url, path.parent), board_id, title)
            proposal = replace(proposal, render=render)
            click.echo(_describe(proposal))
            if not yes and not click.confirm("Add this board?", default=True):
                proposal = _ask(proposal)
                click.echo(_describe(proposal))
                if not click.confirm("Add this board?", default=True):
                    raise click.Abort()
            detect.refuse_existing(settings, proposal.board_id)
            for other in detect.tracked_by(settings, proposal.url, path.parent):
                click.echo(f"warning: board {other!r} already tracks {proposal.url}", err=True)
            block, result = detect.add_board(path, proposal, page, ctx, settings.lock_wait, when)
        click.echo(f"appended to {path}:\n\n{block}")
        click.echo(app.mask(result.summary()))
    if result.failed:
        sys.exit(2)


@cli.command()
@click.argument("board")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Judge it as `tracker run --force` would (no max_drop/truncation guard).")
@click.pass_obj
def check(app: App, board: str, file: str | None, force: bool) -> None:
    """Fetch BOARD's url (or read FILE) and show what `tracker run` would store, storing nothing.

    Prints the row count, the leader, warnings, and the change counts and leader/record lines against the latest
    snapshot. Exits 0 when it would be stored (or is unchanged), 2 when it would be quarantined or the fetch fails.

    Example: tracker check imagenet-timm results-imagenet.csv
    """
    with errors(app), app.context(fetch=file is None) as ctx:
        outcome = detect.check_board(app.load().board(board), ctx, file, force=force)
    click.echo(app.mask("\n".join(outcome.lines())))
    if outcome.quarantined:
        sys.exit(2)


def _choose(url: str, cands: list[detect.Candidate], table_no: int | None, yes: bool) -> detect.Candidate:
    best = detect.best_table(cands)
    if table_no is not None and table_no > len(cands):
        raise TrackerError(f"{url}: --table {table_no}, but it has {len(cands)} table{'s' if len(cands) > 1 else ''}")
    if len(cands) > 1:
        click.echo(f"{url}: {len(cands)} tables")
        for c in cands:
            names = ", ".join(col.name for col in c.columns[:8]) + (", ..." if len(c.columns) > 8 else "")
            where = f" (selector {c.selector!r})" if c.selector else ""
            click.echo(f"  {c.number}. {c.label}{where}: {c.rows} rows; {names}")
        if table_no is None and not yes:
            table_no = click.prompt("Which table?", type=click.IntRange(1, len(cands)), default=best.number)
    return cands[table_no - 1] if table_no is not None else best


def _columns(cand: detect.Candidate) -> str:
    rows = []
    for i, col in enumerate(cand.columns, start=1):
        p = detect.profile(col)
        kind = ("number" if p.numeric else "text") + (", unique" if p.unique else "") if p.filled else "empty"
        samples = ", ".join(c for c in col.cells[:SAMPLES] if c is not None)
        rows.append([str(i), col.name if len(col.name) <= 30 else col.name[:29] + "…", kind,
                     samples if len(samples) <= 60 else samples[:59] + "…"])
    head = f"{cand.label}: {cand.rows} rows, {len(cand.columns)} columns"
    return head + "\n" + render.table(["#", "column", "kind", f"first {SAMPLES} values"], rows)


def _describe(p: detect.Proposal) -> str:
    key = f" and {p.key_extra.name!r} (together they are unique)" if p.key_extra else ""
    prof = detect.profile(p.model)
    repeats = (f"\nnote: {prof.filled - prof.distinct} names in {p.model.name!r} repeat; the first row of each is "
               f"kept" if not p.key_extra and prof.distinct < prof.filled else "")
    return (f"proposed board {p.board_id!r}: entries named by {p.model.name!r}{key}; metric {p.metric.name!r} "
            f"({'higher' if p.higher_is_better else 'lower'} is better){repeats}")


def _ask(p: detect.Proposal) -> detect.Proposal:
    def pick(text: str) -> detect.Column:
        for i, c in enumerate(p.candidate.columns, start=1):
            if c.selectable and text.strip().casefold() in (str(i), c.name.casefold()):
                return c
        raise click.BadParameter(f"no column {text!r}; give a number or a name from the list above")

    def pick_metric(text: str) -> detect.Column:
        c = pick(text)
        if c is model or not detect.profile(c).numeric:
            raise click.BadParameter(f"{c.name!r} is not a column of numbers (or it names the entries); pick another")
        return c

    model = click.prompt("Column naming the entries", default=p.model.name, value_proc=pick)
    metric = click.prompt("Metric column", default=p.metric.name, value_proc=pick_metric)
    higher = click.confirm("Is higher better?", default=not detect.lower_is_better(metric.name))
    board_id = click.prompt("Board id", default=p.board_id)
    return p.with_roles(model=model, metric=metric, higher_is_better=higher, board_id=board_id)
