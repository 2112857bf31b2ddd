"""HostGate: at most one request in flight per host, and a minimum delay between two requests to it."""

from __future__ import annotations

import threading
import time


class HostGate:
    """At most one request in flight per host, and at least `delay` seconds between two requests to it."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}
        self._guard = threading.Lock()

    def lock(self, host: str) -> threading.Lock:
        """The lock of one host."""
        with self._guard:
            return self._locks.setdefault(host, threading.Lock())

    def pause(self, host: str) -> float:
        """Seconds to wait before the host may be asked again (0 when it may be asked now)."""
        last = self._last.get(host)
        return 0.0 if last is None else max(0.0, last + self.delay - time.monotonic())

    def wait(self, host: str) -> None:
        """Sleep until the host may be asked again (call with the host's lock held)."""
        pause = self.pause(host)
        if pause > 0:
            time.sleep(pause)

    def done(self, host: str) -> None:
        """Note that a request to the host just finished."""
        self._last[host] = time.monotonic()
