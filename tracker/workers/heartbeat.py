"""Heartbeat: a thread that shows a holder is alive and renews its leases, and says when it lost the database."""

from __future__ import annotations

import logging
import threading
import time

from ..errors import StoreError
from ..store.leases import LeaseGuard
from ..store.pool import Pool

logger = logging.getLogger(__name__)


def beat_interval(ttl: float) -> float:
    """Seconds between heartbeats: a tenth of the lease, between 0.2 s and 15 s."""
    return min(max(ttl / 10, 0.2), 15.0)


def give_up_after(ttl: float) -> float:
    """Seconds without a heartbeat after which a worker stops: half the lease, between 1 s and 60 s.

    That is well before its leases can expire, so it has stopped writing before another worker may take over.
    """
    return min(max(ttl / 2, 1.0), 60.0)


class Heartbeat(threading.Thread):
    """Renews `holder`'s leases (and its worker row's heartbeat) every beat_interval(ttl) until stopped."""

    def __init__(self, pool: Pool, guard: LeaseGuard, holder: str, ttl: float) -> None:
        super().__init__(name=f"heartbeat {holder}", daemon=True)
        self.pool, self.guard, self.holder, self.ttl = pool, guard, holder, ttl
        self.halt = threading.Event()
        self.error: str | None = None
        self._last_ok = time.monotonic()

    def run(self) -> None:
        while not self.halt.wait(beat_interval(self.ttl)):
            self.beat()

    def beat(self) -> None:
        """One heartbeat; a failure is remembered (healthy() turns False), not raised."""
        before = self.guard.snapshot()
        try:
            since, still = self.pool.heartbeat(self.holder, self.ttl)
        except StoreError as exc:
            if self.error is None:
                logger.warning("%s: heartbeat failed, not claiming boards until it works again: %s", self.holder, exc)
            self.error = str(exc)
            return
        self.guard.renewed(since, before, still)
        if self.error is not None:
            logger.warning("%s: heartbeat works again", self.holder)
        self.error = None
        self._last_ok = since

    def healthy(self) -> bool:
        """Whether the last heartbeat went through."""
        return self.error is None

    def failing_for(self) -> float:
        """Seconds since the start of the last heartbeat that went through (or since this thread was made)."""
        return time.monotonic() - self._last_ok

    def stop(self) -> None:
        """Stop beating (returns at once)."""
        self.halt.set()
