"""HttpFetcher: the polite HTTP client.

Polite means: one session and User-Agent, connect/read timeouts, retries with exponential backoff and jitter on
connection errors and 429/502/503/504 (honouring Retry-After up to a cap), conditional requests, a size cap while
streaming (decompressed bytes), robots.txt of every host fetched, and at most one request in flight per host with
a minimum delay between requests. Bounded means: the [fetch] deadline covers a whole document (robots.txt,
redirects, retries, sleeps and reads), cancel() stops every fetch at once, and redirects are followed here, at
most MAX_REDIRECTS, never from a public host into a private network (see netguard).
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import requests
from protego import Protego
from urllib3.exceptions import HTTPError as Urllib3Error

from ..config import FetchSettings
from ..errors import Cancelled, FetchError
from ..models import Page
from .base import read_file_url
from .gate import HostGate, host_key
from .netguard import RedirectGuard, Resolver, resolve
from .reasons import translate
from .render import render as render_page
from .retry import RETRY_STATUS, Failure, backoff, retry_after
from .robots import RobotsCache, read_capped
from .robots import parse as parse_robots
from .watch import Watch, install

logger = logging.getLogger(__name__)
MAX_REDIRECTS = 10
ROBOTS_REDIRECTS = 5
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})


class HttpFetcher:
    """The polite HTTP client; one instance per process, shared by the boards of a run.

    `resolver` (host -> addresses) only decides whether a redirect target is private; it defaults to
    socket.getaddrinfo and exists so tests can call a 127.0.0.1 server public.
    """

    def __init__(self, settings: FetchSettings, session: requests.Session | None = None, *,
                 resolver: Resolver = resolve) -> None:
        self.settings = settings
        self.session = session or _settled(requests.Session())
        self.session.headers["User-Agent"] = settings.user_agent
        install(self.session)
        self.gate = HostGate(settings.per_host_delay)
        self.resolver = resolver
        self.robots = RobotsCache()
        self._cancelled = threading.Event()
        self._watches: set[Watch] = set()
        self._lock = threading.Lock()

    def cancel(self) -> None:
        """Stop: fetches in flight abort within moments, and every later fetch fails at once."""
        self._cancelled.set()
        with self._lock:
            active = list(self._watches)
        for w in active:
            w.fire("cancelled")

    def limited(self, max_bytes: int) -> HttpFetcher:
        """This fetcher with another max_bytes (a board's or collection's own), sharing its session, robots
        cache, per-host gate and cancellation."""
        clone = copy.copy(self)
        clone.settings = replace(self.settings, max_bytes=max_bytes)
        return clone

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Page:
        """Fetch `url` into a Page; FetchError on network errors, HTTP errors, oversized bodies and robots.txt."""
        if not url.startswith(("http://", "https://")):
            return read_file_url(url, self.settings.max_bytes)
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        with Watch(url, self.settings.deadline) as w:
            with self._lock:
                self._watches.add(w)
            try:
                if self._cancelled.is_set():
                    w.fire("cancelled")
                w.check()
                return self._follow(url, headers, w)
            finally:
                with self._lock:
                    self._watches.discard(w)

    def render(self, url: str) -> Page:
        """The page at `url` after its scripts ran in headless Chromium (robots.txt checked first)."""
        if self._cancelled.is_set():
            raise Cancelled(f"{url}: cancelled: tracker is stopping")
        if url.startswith(("http://", "https://")) and self.settings.robots:
            with Watch(url, self.settings.deadline) as w:
                if not self.allowed(url, board_url=url, w=w):
                    raise FetchError(f"{url}: disallowed by robots.txt (set [fetch] robots = false only if you may)")
        host = host_key(url)
        with self.gate.lock(host):
            self.gate.wait(host)
            try:
                page = render_page(url, self.settings, self._cancelled)
            finally:
                self.gate.done(host)
        logger.info("Rendered: %s (%d bytes)", url, len(page.content))
        return page

    def _follow(self, url: str, headers: dict[str, str], w: Watch) -> Page:
        guard = RedirectGuard(url, self.settings.allow_private, self.resolver)
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            if self.settings.robots and not self.allowed(current, board_url=url, w=w, guard=guard):
                hop = "" if current == url else f" (redirected to {current})"
                raise FetchError(f"{url}: disallowed by robots.txt{hop} (set [fetch] robots = false only if you may)")
            answer = self._with_retries(current, headers, w)
            if isinstance(answer, Page):
                return answer
            current = guard.follow(current, answer)
        raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects; point the board at the final URL")

    def _with_retries(self, url: str, headers: dict[str, str], w: Watch) -> Page | str:
        attempt = 0
        while True:
            try:
                return self._once(url, headers, w)
            except Failure as failure:
                if not failure.retriable:
                    raise FetchError(f"{url}: {failure.reason}") from failure
                attempt += 1
                if attempt > self.settings.retries:
                    raise FetchError(f"{url}: {failure.reason} (gave up after {attempt} attempts)") from None
                wait = failure.after if failure.after is not None else backoff(self.settings, attempt)
                logger.info("retrying %s in %.1fs: %s", url, wait, failure.reason)
                w.sleep(wait)

    def _once(self, url: str, headers: dict[str, str], w: Watch) -> Page | str:
        """One GET: a Page, or the Location of a redirect; Failure when it failed."""
        started = time.monotonic()
        fetched_at = datetime.now(UTC)
        with self._request(url, headers, w) as resp:
            status = f"HTTP {resp.status_code} {resp.reason}"
            if resp.status_code in REDIRECT_STATUS:
                return _location(url, resp)
            if resp.status_code in RETRY_STATUS:
                after = retry_after(self.settings, url, resp.headers.get("Retry-After"))
                raise Failure(status, retriable=True, after=after)
            if resp.status_code == 304:
                return Page(url=url, content=b"", fetched_at=fetched_at, status=304,
                            etag=headers.get("If-None-Match"), last_modified=headers.get("If-Modified-Since"),
                            duration=time.monotonic() - started, not_modified=True)
            if resp.status_code >= 400:
                raise Failure(status)
            content = self._read(resp, url)
            content_type = resp.headers.get("Content-Type", "")
            return Page(url=url, content=content, fetched_at=fetched_at, status=resp.status_code,
                        content_type=content_type, encoding=_declared_charset(content_type),
                        etag=resp.headers.get("ETag"), last_modified=resp.headers.get("Last-Modified"),
                        duration=time.monotonic() - started)

    @contextmanager
    def _request(self, url: str, headers: dict[str, str], w: Watch) -> Iterator[requests.Response]:
        """GET `url` under the host gate and the watch; errors of the request and of reading it become Failures."""
        host = host_key(url)
        lock = self.gate.lock(host)
        if not lock.acquire(timeout=max(w.left(), 0.0)):
            w.fire("deadline")
            w.check()
        resp: requests.Response | None = None
        try:
            w.sleep(self.gate.pause(host))
            with self.session.get(url, headers=headers, stream=True, allow_redirects=False,
                                  timeout=w.timeouts(self.settings.connect_timeout, self.settings.timeout)) as resp:
                logger.info('HTTP Request: GET %s "%s %s"', url, resp.status_code, resp.reason)
                yield resp
            w.check()  # a body cut by the watch may look complete (no Content-Length): never return it
        except (requests.RequestException, Urllib3Error, OSError) as exc:
            w.check()
            raise translate(exc, self.settings.timeout, resp) from exc
        finally:
            w.detach()
            self.gate.done(host)
            lock.release()

    def _read(self, resp: requests.Response, url: str) -> bytes:
        limit = self.settings.max_bytes
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise FetchError(f"{url}: body of {declared} bytes is over max_bytes ({limit}); raise [fetch] max_bytes")
        chunks: list[bytes] = []
        total = 0
        for chunk in resp.raw.stream(64 * 1024, decode_content=True):
            total += len(chunk)
            if total > limit:
                raise FetchError(f"{url}: body is over max_bytes ({limit}, decompressed); raise [fetch] max_bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def allowed(self, url: str, *, board_url: str | None = None, w: Watch | None = None,
                guard: RedirectGuard | None = None) -> bool:
        """Whether robots.txt of the URL's host lets tracker fetch it (cached per origin for a day)."""
        parts = urlparse(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        found, rules = self.robots.get(origin)
        if not found:
            with self.robots.loading(origin):  # another board on this host may be reading it: wait, then use it
                found, rules = self.robots.get(origin)
                if not found:
                    rules = self._read_robots(origin, board_url or url, w, guard)
        return self.robots.allows(rules, url)

    def _read_robots(self, origin: str, board_url: str, w: Watch | None, guard: RedirectGuard | None) -> Protego | None:
        if w is None:
            with Watch(board_url, self.settings.deadline) as own:
                text = self._load_robots(board_url, origin, own, guard)
        else:
            text = self._load_robots(board_url, origin, w, guard)
        rules = None if text is None else parse_robots(text)
        self.robots.put(origin, rules, text)
        return rules

    def _load_robots(self, board_url: str, origin: str, w: Watch, guard: RedirectGuard | None) -> str | None:
        """The text of the origin's robots.txt; None when it has none (4xx: everything is allowed)."""
        guard = guard or RedirectGuard(board_url, self.settings.allow_private, self.resolver)
        url = origin + "/robots.txt"
        for _ in range(ROBOTS_REDIRECTS + 1):
            try:
                with self._request(url, {}, w) as resp:
                    if resp.status_code in REDIRECT_STATUS:
                        location = _location(url, resp)
                    elif resp.status_code >= 500:
                        raise FetchError(f"{board_url}: cannot read {url}: HTTP {resp.status_code} {resp.reason};"
                                         " not fetching until it answers")
                    elif resp.status_code >= 400:
                        return None  # no robots.txt: everything is allowed (RFC 9309)
                    else:
                        return read_capped(resp)
            except Failure as failure:
                raise FetchError(f"{board_url}: cannot read {url}: {failure.reason}") from None
            url = guard.follow(url, location)
        raise FetchError(f"{board_url}: cannot read {origin}/robots.txt: more than {ROBOTS_REDIRECTS} redirects")


def _settled(session: requests.Session) -> requests.Session:
    """The session, told once what requests would otherwise read from the environment at every request (~0.3 ms
    each: proxy variables, no_proxy, ~/.netrc, the CA bundle variables) when that reading cannot change its answer:
    no proxy variable is set, proxies come from the environment only (Linux, BSD), and there is no netrc file."""
    if urllib.request.getproxies is not urllib.request.getproxies_environment:
        return session  # macOS and Windows also read the system's proxy settings
    if any(name.lower().endswith("_proxy") for name in os.environ) or os.environ.get("NETRC"):
        return session
    if any((Path.home() / name).exists() for name in (".netrc", "_netrc")):
        return session
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False
    return session


def _location(url: str, resp: requests.Response) -> str:
    location = resp.headers.get("Location")
    if not location:
        raise FetchError(f"{url}: HTTP {resp.status_code} {resp.reason} without a Location header")
    return location


def _declared_charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip("\"' ")
    return None
