"""The Fetcher protocol, and reading file:// URLs (and plain paths) into a Page."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from ..errors import FetchError
from ..models import Page


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
