"""The deadline of one document fetch and HttpFetcher.cancel(), enforced on the socket.

A per-read timeout does not bound a fetch: a server that sends one byte a second never lets a read time out.
So every fetch runs under a Watch. Connections made through a session prepared with `install()` attach
themselves to the Watch of the thread that sends the request; when the deadline passes or the fetcher is
cancelled, the Watch shuts the attached socket down, which wakes the blocked read at once, and wakes any
retry sleep. Connect and read timeouts are also clipped to the time left.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from typing import Any

import requests
import requests.adapters
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

from ..errors import Cancelled, FetchError

_current = threading.local()


class Watch:
    """The deadline and cancellation of one document fetch (robots.txt, redirects, retries and reads included)."""

    def __init__(self, url: str, deadline: float) -> None:
        self.url = url
        self.deadline = deadline
        self.ends = time.monotonic() + deadline
        self.reason: str | None = None
        self._conn: HTTPConnection | None = None
        self._lock = threading.Lock()
        self._woken = threading.Event()
        self._closed = False

    def __enter__(self) -> Watch:
        _DOG.add(self)
        _current.watch = self
        return self

    def __exit__(self, *exc: object) -> None:
        _current.watch = None
        with self._lock:
            self._closed = True
            self._conn = None

    def fire(self, reason: str) -> None:
        """Stop the fetch: `reason` is "deadline" or "cancelled"; the attached connection is shut down."""
        with self._lock:
            if self._closed:
                return
            self.reason = self.reason or reason
            self._woken.set()
            if self._conn is not None:
                _shutdown(self._conn)

    def left(self) -> float:
        """Seconds left before the deadline."""
        return self.ends - time.monotonic()

    def check(self) -> None:
        """Raise the FetchError of a fired watch (deadline passed, or cancelled); else do nothing."""
        if self.reason is None and self.left() <= 0.01:
            self.reason = "deadline"
        if self.reason == "cancelled":
            raise Cancelled(f"{self.url}: cancelled: tracker is stopping")
        if self.reason is not None:
            raise FetchError(f"{self.url}: gave up after the [fetch] deadline of {self.deadline:g}s (robots.txt, "
                             f"redirects, retries and reads included); the site is too slow, or raise [fetch] "
                             "deadline")

    def sleep(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking early when the watch fires; then check()."""
        if seconds > 0:
            self._woken.wait(min(seconds, max(self.left(), 0.0)))
        self.check()

    def timeouts(self, connect: float, read: float) -> tuple[float, float]:
        """(connect, read) timeouts clipped to the time left."""
        left = max(self.left(), 0.01)
        return min(connect, left), min(read, left)

    def attach(self, conn: HTTPConnection) -> None:
        """The connection now used for this fetch (shut down at once if the watch already fired)."""
        with self._lock:
            if self._closed:
                return
            self._conn = conn
            if self.reason is not None:
                _shutdown(conn)

    def detach(self, conn: HTTPConnection | None = None) -> None:
        """The request is over (or, given `conn`, that connection is going back to the pool): the watch lets go
        of it, so a deadline passing later never shuts down a connection another fetch has taken meanwhile."""
        with self._lock:
            if conn is None or self._conn is conn:
                self._conn = None


class _Watchdog:
    """One thread that fires every watch whose deadline passed (a timer thread per fetch cost a thread start
    per document: ~1 ms each, 5 s over 5,000 boards). Closed watches are dropped when their time comes."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, watch: Watch) -> None:
        with self._cond:
            heapq.heappush(self._heap, (watch.ends, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tracker-watchdog", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is watch:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                _, _, due = heapq.heappop(self._heap)
            due.fire("deadline")  # does nothing if the fetch is over


_DOG = _Watchdog()


def _shutdown(conn: HTTPConnection) -> None:
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, also for TLS: wakes recv()


def _attach_current(conn: HTTPConnection) -> None:
    watch: Watch | None = getattr(_current, "watch", None)
    if watch is not None:
        watch.attach(conn)
        conn._tracker_watch = watch  # type: ignore[attr-defined]  # let go of in _Released._put_conn


class _Released:
    """A pool that takes a connection back only after its watch has let go of it (under the watch's lock, so a
    firing watch either shuts the connection down while it is still this fetch's, or no longer sees it).
    urllib3 gives a connection back as soon as a body is read to its end, inside the fetch's own read."""

    def _put_conn(self, conn: Any) -> None:
        watch: Watch | None = getattr(conn, "_tracker_watch", None)
        if watch is not None:
            watch.detach(conn)
            conn._tracker_watch = None
        super()._put_conn(conn)  # type: ignore[misc]


class _WatchedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach_current(self)
        super().request(*args, **kwargs)
        _attach_current(self)  # connected now: a watch that fired while connecting shuts it down


class _WatchedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach_current(self)
        super().request(*args, **kwargs)
        _attach_current(self)


class _WatchedPool(_Released, HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(_Released, HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def _watch_pools(manager: PoolManager) -> PoolManager:
    if manager.pool_classes_by_scheme.get("http") is HTTPConnectionPool:  # not SOCKS, not someone else's
        manager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedHTTPSPool}
    return manager


class WatchedAdapter(requests.adapters.HTTPAdapter):
    """An HTTPAdapter whose connections, direct or through an HTTP(S) proxy, report to the thread's Watch."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """The pool manager, with watched connection pools."""
        super().init_poolmanager(*args, **kwargs)
        _watch_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        """The proxy's pool manager, with watched connection pools."""
        return _watch_pools(super().proxy_manager_for(proxy, **proxy_kwargs))


def install(session: requests.Session) -> None:
    """Make the session's connections report to the Watch of the requesting thread.

    Default adapters are replaced by WatchedAdapter; an adapter of the caller's own gets watched direct
    connections only (without a watched connection, a slow body is bounded by the clipped timeouts alone).
    """
    for prefix in ("http://", "https://"):
        adapter = session.adapters.get(prefix)
        if type(adapter) is requests.adapters.HTTPAdapter:
            session.mount(prefix, WatchedAdapter(max_retries=adapter.max_retries))
        elif isinstance(adapter, requests.adapters.HTTPAdapter):
            _watch_pools(adapter.poolmanager)
