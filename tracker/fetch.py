"""Fetchers turn a URL into a Page: HttpFetcher (requests) for http(s) and file:// URLs."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

import requests

from .config import FetchSettings
from .errors import FetchError
from .models import Page

logger = logging.getLogger(__name__)


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


class HttpFetcher:
    """GET with one requests session, timeout, User-Agent, size cap and conditional requests."""

    def __init__(self, settings: FetchSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = settings.user_agent

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Page:
        """Fetch `url` into a Page; FetchError on network errors, HTTP errors and oversized bodies."""
        if not url.startswith(("http://", "https://")):
            return read_file_url(url, self.settings.max_bytes)
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        started = time.monotonic()
        fetched_at = datetime.now(UTC)
        try:
            with self.session.get(url, headers=headers, timeout=self.settings.timeout, stream=True) as resp:
                logger.info("HTTP Request: GET %s \"%s %s\"", url, resp.status_code, resp.reason)
                if resp.status_code == 304:
                    return Page(url=url, content=b"", fetched_at=fetched_at, status=304, etag=etag,
                                last_modified=last_modified, duration=time.monotonic() - started, not_modified=True)
                if resp.status_code >= 400:
                    raise FetchError(f"{url}: HTTP {resp.status_code} {resp.reason}")
                content = self._read(resp, url)
                return Page(url=resp.url or url, content=content, fetched_at=fetched_at, status=resp.status_code,
                            content_type=resp.headers.get("Content-Type", ""),
                            encoding=_declared_charset(resp.headers.get("Content-Type", "")),
                            etag=resp.headers.get("ETag"), last_modified=resp.headers.get("Last-Modified"),
                            duration=time.monotonic() - started)
        except requests.RequestException as exc:
            raise FetchError(f"{url}: {describe(exc, self.settings.timeout)}") from exc

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


def describe(exc: requests.RequestException, timeout: float) -> str:
    """A short reason for a requests error: the innermost cause, not the whole adapter chain."""
    if isinstance(exc, requests.Timeout):
        return f"timed out (timeout {timeout:g}s); the site is slow or down, or raise [fetch] timeout"
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
