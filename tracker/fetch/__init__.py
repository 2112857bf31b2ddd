"""Fetchers turn a URL into a Page: HttpFetcher is the polite HTTP client (requests), file:// URLs are read directly.

    base.py      the Fetcher protocol and read_file_url
    gate.py      HostGate: one request in flight per host, a minimum delay between two
    watch.py     Watch: the [fetch] deadline of one document and HttpFetcher.cancel(), enforced on the socket
    netguard.py  which addresses are private, and the redirect rule built on that
    robots.py    robots.txt: capped reads, Protego rules, a per-origin cache
    reasons.py   requests/urllib3 errors -> one short reason, and whether to retry
    http.py      HttpFetcher: GET, retries, redirects, ETag/304, size caps
    shared.py    OncePerRun: a URL shared by several boards is fetched once per run
"""

from __future__ import annotations

from .base import Fetcher, read_file_url
from .gate import HostGate
from .http import HttpFetcher
from .reasons import describe
from .shared import OncePerRun

__all__ = ["Fetcher", "HostGate", "HttpFetcher", "OncePerRun", "describe", "read_file_url"]
