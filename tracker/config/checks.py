"""Checks for config values: types, ranges, regexes, durations, cron expressions, ${VAR} expansion."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from ..errors import ConfigError
from ..timeutil import DURATION, parse_duration
from . import crontab

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def cron(expr: str, where: str, tz: str) -> str:
    """A valid five-field cron expression, or a ConfigError with an example."""
    try:
        crontab.check(expr)
    except ValueError as exc:
        raise ConfigError(f"{where}: bad cron expression {expr!r}: {exc} (five fields: minute hour day month "
                          f"day-of-week, e.g. \"0 */6 * * *\")") from None
    return expr


@functools.lru_cache(maxsize=256)
def cron_interval(expr: str, tz: str) -> timedelta:
    """The shortest gap between two fire times of a cron expression over the next few firings (remembered: a
    collection's thousands of boards share one schedule)."""
    return crontab.shortest_gap(expr, tz)


def expand(value: Any, where: str, secrets: set[str]) -> Any:
    """Replace ${VAR} in every string with the environment's value; remember them as secrets."""
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in os.environ:
                raise ConfigError(f"{where or 'config'}: environment variable {name} is not set; export it (in "
                                  f"the cron job's or service's environment too)")
            secrets.add(os.environ[name])
            return os.environ[name]
        return ENV_REF.sub(sub, value)
    if isinstance(value, Mapping):
        return {k: expand(v, f"{where}.{k}" if where else str(k), secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, _item(where, i, v), secrets) for i, v in enumerate(value)]
    return value


def _item(where: str, index: int, value: Any) -> str:
    """How a list item is named in messages: `board 'imagenet'` for a table with an id, else `alert #2`."""
    if isinstance(value, Mapping) and where in ("board", "alert"):
        ident = value.get("id")
        return f"{where} {ident!r}" if isinstance(ident, str) else f"{where} #{index + 1}"
    return where


def check_keys(table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    """Refuse keys of a table that are not in `allowed`, listing the allowed ones."""
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(allowed)})")


def table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The sub-table `name`, or an empty one."""
    t = data.get(name, {})
    if not isinstance(t, Mapping):
        raise ConfigError(f"config: [{name}] must be a table")
    return t


def string(t: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    """A non-empty string value (or the default)."""
    v = t.get(key, default)
    if not isinstance(v, str) or not v:
        raise ConfigError(f"{where}: '{key}' must be a non-empty string")
    return v


def num(t: Mapping[str, Any], key: str, where: str, default: float, *, low: float | None = None,
         high: float | None = None) -> float:
    """A number value within [low, high] (or the default)."""
    v = t.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError(f"{where}: '{key}' must be a number, got {v!r}")
    if (low is not None and v < low) or (high is not None and v > high):
        bound = (f"between {low:g} and {high:g}" if low is not None and high is not None
                 else f"at least {low:g}" if low is not None else f"at most {high:g}")
        raise ConfigError(f"{where}: '{key}' = {v} is out of range; it must be {bound}")
    return float(v)


def str_list(t: Mapping[str, Any], key: str, where: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A string or list of strings, as a tuple."""
    v = t.get(key, list(default))
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise ConfigError(f"{where}: '{key}' must be a string or a list of strings")
    if not v and key in t:
        raise ConfigError(f"{where}: '{key}' is an empty list; name at least one")
    return tuple(v)


def regex(pattern: Any, where: str) -> re.Pattern[str]:
    """A compiled regular expression, or a ConfigError naming where it was."""
    if not isinstance(pattern, str):
        raise ConfigError(f"{where}: must be a regular expression string")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{where}: bad regular expression {pattern!r}: {exc}") from exc


def duration(raw: Any, where: str) -> timedelta:
    """A duration like '30m', '6h', '2d', '1w' or '2s' (the same reading as `timeutil.parse_duration`)."""
    if not isinstance(raw, str) or not DURATION.match(raw):
        raise ConfigError(f"{where}: {raw!r} is not a duration; write a number and a unit: 30m, 6h, 2d, 1w, 2s")
    value = parse_duration(raw)
    if value.total_seconds() <= 0:
        raise ConfigError(f"{where}: must be longer than zero")
    return value
