"""robots.txt: read at most ROBOTS_CAP bytes (decompressed), parse with Protego, cache per origin for a day.

RFC 9309 asks parsers to read at least 500 KiB; tracker stops there and parses what it read, so a gzip bomb
served as robots.txt costs at most that much memory and time. Protego understands `*` and `$` in rules
(`Disallow: /*.csv$`), which urllib.robotparser does not.
"""

from __future__ import annotations

import threading
import time

import requests
from protego import Protego

ROBOTS_CAP = 500 * 1024
ROBOTS_TTL = 24 * 3600.0
PRODUCT = "tracker"  # the user-agent token matched against robots.txt groups


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
        self._lock = threading.Lock()

    def get(self, origin: str) -> tuple[bool, Protego | None]:
        """(found, rules) for an origin; found is False when it was never read or its entry expired."""
        with self._lock:
            entry = self._rules.get(origin)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return False, None
        return True, entry[1]

    def put(self, origin: str, rules: Protego | None) -> None:
        """Remember the rules of an origin."""
        with self._lock:
            self._rules[origin] = (time.monotonic(), rules)

    @staticmethod
    def allows(rules: Protego | None, url: str) -> bool:
        """Whether the rules let tracker fetch `url` (no rules: yes)."""
        return True if rules is None else bool(rules.can_fetch(url, PRODUCT))
