"""Reading the times users type: ISO dates and times, 'now', and relative ages like '7d' or '12h'."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .errors import ConfigError

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*(?:ago)?\s*$", re.I)
# a date, or a date-time with '-' or ':' between its parts, at the start of a file name
NAME_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})"
                       r"(?:T(\d{2})[-:]?(\d{2})(?:[-:]?(\d{2}))?(Z|[+-]\d{2}(?::?\d{2})?)?)?(?!\d)", re.I)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """'30m', '6h', '2d', '1w', '2s' -> timedelta; ConfigError otherwise."""
    m = DURATION.match(text)
    if not m:
        raise ConfigError(f"{text!r} is not a duration; write a number and a unit, e.g. 30m, 6h, 2d, 1w")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2).lower()])


def parse_when(text: str, now: datetime | None = None, *, start_of_day: bool = False) -> datetime:
    """A point in time from '2025-10-30', '2025-10-30T12:00', 'now', '7d' (7 days ago); naive means UTC.

    A bare date means the end of that day, so '--as-of 2021-10-24' includes what was seen that day
    (or its start with `start_of_day`, for the lower bound of a range).
    """
    now = now or datetime.now(UTC)
    t = text.strip()
    if t.lower() == "now":
        return now
    if DURATION.match(t):
        return now - parse_duration(t)
    from dateutil import parser as dateparser  # only when a date is given

    try:
        value = dateparser.isoparse(t)
    except ValueError:
        try:
            value = dateparser.parse(t)
        except (ValueError, OverflowError):
            raise ConfigError(f"cannot read {text!r} as a date or time; use e.g. 2025-10-30, "
                              f"2025-10-30T06:00Z, now, or an age like 7d") from None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t) and not start_of_day:
        value = value.replace(hour=23, minute=59, second=59, microsecond=999999)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def observed(text: str, now: datetime | None = None) -> datetime:
    """When a saved document was seen, from a WHEN: like parse_when, but a bare date of today means now."""
    now = now or datetime.now(UTC)
    value = parse_when(text, now)
    if re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", text) and value > now and value.date() == now.date():
        return now
    return value


def name_time(name: str, now: datetime | None = None) -> datetime | None:
    """The date or date-time a file name starts with, or None.

    '2021-06-30_d10b071a.csv' is the end of that day (UTC), as a typed date is; '2024-07-13T06-00Z.json' is
    06:00 UTC; a time without a zone is UTC.
    """
    m = NAME_TIME.match(name)
    if m is None:
        return None
    day, hour, minute, second, zone = m.groups()
    text = day if hour is None else f"{day}T{hour}:{minute}:{second or '00'}{(zone or 'Z').upper()}"
    try:
        return observed(text, now)
    except ConfigError:
        return None


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, to the second."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def short(value: datetime | None) -> str:
    """'2026-11-22 06:00 UTC' for terminal output."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"
