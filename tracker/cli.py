"""The `tracker` command line: thin click commands over the library; the only place that sets up logging."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import click

from . import __version__, alerts, config, pipeline, render, scheduler, views
from .config import Settings
from .errors import LockedError, TrackerError
from .fetch import HttpFetcher
from .models import ChangeKind
from .sources import FORMATS
from .store import Archive, Store
from .timeutil import parse_when

logger = logging.getLogger("tracker")
FORMAT_TEXT_JSON = click.Choice(["text", "json"])
FORMAT_ALL = click.Choice(["text", "json", "markdown"])


class Failure(click.ClickException):
    """A TrackerError shown as one line, exit code 2."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


class Locked(Failure):
    """Another tracker process holds the store: exit code 75 (EX_TEMPFAIL), try later."""

    exit_code = 75


class SecretFilter(logging.Filter):
    """Masks secret values (from ${VAR} in the config) in every log record."""

    secrets: frozenset[str] = frozenset()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            msg = record.getMessage()
            for s in self.secrets:
                if s:
                    msg = msg.replace(s, "***")
            record.msg, record.args = msg, None
        return True


SECRET_FILTER = SecretFilter()


@dataclass
class App:
    """What every command gets: the config path and verbosity."""

    config_path: str | None
    verbose: bool
    settings: Settings | None = None

    def load(self) -> Settings:
        """The configuration, loaded once."""
        if self.settings is None:
            settings = config.load(self.config_path)
            SECRET_FILTER.secrets = settings.secrets
            alerts.check(settings)
            self.settings = settings
        return self.settings

    def mask(self, text: str) -> str:
        """Text with configured secrets replaced by ***."""
        for s in self.settings.secrets if self.settings else ():
            text = text.replace(s, "***") if s else text
        return text

    @contextmanager
    def context(self, *, fetch: bool = False) -> Iterator[pipeline.Context]:
        """Open the store, archive and (optionally) fetcher for one command."""
        s = self.load()
        store = Store(s.storage_url)
        try:
            yield pipeline.Context(store, Archive(s.snapshots_dir), HttpFetcher(s.fetch) if fetch else None)
        finally:
            store.close()


@contextmanager
def errors(app: App) -> Iterator[None]:
    """Turn TrackerError into one clear line (exit 2; 75 when locked); a traceback only with -v."""
    try:
        yield
    except LockedError as exc:
        raise Locked(app.mask(str(exc))) from exc
    except TrackerError as exc:
        if app.verbose:
            logger.exception("traceback")
        raise Failure(app.mask(str(exc))) from exc


def setup_logging(verbose: bool) -> None:
    """Log to stderr: warnings by default, everything with -v."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(SECRET_FILTER)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    for noisy in ("urllib3", "apscheduler", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Config file (default: $TRACKER_CONFIG, else ./config.toml).")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging, and tracebacks on errors.")
@click.version_option(__version__, prog_name="tracker")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Watch machine-learning leaderboards: snapshot them, diff them, flag new SOTA and leader changes.

    Example: tracker run && tracker events --type leader_changed
    """
    setup_logging(verbose)
    ctx.obj = App(config_path, verbose)


@cli.command()
@click.argument("boards", nargs=-1)
@click.option("--due", is_flag=True, help="Only the boards due by their schedule and last fetch (for system cron).")
@click.pass_obj
def run(app: App, boards: tuple[str, ...], due: bool) -> None:
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
        results = scheduler.run_due(s, ctx) if due else pipeline.run_all(s, ctx, boards)
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
            click.echo(f"{f}: {r.summary()}")
        sent = alerts.dispatch(app.load(), ctx.store)
    if sent.summary():
        click.echo(sent.summary())
    if any(r.failed for r in results):
        sys.exit(2)


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
@click.option("--format", "style", type=FORMAT_ALL, default="text", show_default=True)
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
@click.option("--board", "board", help="Only this board.")
@click.option("--type", "types", multiple=True, type=click.Choice([k.value for k in ChangeKind]),
              help="Only these event types (repeatable).")
@click.option("--since", help="Only events observed at or after WHEN (e.g. 2025-01-01 or 7d).")
@click.option("--format", "style", type=FORMAT_TEXT_JSON, default="text", show_default=True)
@click.pass_obj
def events(app: App, board: str | None, types: tuple[str, ...], since: str | None, style: str) -> None:
    """List recorded events, oldest first.

    Example: tracker events --type leader_changed --type new_sota --since 90d
    """
    with errors(app), app.context() as ctx:
        if board:
            app.load().board(board)
        when: datetime | None = parse_when(since, start_of_day=True) if since else None
        items = ctx.store.events(board, types, when)
    click.echo(app.mask(render.events(items, style)))


@cli.command()
@click.option("--format", "style", type=FORMAT_TEXT_JSON, default="text", show_default=True)
@click.pass_obj
def boards(app: App, style: str) -> None:
    """List configured boards with their counters and health.

    Example: tracker boards --format json
    """
    with errors(app), app.context() as ctx:
        items = scheduler.health(app.load(), ctx.store)
    click.echo(app.mask(render.boards(items, style)))


@cli.command()
def formats() -> None:
    """List the document formats a board can use, with what each expects.

    Example: tracker formats
    """
    for name, cls in FORMATS.items():
        click.echo(f"{name:6} {(cls.__doc__ or '').strip()}")


@cli.group("alerts", invoke_without_command=True)
@click.option("--status", type=click.Choice(["waiting", "pending", "sent", "dead", "suppressed"]),
              help="Only deliveries in this state.")
@click.option("--format", "style", type=FORMAT_TEXT_JSON, default="text", show_default=True)
@click.pass_context
def alerts_(ctx: click.Context, status: str | None, style: str) -> None:
    """List alert deliveries (the outbox): waiting, pending, sent, dead or suppressed, with the last error.

    Example: tracker alerts --status dead
    """
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.obj
    with errors(app), app.context() as c:
        items = alerts.deliveries(c.store, status)
        events = {e.id: e for e in c.store.events(after_id=min((d.event_id for d in items), default=1) - 1)}
    click.echo(app.mask(render.deliveries(items, events, style)))


@alerts_.command("test")
@click.argument("target")
@click.option("--secret", envvar="TRACKER_WEBHOOK_SECRET", help="Sign a webhook test with this secret "
              "(default: $TRACKER_WEBHOOK_SECRET).", show_envvar=True)
@click.pass_obj
def alerts_test(app: App, target: str, secret: str | None) -> None:
    """Send a test alert to TARGET (console, webhook+https://..., or an Apprise URL) and say what happened.

    Example: tracker alerts test "mailto://user:pass@smtp.example.org?to=me@example.org"
    """
    shown = config.mask_url(target)
    with errors(app):
        alerts.send_test(target, secret)
    click.echo(f"sent a test alert to {shown}")


@alerts_.command("retry")
@click.pass_obj
def alerts_retry(app: App) -> None:
    """Retry pending and dead deliveries now (dead ones get their attempts back).

    Example: tracker alerts retry
    """
    with errors(app), app.context() as ctx, ctx.store.lock(app.load().lock_wait, "tracker alerts retry"):
        result = alerts.retry(app.load(), ctx.store)
    click.echo(result.summary() or "alerts: nothing to send")


from . import cli_history  # noqa: E402,F401 - registers backfill, history, plot, report and feed
