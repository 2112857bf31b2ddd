"""The steps of `tracker add` and `tracker check` around detection: read, refuse, append, dry-run, ingest."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

from .. import config, pipeline
from ..config import BoardSpec, Settings
from ..errors import ConfigError, ParseError, TrackerError
from ..fetch import read_file_url
from ..models import Page
from ..pipeline import Context, RunResult
from .dryrun import DryRun, dry_run
from .propose import Proposal, metric_column, model_column
from .tables import Candidate
from .toml_append import append_board, board_block

logger = logging.getLogger(__name__)


def written_url(target: str, config_dir: Path) -> str:
    """The url to write in the config: http(s) and file:// URLs as given; a path as file://, relative to the
    config's folder when it was typed relative."""
    if target.startswith(("http://", "https://", "file://")):
        return target
    if os.path.isabs(target):
        return "file://" + os.path.normpath(target)
    return "file://" + os.path.relpath(os.path.abspath(target), os.path.abspath(config_dir))


def _resolved(url: str, base: Path) -> str:
    if url.startswith("file://") and not Path(url[len("file://"):]).is_absolute():
        return "file://" + str((base / url[len("file://"):]).resolve())
    return url


def tracked_by(settings: Settings, url: str, config_dir: Path) -> list[str]:
    """Ids of the configured boards that already track this url (as written in the config)."""
    want = _resolved(url, config_dir.resolve())
    return [b.id for b in settings.boards if b.url in (url, want)]


def new_settings(path: Path) -> Settings:
    """The default settings of a config file that does not exist yet (`tracker add` creates it)."""
    return config.parse({}, base=path.resolve().parent, path=path)


def read_document(target: str, ctx: Context, *, render: bool = False) -> Page:
    """Fetch a URL with the context's fetcher (or render it in headless Chromium), or read a local path."""
    if ctx.fetcher is None:
        raise TrackerError("reading a document needs a fetcher")
    if render:
        url = target if "://" in target else "file://" + os.path.abspath(target)
        return pipeline.get_page(_rendered(url), ctx.fetcher)
    return ctx.fetcher.fetch(target)


def _rendered(url: str) -> BoardSpec:
    """A throw-away html board that renders `url` and waits for a table, for reading it once."""
    board = {"id": "render", "url": url, "format": "html", "metric": "m", "render": "chromium", "wait_for": "table",
             "fields": {"model": "m", "m": "m"}}
    return config.parse({"board": [board]}, base=Path("/")).boards[0]


def check_board(spec: BoardSpec, ctx: Context, file: str | None = None, *, force: bool = False) -> DryRun:
    """Fetch the board's url (or read `file`) and say what ingesting it would do, storing nothing."""
    page = read_file_url(file, 1 << 40) if file is not None else (
        pipeline.get_page(spec, ctx.fetcher) if ctx.fetcher is not None and spec.render
        else read_document(spec.fetch_url, ctx))
    return dry_run(spec, page, ctx.store, force=force)


def refuse_existing(settings: Settings, board_id: str) -> None:
    """ConfigError when a board with this id is already configured."""
    if any(b.id == board_id for b in settings.boards):
        where = settings.path or "the config"
        raise ConfigError(f"board {board_id!r} already exists in {where}; pick another id with --id NEW, or edit "
                          f"that [[board]] instead")


def best_table(cands: list[Candidate]) -> Candidate:
    """The candidate to propose: the one with the most rows among those with a name and a metric column."""
    fit = [c for c in cands if model_column(c) is not None and metric_column(c, model_column(c))]
    return max(fit or cands, key=lambda c: c.rows)


def add_board(path: Path, proposal: Proposal, page: Page, ctx: Context, lock_wait: float,
              observed_at: datetime | None = None) -> tuple[str, RunResult]:
    """Append the proposal's [[board]] to the config file and store the baseline snapshot (under the store lock).

    Nothing is written when the config with it would not load, or when the board would not parse the document.
    Returns the appended text and the ingest's result.
    """
    block = board_block(proposal)
    plan = append_board(path, block, proposal.board_id)
    spec = plan.settings.board(proposal.board_id)
    trial = dry_run(spec, page, ctx.store)
    if trial.quarantined:
        raise ParseError(f"{trial.error}; nothing written")
    with ctx.store.lock(lock_wait, "tracker add"):
        plan.write()
        logger.info("%s: appended a [[board]] to %s", proposal.board_id, path)
        result = pipeline.ingest(spec, page, ctx, origin="add", observed_at=observed_at)
    return block, result
