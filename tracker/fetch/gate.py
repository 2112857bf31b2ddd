"""HostGate: at most one request in flight per host, and a minimum delay between two requests to it.

In one process the gate is a lock and a clock per host. A worker pool shares it across processes and machines by
handing the gate a SharedHosts (tracker.store.hostgate.PgHosts): then a host's lock is this process's lock plus the
pool's, and the delay runs from the pool's last request to the host, whichever worker sent it.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Protocol
from urllib.parse import urlparse


class HostLock(Protocol):
    """What HostGate.lock() returns: threading.Lock's acquire/release and `with`."""

    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool:
        """Take the lock (waiting up to `timeout` seconds); False when it could not."""

    def release(self) -> None:
        """Give the lock back."""

    def __enter__(self) -> bool: ...

    def __exit__(self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None) -> None: ...


class SharedHosts(Protocol):
    """A per-host gate shared by several processes; lock, pause, done and unlock of a host come from one thread."""

    def lock(self, host: str, timeout: float) -> bool:
        """Take the shared lock of `host` within `timeout` seconds; False when that ran out."""

    def unlock(self, host: str) -> None:
        """Release it (never raises)."""

    def pause(self, host: str, delay: float) -> float:
        """Seconds until `host` may be asked again, given the last request any process made to it."""

    def done(self, host: str) -> None:
        """Record that a request to `host` just ended (never raises)."""


class _SharedLock:
    """This process's lock of a host, then the shared one."""

    def __init__(self, local: threading.Lock, shared: SharedHosts, host: str) -> None:
        self.local, self.shared, self.host = local, shared, host

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        started = time.monotonic()
        if not self.local.acquire(blocking, timeout):
            return False
        left = 0.0 if not blocking else (3600.0 if timeout < 0 else timeout - (time.monotonic() - started))
        try:
            if self.shared.lock(self.host, left):
                return True
        except BaseException:
            self.local.release()
            raise
        self.local.release()
        return False

    def release(self) -> None:
        try:
            self.shared.unlock(self.host)
        finally:
            self.local.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


class HostGate:
    """At most one request in flight per host, and at least `delay` seconds between two requests to it.

    With `shared`, both hold across every process using it (a worker pool), not only within this one.
    """

    def __init__(self, delay: float, shared: SharedHosts | None = None) -> None:
        self.delay = delay
        self.shared = shared
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}
        self._guard = threading.Lock()

    def lock(self, host: str) -> HostLock:
        """The lock of one host."""
        with self._guard:
            local = self._locks.setdefault(host, threading.Lock())
        return local if self.shared is None else _SharedLock(local, self.shared, host)

    def pause(self, host: str) -> float:
        """Seconds to wait before the host may be asked again (0 when it may be asked now; lock held)."""
        if self.shared is not None:
            return self.shared.pause(host, self.delay)
        last = self._last.get(host)
        return 0.0 if last is None else max(0.0, last + self.delay - time.monotonic())

    def wait(self, host: str) -> None:
        """Sleep until the host may be asked again (call with the host's lock held)."""
        pause = self.pause(host)
        if pause > 0:
            time.sleep(pause)

    def done(self, host: str) -> None:
        """Note that a request to the host just finished (lock held)."""
        self._last[host] = time.monotonic()
        if self.shared is not None:
            self.shared.done(host)


def host_key(url: str) -> str:
    """The host a URL's requests count against for the per-host gate and delay: lower-cased, without user or
    password, with its port only when not the scheme's default (`HTTPS://User@Example.org:443` is example.org)."""
    parts = urlparse(url)
    try:
        port = parts.port
    except ValueError:  # an unusable port: the URL fails when requested; keep its own spelling meanwhile
        return parts.netloc.lower()
    host = (parts.hostname or "").lower()
    return host if port is None or port == _DEFAULT_PORT.get(parts.scheme.lower()) else f"{host}:{port}"


_DEFAULT_PORT = {"http": 80, "https": 443}
