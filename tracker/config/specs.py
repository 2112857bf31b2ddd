"""The frozen configuration objects (Settings, BoardSpec, FetchSettings, ...) and the allowed keys."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ConfigError
from .alerts import AlertSpec

FORMAT_NAMES = ("csv", "html", "json", "pwc", "yaml", "parquet")
JMESPATH_FORMATS = ("json", "yaml")  # `rows` and the fields are JMESPath; "$key" names a keyed member
KEY_SOURCE = "$key"
FIELD_TYPES = ("text", "number", "date")
DEFAULT_USER_AGENT = f"tracker/{__version__} (+https://github.com/tracker-sota/tracker; leaderboard watcher)"
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

TOP_KEYS = ("storage", "fetch", "schedule", "board", "collection", "alert", "aliases")

STORAGE_KEYS = ("url", "snapshots", "lock_wait", "keep_failed")
FETCH_KEYS = ("user_agent", "timeout", "connect_timeout", "max_bytes", "retries", "backoff", "max_retry_after",
              "robots", "per_host_delay", "workers", "wayback_url", "deadline", "allow_private", "retry_failed",
              "chromium")
SCHEDULE_KEYS = ("default", "timezone", "jitter", "misfire_grace_time", "lease")
BOARD_KEYS = (
    "id", "title", "url", "format", "metric", "higher_is_better", "key", "metric_range", "min_rows",
    "max_drop", "selector", "rows", "dataset", "fields", "metrics", "exclude", "encoding", "schedule", "every",
    "stale_after", "aliases", "renames", "duplicates", "tolerance", "where", "published", "render", "wait_for",
    "member", "max_bytes",
)
# a [[collection]]: its own keys, plus board keys that every generated board inherits
COLLECTION_FORMATS = ("pwc", "json", "yaml", "csv", "html", "parquet")
COLLECTION_OWN_KEYS = ("id", "title", "url", "format", "include", "exclude", "lower_is_better", "max_bytes",
                       "boards", "name", "rows", "members", "fields", "metric", "metrics", "key", "higher_is_better")
COLLECTION_BOARD_KEYS = ("min_rows", "max_drop", "schedule", "every", "stale_after", "aliases", "renames",
                         "duplicates", "tolerance", "where", "published", "encoding", "metric_range", "selector")
RENDERERS = ("chromium",)
DUPLICATES = ("first", "best", "last")
CI_FIELDS = ("ci", "ci_lower", "ci_upper")  # role fields: a confidence interval around the primary metric
FIELD_KEYS = ("from", "type", "regex")


@dataclass(frozen=True)
class FieldSpec:
    """Where one normalized field comes from: candidate source names, its type and an optional regex."""

    name: str
    sources: tuple[str, ...]
    type: str = "text"
    regex: re.Pattern[str] | None = None


@dataclass(frozen=True)
class BoardSpec:
    """One tracked leaderboard, as configured by a [[board]] table."""

    id: str
    title: str
    url: str  # as written in the config: ${VAR} references stay unexpanded (shown, stored, alerted)
    format: str
    metric: str
    fields: tuple[FieldSpec, ...]
    higher_is_better: bool = True
    key: tuple[str, ...] = ("model",)
    metrics: tuple[str, ...] = ()
    metric_range: tuple[float, float] | None = None
    min_rows: int = 1
    max_drop: float = 0.5
    selector: str | None = None
    rows: str | None = None
    member: str | None = None  # a zip document: which member to parse (a glob; exactly one must match)
    dataset: str | None = None
    exclude: tuple[re.Pattern[str], ...] = ()
    encoding: str | None = None
    parse_hash: str = ""
    schedule: str | None = None
    every: timedelta | None = None
    interval: timedelta = timedelta(days=1)
    stale_after: timedelta = timedelta(days=3)
    aliases: tuple[tuple[str, str], ...] = ()  # (canonical form of another name, the name it stands for)
    renames: bool = True  # pair a disappeared and an appeared entry with equal numbers as one entry_renamed
    duplicates: str = "first"  # which row wins when a key repeats in one document: first | best | last
    tolerance: float = 0.0  # metric changes of at most this much are no change
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()  # keep rows whose field text is one of these
    published: str | None = None  # a date field: when the result was published (paper date)
    render: str | None = None  # "chromium": load the page in headless Chromium and parse the rendered DOM
    wait_for: str | None = None  # with render: a CSS selector the rendered page must contain
    collection: str | None = None  # the id of the [[collection]] that generated this board (None: a [[board]])
    max_bytes: int | None = None  # overrides [fetch] max_bytes (and the unpacked-size cap) for this board
    fetch_url: str = ""  # `url` with ${VAR} expanded: only ever handed to the fetcher
    secrets: tuple[tuple[str, str], ...] = ()  # (value, "${NAME}") of every ${VAR} in `url`

    def __post_init__(self) -> None:
        if not self.fetch_url:
            object.__setattr__(self, "fetch_url", self.url)

    def mask(self, text: str) -> str:
        """Text with this board's secret values (and its expanded URL) shown as written: `${NAME}`."""
        if self.fetch_url != self.url:
            text = text.replace(self.fetch_url, self.url)
        for value, name in self.secrets:
            text = text.replace(value, name)
        return text

    def field(self, name: str) -> FieldSpec:
        """The FieldSpec called `name`."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def tracked(self) -> tuple[str, ...]:
        """The metrics whose changes are events: the primary metric first, then `metrics`."""
        return (self.metric, *[m for m in self.metrics if m != self.metric])


@dataclass(frozen=True)
class ScheduleSettings:
    """When boards are due ([schedule]); a board's own `schedule` or `every` wins over `default`."""

    default: str = "0 6 * * *"
    timezone: str = "UTC"
    jitter: float = 30.0
    misfire_grace_time: float = 3600.0
    lease: timedelta = timedelta(minutes=10)  # `tracker schedule --workers`: how long a claimed board is held


