"""Load config.toml into frozen Settings; every default and every validation lives here."""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import cssselect
import jmespath
import jmespath.exceptions

from . import __version__
from ._checks import (
    ENV_REF,
    check_keys,
    cron,
    cron_interval,
    duration,
    expand,
    num,
    regex,
    str_list,
    string,
    table,
)
from ._config_alerts import AlertSpec, alert, mask_url
from .errors import ConfigError

__all__ = ["AlertSpec", "BoardSpec", "FetchSettings", "FieldSpec", "ScheduleSettings", "Settings", "config_path",
           "load", "mask_url", "parse"]

FORMAT_NAMES = ("csv", "html", "json", "pwc")
FIELD_TYPES = ("text", "number", "date")
DEFAULT_USER_AGENT = f"tracker/{__version__} (+https://github.com/tracker-sota/tracker; leaderboard watcher)"
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

TOP_KEYS = ("storage", "fetch", "schedule", "board", "alert")

STORAGE_KEYS = ("url", "snapshots", "lock_wait", "keep_failed")
FETCH_KEYS = ("user_agent", "timeout", "connect_timeout", "max_bytes", "retries", "backoff", "max_retry_after",
              "robots", "per_host_delay", "workers", "wayback_url", "deadline", "allow_private")
SCHEDULE_KEYS = ("default", "timezone", "jitter", "misfire_grace_time")
BOARD_KEYS = (
    "id", "title", "url", "format", "metric", "higher_is_better", "key", "metric_range", "min_rows",
    "max_drop", "selector", "rows", "dataset", "fields", "metrics", "exclude", "encoding", "schedule", "every",
    "stale_after",
)
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
    dataset: str | None = None
    exclude: tuple[re.Pattern[str], ...] = ()
    encoding: str | None = None
    parse_hash: str = ""
    schedule: str | None = None
    every: timedelta | None = None
    interval: timedelta = timedelta(days=1)
    stale_after: timedelta = timedelta(days=3)
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


@dataclass(frozen=True)
class ScheduleSettings:
    """When boards are due ([schedule]); a board's own `schedule` or `every` wins over `default`."""

    default: str = "0 6 * * *"
    timezone: str = "UTC"
    jitter: float = 30.0
    misfire_grace_time: float = 3600.0


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

    def board(self, board_id: str) -> BoardSpec:
        """The board called `board_id`, or a ConfigError listing the known ones."""
        for b in self.boards:
            if b.id == board_id:
                return b
        known = ", ".join(b.id for b in self.boards) or "(none)"
        raise ConfigError(f"unknown board {board_id!r} (configured boards: {known}); add a [[board]] table for it")


def config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """The config file to use: --config, else $TRACKER_CONFIG, else ./config.toml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("TRACKER_CONFIG")
    return Path(env) if env else Path("config.toml")


def load(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate a config file; raise ConfigError naming the key and the fix."""
    p = config_path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file {p} not found; pass --config PATH, set TRACKER_CONFIG, or create ./config.toml"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
    return parse(data, base=p.resolve().parent, path=p)


