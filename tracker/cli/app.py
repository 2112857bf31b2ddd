"""The `tracker` group and what every command shares: the App, one-line errors, masked logging and output."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from .. import __version__
from ..errors import LockedError, TrackerError

if TYPE_CHECKING:  # the library is imported by the commands that run, so `tracker --help` starts fast (issue 10)
    from ..config import Settings
    from ..context import Context
    from ..fetch import HttpFetcher
    from ..store import Store

logger = logging.getLogger("tracker")
FORMAT_TEXT_JSON = click.Choice(["text", "json"])
FORMAT_ALL = click.Choice(["text", "json", "markdown"])
FORMAT_ROWS = click.Choice(["text", "json", "csv", "ndjson"])
FORMAT_ROWS_MD = click.Choice(["text", "json", "markdown", "csv", "ndjson"])


class Failure(click.ClickException):
    """A TrackerError shown as one line, exit code 2."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


class Locked(Failure):
    """Another tracker process holds the store: exit code 75 (EX_TEMPFAIL), try later."""

    exit_code = 75


@dataclass
class Masker:
    """Replaces secrets (${VAR} values, passwords and tokens of alert targets) with *** in any text."""

    secrets: list[str] = field(default_factory=list)

    def load(self, settings: Settings) -> None:
        """Learn the secrets of a configuration."""
        from .. import config

        found = {s for s in settings.secrets if len(s) >= 3}
        for rule in settings.alerts:
            for target in rule.notify:
                found.update(config.url_secrets(target))
            if rule.secret:
                found.add(rule.secret)
        self.secrets = sorted(found, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        if not self.secrets:
            return text
        from ..config import scrub

        return scrub(text, self.secrets)


MASK = Masker()


class MaskingFormatter(logging.Formatter):
    """Formats a log record, traceback included, then masks every secret in the result."""

    def format(self, record: logging.LogRecord) -> str:
        return MASK(super().format(record))


@dataclass
class App:
    """What every command gets: the config path and verbosity (-v debug logging, -q no success lines)."""

    config_path: str | None
    verbose: bool
    settings: Settings | None = None
    quiet: bool = False

    def load(self) -> Settings:
        """The configuration, loaded once."""
        if self.settings is None:
            from .. import alerts, config

            settings = config.load(self.config_path)
            MASK.load(settings)
            alerts.check(settings)
            self.settings = settings
        return self.settings

    def mask(self, text: str) -> str:
        """Text with configured secrets replaced by ***."""
        return MASK(text)

    def echo_lines(self, lines: Iterable[str]) -> None:
        """Print lines as they come (masked), so long listings stream instead of piling up in memory."""
        for line in lines:
            click.echo(MASK(line))

    @contextmanager
    def context(self, *, fetch: bool = False) -> Iterator[Context]:
        """Open the store, archive and (optionally) fetcher for one command."""
        from ..context import Context
        from ..store import Archive, Store

        s = self.load()
        store = Store(s.storage_url, lock_wait=s.lock_wait)
        try:
            fetcher = None
            if fetch:
                from ..fetch import HttpFetcher

                fetcher = HttpFetcher(s.fetch)
                if s.fetch.robots:
                    keep_robots(fetcher, store)
            if s.collections:  # the boards that collections generated, as the store knows them
                from .. import collect

                self.settings = collect.with_generated(s, store)
            yield Context(store, Archive(s.snapshots_dir), fetcher, s.keep_failed)
        finally:
            store.close()


def keep_robots(fetcher: HttpFetcher, store: Store) -> None:
    """Start the fetcher from the robots.txt files the store kept (younger than a day) and keep what it reads."""
    from datetime import timedelta
    from functools import partial

    from ..fetch.robots import ROBOTS_TTL
    from ..store import robots

    fetcher.robots.preload(robots.recent(store, timedelta(seconds=ROBOTS_TTL)), keep=partial(robots.save, store),
                           key=robots.origin_key)


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
    """Log to stderr: warnings and errors by default (and with -q), everything with -v; secrets masked,
    tracebacks included."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    for noisy in ("urllib3", "apscheduler", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # tracker.store.migrate logs the one line that matters


CONFIG_HELP = "Config file (default: $TRACKER_CONFIG, else ./config.toml)."
VERBOSE_HELP = "Debug logging, and tracebacks on errors."
QUIET_HELP = "Only failures, warnings, errors and alerts: no per-board success lines (run, import, schedule)."


def _merge(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A global option given after the subcommand: fold it into the App the group made."""
    app = ctx.find_object(App)
    if app is None or value is None or value is False:
        return
    if param.name == "config_path":
        app.config_path = value
    elif param.name == "verbose":
        app.verbose = True
        setup_logging(True)
    elif param.name == "quiet":
        app.quiet = True


def global_options() -> list[click.Parameter]:
    """--config, -v and -q as options of a subcommand, so they work after it too (tracker run --config x.toml)."""
    return [click.Option(["--config", "config_path"], type=click.Path(dir_okay=False), default=None,
                         expose_value=False, callback=_merge, help=CONFIG_HELP),
            click.Option(["-v", "--verbose"], is_flag=True, expose_value=False, callback=_merge, help=VERBOSE_HELP),
            click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, callback=_merge, help=QUIET_HELP)]


class TrackerGroup(click.Group):
    """A group whose commands (and sub-groups' commands) also accept the global options after their name."""

    group_class = type  # sub-groups (`tracker alerts`) are TrackerGroups too
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, tuple[str, str]] = {}  # name -> (module in tracker.cli, one-line help): loaded when used

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command, loaded or not."""
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, importing its module the first time it is asked for."""
        if cmd_name not in self.commands and cmd_name in self.lazy:
            importlib.import_module(f"tracker.cli.{self.lazy[cmd_name][0]}")
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of --help, from the lazy table (no command module is imported for it)."""
        names = self.list_commands(ctx)
        if not self.lazy or not names:
            super().format_commands(ctx, formatter)
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            loaded: click.Command | None = self.commands.get(name)
            if loaded is not None:
                rows.append((name, loaded.get_short_help_str(limit)))
            else:
                rows.append((name, click.Command(name, help=self.lazy[name][1]).get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Register a command, giving it --config, -v and -q unless it has them."""
        have = {p.name for p in cmd.params}
        cmd.params.extend(p for p in global_options() if p.name not in have)
        super().add_command(cmd, name)


@click.group(cls=TrackerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, help=CONFIG_HELP)
@click.option("-v", "--verbose", is_flag=True, help=VERBOSE_HELP)
@click.option("-q", "--quiet", is_flag=True, help=QUIET_HELP)
@click.version_option(__version__, prog_name="tracker")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool, quiet: bool) -> None:
    """Watch machine-learning leaderboards: snapshot them, diff them, flag new SOTA and leader changes.

    The global options --config, -v and -q go before or after the command: tracker run -q --config x.toml

    Example: tracker run && tracker events --type leader_changed
    """
    setup_logging(verbose)
    ctx.obj = App(config_path, verbose, quiet=quiet)