@dataclass(frozen=True)
class CollectionSpec:
    """One document that holds many boards, as configured by a [[collection]] table; `template` is the table
    (after ${VAR} expansion) that every generated board starts from."""

    id: str
    title: str
    url: str
    format: str
    template: Mapping[str, Any]
    include: tuple[str, ...] = ()  # globs over generated board ids (none: all)
    exclude: tuple[str, ...] = ()
    lower_is_better: tuple[str, ...] = ()  # globs over metric names (pwc): these metrics rank lower first
    max_bytes: int | None = None
    boards: str | None = None  # json/yaml: JMESPath to the list of board objects
    name: str | None = None  # json/yaml: JMESPath to a board object's name
    members: str | None = None  # a zip document: a glob; each matching member is one board
    fetch_url: str = ""
    secrets: tuple[tuple[str, str], ...] = ()
    base: Path = Path(".")  # what generated boards need from the rest of the config
    schedule: ScheduleSettings = field(default_factory=lambda: ScheduleSettings())
    global_aliases: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.fetch_url:
            object.__setattr__(self, "fetch_url", self.url)

    def wants(self, board_id: str) -> bool:
        """Whether a generated board id passes `include` and `exclude`."""
        if self.include and not any(fnmatch.fnmatchcase(board_id, g) for g in self.include):
            return False
        return not any(fnmatch.fnmatchcase(board_id, g) for g in self.exclude)

    def lower(self, metric: str) -> bool:
        """Whether a metric name matches `lower_is_better` (case-insensitive)."""
        return any(fnmatch.fnmatchcase(metric.lower(), g.lower()) for g in self.lower_is_better)


@dataclass(frozen=True)
class FetchSettings:
    """How documents are fetched ([fetch])."""

    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 30.0
    connect_timeout: float = 10.0
    max_bytes: int = 20_000_000
    retries: int = 3
    backoff: float = 2.0
    max_retry_after: float = 120.0
    robots: bool = True
    per_host_delay: float = 1.0
    workers: int = 4
    wayback_url: str = "https://web.archive.org"
    deadline: float = 120.0  # seconds for a whole document: redirects, retries and every read included
    allow_private: bool = False  # follow redirects from public hosts to loopback/private/link-local addresses
    retry_failed: timedelta | None = None  # a board whose last run failed is due again after this (None: off)
    chromium: str = "chromium"  # the Chromium executable for boards with render = "chromium" (a name on PATH or a path)


@dataclass(frozen=True)
class Settings:
    """The whole loaded configuration."""

    path: Path | None
    storage_url: str
    snapshots_dir: Path
    fetch: FetchSettings
    boards: tuple[BoardSpec, ...]
    secrets: frozenset[str] = field(default_factory=frozenset)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    lock_wait: float = 10.0
    alerts: tuple[AlertSpec, ...] = ()
    keep_failed: int = 20  # raw documents of failed fetches kept per board by `tracker prune`
    collections: tuple[CollectionSpec, ...] = ()

    def collection(self, collection_id: str) -> CollectionSpec | None:
        """The [[collection]] called `collection_id`, or None."""
        return next((c for c in self.collections if c.id == collection_id), None)

    def board(self, board_id: str) -> BoardSpec:
        """The board called `board_id`, or a ConfigError listing the known ones."""
        for b in self.boards:
            if b.id == board_id:
                return b
        known = ", ".join(b.id for b in self.boards) or "(none)"
        raise ConfigError(f"unknown board {board_id!r} (configured boards: {known}); add a [[board]] table for it")