def parse(data: Mapping[str, Any], *, base: Path, path: Path | None = None) -> Settings:
    """Validate a decoded config mapping; relative paths resolve against `base`."""
    secrets: set[str] = set()
    raw_boards = data.get("board")
    written = [b.get("url") if isinstance(b, Mapping) else None for b in raw_boards] \
        if isinstance(raw_boards, list) else []
    data = expand(data, "", secrets)
    check_keys(data, TOP_KEYS, "config")
    storage = table(data, "storage")
    check_keys(storage, STORAGE_KEYS, "[storage]")
    url = os.environ.get("TRACKER_DATABASE_URL") or string(storage, "url", "[storage]", "sqlite:///tracker.db")
    snapshots = base / string(storage, "snapshots", "[storage]", "snapshots")
    fetch_t = table(data, "fetch")
    check_keys(fetch_t, FETCH_KEYS, "[fetch]")
    robots, allow_private = (_flag(fetch_t, k, "[fetch]", d) for k, d in (("robots", True), ("allow_private", False)))
    fetch = FetchSettings(
        user_agent=string(fetch_t, "user_agent", "[fetch]", DEFAULT_USER_AGENT),
        timeout=num(fetch_t, "timeout", "[fetch]", 30.0, low=0.1),
        connect_timeout=num(fetch_t, "connect_timeout", "[fetch]", 10.0, low=0.1),
        max_bytes=int(num(fetch_t, "max_bytes", "[fetch]", 20_000_000, low=1)),
        retries=int(num(fetch_t, "retries", "[fetch]", 3, low=0, high=10)),
        backoff=num(fetch_t, "backoff", "[fetch]", 2.0, low=0.0),
        max_retry_after=num(fetch_t, "max_retry_after", "[fetch]", 120.0, low=0.0),
        robots=robots,
        per_host_delay=num(fetch_t, "per_host_delay", "[fetch]", 1.0, low=0.0),
        workers=int(num(fetch_t, "workers", "[fetch]", 4, low=1, high=64)),
        wayback_url=_http_url(string(fetch_t, "wayback_url", "[fetch]", "https://web.archive.org"),
                              "[fetch] wayback_url").rstrip("/"),
        deadline=num(fetch_t, "deadline", "[fetch]", 120.0, low=1.0),
        allow_private=allow_private,
    )
    sched_t = table(data, "schedule")
    check_keys(sched_t, SCHEDULE_KEYS, "[schedule]")
    tz = string(sched_t, "timezone", "[schedule]", "UTC")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"[schedule]: unknown timezone {tz!r}; use an IANA name such as UTC or "
                          f"Europe/Paris") from None
    schedule = ScheduleSettings(
        default=cron(string(sched_t, "default", "[schedule]", "0 6 * * *"), "[schedule] default", tz),
        timezone=tz,
        jitter=num(sched_t, "jitter", "[schedule]", 30.0, low=0.0),
        misfire_grace_time=num(sched_t, "misfire_grace_time", "[schedule]", 3600.0, low=1.0),
    )
    boards_raw = data.get("board", [])
    if not isinstance(boards_raw, list):
        raise ConfigError("config: 'board' must be an array of tables: write [[board]], not [board]")
    boards = tuple(_with_written_url(_board(b, i, base, schedule), written[i] if i < len(written) else None, base)
                   for i, b in enumerate(boards_raw))
    seen: set[str] = set()
    for b in boards:
        if b.id in seen:
            raise ConfigError(f"board {b.id!r}: duplicate id; every [[board]] needs a unique id")
        seen.add(b.id)
    alerts_raw = data.get("alert", [])
    if not isinstance(alerts_raw, list):
        raise ConfigError("config: 'alert' must be an array of tables: write [[alert]], not [alert]")
    alerts = tuple(alert(a, i) for i, a in enumerate(alerts_raw))
    return Settings(path, _resolve_db_url(url, base), snapshots, fetch, boards, frozenset(secrets), schedule,
                    num(storage, "lock_wait", "[storage]", 10.0, low=0.0), alerts,
                    int(num(storage, "keep_failed", "[storage]", 20, low=0, high=1_000_000)))


