"""Fetchers turn a URL into a Page: HttpFetcher is the polite HTTP client (requests), file:// URLs are read directly.

Polite means: one session and User-Agent, connect/read timeouts, retries with exponential backoff and jitter on
connection errors and 429/502/503/504 (honouring Retry-After up to a cap), conditional requests, a size cap while
streaming, robots.txt, and at most one request in flight per host with a minimum delay between requests.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import urllib.robotparser
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

import requests

from .config import FetchSettings
from .errors import FetchError
from .models import Page

logger = logging.getLogger(__name__)
RETRY_STATUS = frozenset({429, 502, 503, 504})
ROBOTS_TTL = 24 * 3600.0


class Fetcher(Protocol):
    """Anything that can fetch a URL into a Page (tests may pass their own)."""

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Page:
        """Fetch `url`; with etag/last_modified, a 304 answer gives a Page with not_modified=True."""
        ...


def read_file_url(url: str, max_bytes: int) -> Page:
    """Read a file:// URL (or a plain path) into a Page."""
    path = Path(unquote(urlparse(url).path)) if url.startswith("file://") else Path(url)
    started = time.monotonic()
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FetchError(f"{url}: {size} bytes is over max_bytes ({max_bytes}); raise [fetch] max_bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise FetchError(f"{url}: cannot read file: {exc.strerror or exc}") from exc
    return Page(url=url, content=data, fetched_at=datetime.now(UTC), duration=time.monotonic() - started)


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

    def wait(self, host: str) -> None:
        """Sleep until the host may be asked again (call with the host's lock held)."""
        last = self._last.get(host)
        if last is not None:
            pause = last + self.delay - time.monotonic()
            if pause > 0:
                time.sleep(pause)

    def done(self, host: str) -> None:
        """Note that a request to the host just finished."""
        self._last[host] = time.monotonic()


class HttpFetcher:
    """The polite HTTP client; one instance per process, shared by the boards of a run."""

    def __init__(self, settings: FetchSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = settings.user_agent
        self.gate = HostGate(settings.per_host_delay)
        self._robots: dict[str, tuple[float, urllib.robotparser.RobotFileParser | None]] = {}

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Page:
        """Fetch `url` into a Page; FetchError on network errors, HTTP errors, oversized bodies and robots.txt."""
        if not url.startswith(("http://", "https://")):
            return read_file_url(url, self.settings.max_bytes)
        if self.settings.robots and not self.allowed(url):
            raise FetchError(f"{url}: disallowed by robots.txt (set [fetch] robots = false only if you may)")
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempt = 0
        while True:
            try:
                return self._once(url, headers)
            except _Retry as retry:
                attempt += 1
                if attempt > self.settings.retries:
                    raise FetchError(f"{url}: {retry.reason} (gave up after {attempt} attempts)") from None
                wait = retry.after if retry.after is not None else self._backoff(attempt)
                logger.info("retrying %s in %.1fs: %s", url, wait, retry.reason)
                time.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        base = self.settings.backoff * (2 ** (attempt - 1))
        return float(min(base * random.uniform(0.5, 1.5), self.settings.max_retry_after))

    def _once(self, url: str, headers: dict[str, str]) -> Page:
        host = urlparse(url).netloc
        with self.gate.lock(host):
            self.gate.wait(host)
            started = time.monotonic()
            fetched_at = datetime.now(UTC)
            try:
                with self.session.get(url, headers=headers, stream=True,
                                      timeout=(self.settings.connect_timeout, self.settings.timeout)) as resp:
                    logger.info('HTTP Request: GET %s "%s %s"', url, resp.status_code, resp.reason)
                    if resp.status_code in RETRY_STATUS:
                        raise _Retry(f"HTTP {resp.status_code} {resp.reason}",
                                     self._retry_after(url, resp.headers.get("Retry-After")))
                    if resp.status_code == 304:
                        return Page(url=url, content=b"", fetched_at=fetched_at, status=304, etag=headers.get(
                            "If-None-Match"), last_modified=headers.get("If-Modified-Since"),
                            duration=time.monotonic() - started, not_modified=True)
                    if resp.status_code >= 400:
                        raise FetchError(f"{url}: HTTP {resp.status_code} {resp.reason}")
                    content = self._read(resp, url)
                    return Page(url=resp.url or url, content=content, fetched_at=fetched_at, status=resp.status_code,
                                content_type=resp.headers.get("Content-Type", ""),
                                encoding=_declared_charset(resp.headers.get("Content-Type", "")),
                                etag=resp.headers.get("ETag"), last_modified=resp.headers.get("Last-Modified"),
                                duration=time.monotonic() - started)
            except requests.ConnectionError as exc:
                if isinstance(exc, requests.ReadTimeout):
                    raise FetchError(f"{url}: {describe(exc, self.settings.timeout)}") from exc
                raise _Retry(describe(exc, self.settings.timeout), None) from exc
            except requests.RequestException as exc:
                raise FetchError(f"{url}: {describe(exc, self.settings.timeout)}") from exc
            finally:
                self.gate.done(host)

    def _retry_after(self, url: str, value: str | None) -> float | None:
        if not value:
            return None
        value = value.strip()
        if value.isdigit():
            seconds = float(value)
        else:
            try:
                seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
            except (TypeError, ValueError):
                return None
        seconds = max(0.0, seconds)
        if seconds > self.settings.max_retry_after:
            raise FetchError(f"{url}: the server asks to retry after {seconds:.0f}s, more than [fetch] "
                             f"max_retry_after ({self.settings.max_retry_after:g}s); will try on the next run")
        return seconds

    def _read(self, resp: requests.Response, url: str) -> bytes:
        limit = self.settings.max_bytes
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise FetchError(f"{url}: body of {declared} bytes is over max_bytes ({limit}); raise [fetch] max_bytes")
        chunks: list[bytes] = []
        total = 0
        for chunk in resp.iter_content(64 * 1024):
            total += len(chunk)
            if total > limit:
                raise FetchError(f"{url}: body is over max_bytes ({limit}); raise [fetch] max_bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def allowed(self, url: str) -> bool:
        """Whether robots.txt of the URL's host lets tracker fetch it (cached per host for a day)."""
        parts = urlparse(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        cached = self._robots.get(origin)
        if cached is None or time.monotonic() - cached[0] > ROBOTS_TTL:
            cached = (time.monotonic(), self._load_robots(origin))
            self._robots[origin] = cached
        parser = cached[1]
        return True if parser is None else parser.can_fetch("tracker", url)

    def _load_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | None:
        url = origin + "/robots.txt"
        host = urlparse(url).netloc
        with self.gate.lock(host):
            self.gate.wait(host)
            try:
                resp = self.session.get(url, timeout=(self.settings.connect_timeout, self.settings.timeout))
            except requests.RequestException as exc:
                raise FetchError(f"{url}: cannot read robots.txt: {describe(exc, self.settings.timeout)}") from exc
            finally:
                self.gate.done(host)
        logger.info('HTTP Request: GET %s "%s %s"', url, resp.status_code, resp.reason)
        if resp.status_code >= 500:
            raise FetchError(f"{url}: robots.txt answered HTTP {resp.status_code}; not fetching until it answers")
        if resp.status_code >= 400:
            return None  # no robots.txt: everything is allowed (RFC 9309)
        parser = urllib.robotparser.RobotFileParser(url)
        parser.parse(resp.text.splitlines())
        return parser


class _Retry(Exception):
    """A transient failure: retry after `after` seconds, or after the backoff when None."""

    def __init__(self, reason: str, after: float | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after


def describe(exc: requests.RequestException, timeout: float) -> str:
    """A short reason for a requests error: the innermost cause, not the whole adapter chain."""
    if isinstance(exc, requests.ReadTimeout):
        return f"read timed out after {timeout:g}s; the site is slow or down, or raise [fetch] timeout"
    if isinstance(exc, requests.Timeout):
        return "timed out connecting; the site is down or unreachable"
    if isinstance(exc, requests.ConnectionError):
        cause: BaseException = exc
        while cause.__context__ is not None or cause.__cause__ is not None:
            cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
        reason = str(cause).split("] ", 1)[-1] if str(cause) else type(cause).__name__
        return f"cannot connect ({reason}); check the URL and the network"
    if isinstance(exc, requests.TooManyRedirects):
        return "too many redirects"
    return f"{type(exc).__name__}: {exc}"


def _declared_charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip("\"' ")
    return None
