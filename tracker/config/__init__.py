"""Load config.toml into frozen Settings; every default and every validation lives in this folder.

    specs.py   the frozen Settings/BoardSpec/FetchSettings/... and the allowed keys
    board.py   one [[board]] table -> BoardSpec
    collection.py  one [[collection]] table -> CollectionSpec; a generated board -> BoardSpec
    alerts.py  one [[alert]] table -> AlertSpec, and masking of target URLs
    checks.py  value checks: types, ranges, regexes, durations, cron, ${VAR} expansion
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError
from .alerts import AlertSpec, alert, mask_url, scrub, url_secrets
from .board import board, with_written_url
from .checks import check_keys, cron, duration, expand, num, string, table
from .collection import collection, generate, with_written_collection_url
from .semantics import aliases, name_key
from .specs import (
    DEFAULT_USER_AGENT,
    FETCH_KEYS,
    FIELD_TYPES,
    FORMAT_NAMES,
    SCHEDULE_KEYS,
    STORAGE_KEYS,
    TOP_KEYS,
    BoardSpec,
    CollectionSpec,
    FetchSettings,
    FieldSpec,
    ScheduleSettings,
    Settings,
)

__all__ = ["FIELD_TYPES", "FORMAT_NAMES", "AlertSpec", "BoardSpec", "CollectionSpec", "FetchSettings", "FieldSpec",
           "ScheduleSettings", "Settings", "config_path", "generate", "load", "mask_url", "name_key", "parse", "scrub",
           "url_secrets"]


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
    written = _written_urls(data.get("board"))
    written_c = _written_urls(data.get("collection"))
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
        chromium=string(fetch_t, "chromium", "[fetch]", "chromium"),
        retry_failed=duration(fetch_t["retry_failed"], "[fetch] retry_failed") if "retry_failed" in fetch_t else None,
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
        lease=duration(sched_t["lease"], "[schedule] lease") if "lease" in sched_t else timedelta(minutes=10),
    )
    boards_raw = data.get("board", [])
    if not isinstance(boards_raw, list):
        raise ConfigError("config: 'board' must be an array of tables: write [[board]], not [board]")
    global_aliases = aliases(data.get("aliases"), "[aliases]")
    boards = tuple(with_written_url(board(b, i, base, schedule, global_aliases), written[i] if i < len(written)
                                    else None, base)
                   for i, b in enumerate(boards_raw))
    seen: set[str] = set()
    for b in boards:
        if b.id in seen:
            raise ConfigError(f"board {b.id!r}: duplicate id; every [[board]] needs a unique id")
        seen.add(b.id)
    colls_raw = data.get("collection", [])
    if not isinstance(colls_raw, list):
        raise ConfigError("config: 'collection' must be an array of tables: write [[collection]], not [collection]")
    colls = tuple(with_written_collection_url(collection(c, i, base, schedule, global_aliases),
                                              written_c[i] if i < len(written_c) else None, base)
                  for i, c in enumerate(colls_raw))
    for c in colls:
        if c.id in seen:
            raise ConfigError(f"collection {c.id!r}: the id is taken by a board or another collection; ids are unique")
        seen.add(c.id)
        clash = next((b.id for b in boards if b.id.startswith(f"{c.id}-")), None)
        if clash:
            raise ConfigError(f"board {clash!r}: ids starting with '{c.id}-' belong to the boards collection "
                              f"{c.id!r} generates; rename the board or the collection")
    alerts_raw = data.get("alert", [])
    if not isinstance(alerts_raw, list):
        raise ConfigError("config: 'alert' must be an array of tables: write [[alert]], not [alert]")
    alerts = tuple(alert(a, i) for i, a in enumerate(alerts_raw))
    for i, rule in enumerate(alerts):
        for pattern in rule.boards:
            later = colls and (pattern[:1] in "*?[" or any(pattern.startswith(c.id) for c in colls))
            if boards and not later and not any(rule.covers_one(pattern, b.id) for b in boards):
                raise ConfigError(f"alert #{i + 1}: 'boards' pattern {pattern!r} matches no board (boards: "
                                  f"{', '.join(b.id for b in boards)}); fix the pattern or remove it")
    return Settings(path, _resolve_db_url(url, base), snapshots, fetch, boards, frozenset(secrets), schedule,
                    num(storage, "lock_wait", "[storage]", 10.0, low=0.0), alerts,
                    int(num(storage, "keep_failed", "[storage]", 20, low=0, high=1_000_000)), colls)


def _written_urls(tables: Any) -> list[Any]:
    """The `url` of each [[board]] or [[collection]] as written, before ${VAR} expansion."""
    return [t.get("url") if isinstance(t, Mapping) else None for t in tables] if isinstance(tables, list) else []


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


def _http_url(url: str, where: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: must start with http:// or https:// (got {url!r})")
    return url

