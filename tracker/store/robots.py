"""robots.txt as last read, per origin (migration 0007), so that a run from cron does not read every host's
robots.txt again: the fetcher is given the entries younger than its cache's lifetime (a day, as RFC 9309 allows)
when a run starts, and writes back each one it reads.

The origin is `scheme://host[:port]` without any user or password, so no secret of a board URL is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .core import Store
from .schema import Base, UTCDateTime


class RobotsRow(Base):
    """An origin's robots.txt (None: it has none) and when it was read."""

    __tablename__ = "robots_txt"
    origin: Mapped[str] = mapped_column(String(300), primary_key=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[str | None] = mapped_column(Text)


def origin_key(origin: str) -> str:
    """`scheme://host[:port]` of a URL or origin, without credentials."""
    parts = urlsplit(origin)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port is not None else "")


def recent(store: Store, max_age: timedelta, now: datetime | None = None) -> dict[str, tuple[datetime, str | None]]:
    """Every origin's robots.txt read within `max_age`: origin -> (when, body or None)."""
    since = (now or datetime.now(UTC)) - max_age

    def fn(s: Session) -> dict[str, tuple[datetime, str | None]]:
        q = select(RobotsRow.origin, RobotsRow.fetched_at, RobotsRow.body).where(RobotsRow.fetched_at >= since)
        return {o: (at, body) for o, at, body in s.execute(q)}
    return store._run("reading the saved robots.txt files", fn)


def save(store: Store, origin: str, body: str | None, when: datetime | None = None) -> None:
    """Remember an origin's robots.txt (None: it has none)."""
    key = origin_key(origin)
    at = when or datetime.now(UTC)

    def fn(s: Session) -> None:
        row = s.get(RobotsRow, key)
        if row is None:
            s.add(RobotsRow(origin=key, fetched_at=at, body=body))
        else:
            row.fetched_at, row.body = at, body
    store._run(f"saving the robots.txt of {key}", fn, write=True)
