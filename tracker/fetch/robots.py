"""robots.txt: read at most ROBOTS_CAP bytes (decompressed), parse with Protego, cache per origin for a day.

The cache can be given the robots.txt files a store kept from earlier runs (`preload`) and a function that keeps
each one read now (`keep`), so a run from cron reads a host's robots.txt once a day rather than once a run.

RFC 9309 asks parsers to read at least 500 KiB; tracker stops there and parses what it read, so a gzip bomb
served as robots.txt costs at most that much memory and time. Protego understands `*` and `$` in rules
(`Disallow: /*.csv$`), which urllib.robotparser does not.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import requests
from protego import Protego

ROBOTS_CAP = 500 * 1024
ROBOTS_TTL = 24 * 3600.0
PRODUCT = "tracker"  # the user-agent token matched against robots.txt groups
logger = logging.getLogger(__name__)


def read_capped(resp: requests.Response, cap: int = ROBOTS_CAP) -> str:
    """The body of a robots.txt answer, decompressed, stopping at `cap` bytes."""
    chunks: list[bytes] = []
    total = 0
    for chunk in resp.raw.stream(16 * 1024, decode_content=True):
        chunks.append(chunk[: cap - total])
        total += len(chunks[-1])
        if total >= cap:
            break
    return b"".join(chunks).decode("utf-8", errors="replace")


def parse(text: str) -> Protego:
    """The rules of a robots.txt text."""
    return Protego.parse(text)


class RobotsCache:
    """Parsed robots.txt per origin (None: no robots.txt, everything allowed), each kept for `ttl` seconds."""

    def __init__(self, ttl: float = ROBOTS_TTL) -> None:
        self.ttl = ttl
        self._rules: dict[str, tuple[float, Protego | None]] = {}
        self._texts: dict[str, tuple[float, str | None]] = {}  # preloaded, parsed when first asked for
        self._keep: Callable[[str, str | None], None] | None = None
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}
        self._key: Callable[[str], str] = str  # how origins are spelled in the cache (preload may normalise)

    def loading(self, origin: str) -> threading.Lock:
        """The lock held while an origin's robots.txt is read, so boards on one host read it once."""
        origin = self._key(origin)
        with self._lock:
            return self._loading.setdefault(origin, threading.Lock())

    def preload(self, saved: Mapping[str, tuple[datetime, str | None]],
                keep: Callable[[str, str | None], None] | None = None,
                key: Callable[[str], str] | None = None) -> None:
        """Start from robots.txt files read earlier (origin -> (when, text or None)); `keep(origin, text)` is
        called with each one read from now on (its failure is logged and costs only a read next time). `key`
        spells an origin as `saved` does (the store lower-cases the host and drops any user and password), so
        `https://Example.org` and `https://user:pw@example.org` find the entry `https://example.org`."""
        now_wall, now = datetime.now(UTC), time.monotonic()
        with self._lock:
            if key is not None:
                self._key = key
            for origin, (at, body) in saved.items():
                self._texts[self._key(origin)] = (now - (now_wall - at).total_seconds(), body)
            self._keep = keep

    def get(self, origin: str) -> tuple[bool, Protego | None]:
        """(found, rules) for an origin; found is False when it was never read or its entry expired."""
        origin = self._key(origin)
        with self._lock:
            entry = self._rules.get(origin)
            if entry is None and origin in self._texts:
                at, body = self._texts.pop(origin)
                entry = self._rules[origin] = (at, None if body is None else parse(body))
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return False, None
        return True, entry[1]

    def put(self, origin: str, rules: Protego | None, text: str | None = None) -> None:
        """Remember the rules of an origin (and keep their text, when a keeper was given)."""
        with self._lock:
            self._rules[self._key(origin)] = (time.monotonic(), rules)
            keep = self._keep
        if keep is not None:
            try:
                keep(origin, text if rules is not None else None)
            except Exception as exc:  # e.g. two workers saving one origin at once: it is read again next run
                logger.debug("could not keep the robots.txt of %s: %s", origin, exc)

    @staticmethod
    def allows(rules: Protego | None, url: str) -> bool:
        """Whether the rules let tracker fetch `url` (no rules: yes)."""
        return True if rules is None else bool(rules.can_fetch(url, PRODUCT))
