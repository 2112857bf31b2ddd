"""One fetch per URL per run: boards that share a URL (different `where` or `metric` on one document) get the
same Page, fetched once, without validators (every board needs the body, whatever its own ETag)."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from ..errors import FetchError
from ..models import Page
from .base import Fetcher


class OncePerRun:
    """Wraps a fetcher: each URL in `shared` is fetched once, and every caller gets that Page (or that error)."""

    def __init__(self, inner: Fetcher, shared: Iterable[str]) -> None:
        self.inner = inner
        self.shared = frozenset(shared)
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._done: dict[str, Page | FetchError] = {}

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Page:
        """The document at `url`; shared URLs are fetched by the first board that asks."""
        if url not in self.shared:
            return self.inner.fetch(url, etag=etag, last_modified=last_modified)
        with self._guard:
            lock = self._locks.setdefault(url, threading.Lock())
        with lock:
            if url not in self._done:
                try:
                    self._done[url] = self.inner.fetch(url)
                except FetchError as exc:
                    self._done[url] = exc
            outcome = self._done[url]
        if isinstance(outcome, FetchError):
            raise outcome
        return outcome

    def render(self, url: str) -> Page:
        """Rendered pages are not shared (a browser load is not a download to hand around)."""
        render = getattr(self.inner, "render", None)
        if render is None:
            raise FetchError(f"{url}: this fetcher cannot render pages")
        page: Page = render(url)
        return page

    def cancel(self) -> None:
        """Pass a stop request on to the wrapped fetcher."""
        cancel = getattr(self.inner, "cancel", None)
        if callable(cancel):
            cancel()