def _flag(t: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = t.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: '{key}' must be true or false")
    return value


def _resolve_db_url(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://":
        rest = url[len(prefix):]
        if rest and not rest.startswith(":memory:"):
            return prefix + str((base / rest).resolve())
    return url


def _with_written_url(spec: BoardSpec, written: Any, base: Path) -> BoardSpec:
    """Keep the board's url as written (${VAR} unexpanded) for display and storage; fetch the expanded one."""
    if not isinstance(written, str) or not ENV_REF.search(written):
        return spec
    pairs = tuple((os.environ[m.group(1)], m.group(0)) for m in ENV_REF.finditer(written) if os.environ.get(m.group(1)))
    shown = _resolve_url(written, f"board {spec.id!r}", base)
    return replace(spec, url=shown, fetch_url=spec.url, secrets=tuple(sorted(set(pairs), key=lambda p: -len(p[0]))))


def _http_url(url: str, where: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: must start with http:// or https:// (got {url!r})")
    return url


def _resolve_url(url: str, where: str, base: Path) -> str:
    if url.startswith(("http://", "https://")):
        return url
    if url.startswith("file://"):
        p = Path(url[len("file://"):])
        return url if p.is_absolute() else "file://" + str((base / p).resolve())
    raise ConfigError(f"{where}: 'url' must start with http://, https:// or file:// (got {url!r})")


def _field(name: str, raw: Any, where: str, numeric: bool) -> FieldSpec:
    default_type = "number" if numeric else "text"
    if isinstance(raw, str | list):
        return FieldSpec(name, str_list({"from": raw}, "from", f"{where}.fields.{name}", ()), default_type)
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}.fields.{name}: must be a string, a list of candidates, or a table "
                          f"{{from = ..., type = ..., regex = ...}}")
    w = f"{where}.fields.{name}"
    check_keys(raw, FIELD_KEYS, w)
    sources = str_list(raw, "from", w, (name,))
    ftype = raw.get("type", default_type)
    if ftype not in FIELD_TYPES:
        raise ConfigError(f"{w}: unknown type {ftype!r} (allowed: {', '.join(FIELD_TYPES)})")
    pattern = regex(raw["regex"], f"{w}.regex") if "regex" in raw else None
    return FieldSpec(name, sources, ftype, pattern)


def _board(raw: Any, index: int, base: Path, sched: ScheduleSettings | None = None) -> BoardSpec:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"board #{index + 1}: must be a table")
    bid = raw.get("id")
    if not isinstance(bid, str) or not SLUG.match(bid):
        raise ConfigError(f"board #{index + 1}: 'id' must be a slug (lowercase letters, digits, '.', '_', '-'), "
                          f"got {bid!r}")
    w = f"board {bid!r}"
    check_keys(raw, BOARD_KEYS, w)
    fmt = raw.get("format")
    if fmt not in FORMAT_NAMES:
        raise ConfigError(f"{w}: unknown format {fmt!r} (allowed: {', '.join(FORMAT_NAMES)})")
    fields_raw = raw.get("fields")
    if not isinstance(fields_raw, Mapping) or not fields_raw:
        raise ConfigError(f"{w}: needs a [board.fields] table mapping normalized fields to source columns")
    metric = string(raw, "metric", w)
    metrics = str_list(raw, "metrics", w, ())
    key = str_list(raw, "key", w, ("model",))
    names = list(fields_raw)
    for what, items in (("metric", (metric,)), ("key", key), ("metrics", metrics)):
        for item in items:
            if item not in fields_raw:
                raise ConfigError(f"{w}: '{what}' names {item!r}, which is not a field "
                                  f"(fields: {', '.join(names)})")
    fields = tuple(_field(n, r, w, n in (metric, *metrics)) for n, r in fields_raw.items())
    for f in fields:
        if f.name in (metric, *metrics) and f.type != "number":
            raise ConfigError(f"{w}.fields.{f.name}: a metric must have type 'number'")
    hib = raw.get("higher_is_better", True)
    if not isinstance(hib, bool):
        raise ConfigError(f"{w}: 'higher_is_better' must be true or false")
    mr = raw.get("metric_range")
    metric_range = None
    if mr is not None:
        if (not isinstance(mr, list) or len(mr) != 2
                or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in mr) or mr[0] > mr[1]):
            raise ConfigError(f"{w}: 'metric_range' must be [low, high] with low <= high")
        metric_range = (float(mr[0]), float(mr[1]))
    selector = raw.get("selector")
    if selector is not None:
        if fmt != "html":
            raise ConfigError(f"{w}: 'selector' applies to format 'html' only")
        try:
            cssselect.GenericTranslator().css_to_xpath(selector)
        except (cssselect.SelectorError, TypeError) as exc:
            raise ConfigError(f"{w}: bad CSS selector {selector!r}: {exc}") from exc
    rows = raw.get("rows")
    if rows is not None and fmt != "json":
        raise ConfigError(f"{w}: 'rows' (a JMESPath) applies to format 'json' only")
    if fmt == "json":
        for expr, where in [(rows, f"{w}.rows")] + [(s, f"{w}.fields.{f.name}") for f in fields for s in f.sources]:
            if expr is None:
                continue
            try:
                jmespath.compile(expr)
            except jmespath.exceptions.JMESPathError as exc:
                raise ConfigError(f"{where}: bad JMESPath {expr!r}: {exc}") from exc
    dataset = raw.get("dataset")
    if fmt == "pwc" and not isinstance(dataset, str):
        raise ConfigError(f"{w}: format 'pwc' needs 'dataset' (the dataset name in the task JSON, e.g. \"SQuAD2.0\")")
    if dataset is not None and fmt != "pwc":
        raise ConfigError(f"{w}: 'dataset' applies to format 'pwc' only")
    exclude = tuple(regex(p, f"{w}.exclude") for p in str_list(raw, "exclude", w, ()))
    encoding = raw.get("encoding")
    if encoding is not None:
        if not isinstance(encoding, str):
            raise ConfigError(f"{w}: 'encoding' must be a string such as \"utf-8\"")
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise ConfigError(f"{w}: unknown encoding {encoding!r}; use a Python codec name such as \"utf-8\", "
                              f"\"latin-1\" or \"cp1252\"") from None
    sched = sched or ScheduleSettings()
    crontab = raw.get("schedule")
    every = duration(raw["every"], f"{w}.every") if "every" in raw else None
    if crontab is not None and every is not None:
        raise ConfigError(f"{w}: give 'schedule' (cron) or 'every' (interval), not both")
    if crontab is not None:
        if not isinstance(crontab, str):
            raise ConfigError(f"{w}: 'schedule' must be a cron expression string")
        cron(crontab, f"{w}.schedule", sched.timezone)
    interval = every or cron_interval(crontab or sched.default, sched.timezone)
    stale_after = duration(raw["stale_after"], f"{w}.stale_after") if "stale_after" in raw else 3 * interval
    parse_keys = ("format", "metric", "metrics", "key", "metric_range", "selector", "rows", "dataset", "fields",
                  "exclude", "encoding", "higher_is_better")
    parse_hash = hashlib.sha256(
        json.dumps({k: raw.get(k) for k in parse_keys}, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return BoardSpec(
        id=bid,
        title=string(raw, "title", w, bid),
        url=_resolve_url(string(raw, "url", w), w, base),
        format=fmt,
        metric=metric,
        fields=fields,
        higher_is_better=hib,
        key=key,
        metrics=metrics,
        metric_range=metric_range,
        min_rows=int(num(raw, "min_rows", w, 1, low=0)),
        max_drop=num(raw, "max_drop", w, 0.5, low=0.0, high=1.0),
        selector=selector,
        rows=rows,
        dataset=dataset,
        exclude=exclude,
        encoding=encoding,
        parse_hash=parse_hash,
        schedule=crontab,
        every=every,
        interval=interval,
        stale_after=stale_after,
    )
