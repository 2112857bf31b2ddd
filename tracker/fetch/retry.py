"""When to try again: the retried statuses, the backoff with jitter, Retry-After, and the Failure of one attempt."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from ..config import FetchSettings
from ..errors import FetchError

RETRY_STATUS = frozenset({429, 502, 503, 504})


class Failure(Exception):
    """One attempt failed for `reason`; `retriable` ones are tried again after `after` seconds (None: backoff).

    Internal to HttpFetcher, which always turns it into a FetchError; it never reaches callers.
    """

    def __init__(self, reason: str, *, retriable: bool = False, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retriable = retriable
        self.after = after


def backoff(settings: FetchSettings, attempt: int) -> float:
    """Exponential backoff with jitter before retry number `attempt` (1-based), capped by max_retry_after."""
    base = settings.backoff * (2 ** (attempt - 1))
    return float(min(base * random.uniform(0.5, 1.5), settings.max_retry_after))


def retry_after(settings: FetchSettings, url: str, value: str | None) -> float | None:
    """Seconds asked by a Retry-After header (seconds or HTTP date); FetchError when over max_retry_after."""
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
    if seconds > settings.max_retry_after:
        raise FetchError(f"{url}: the server asks to retry after {seconds:.0f}s, more than [fetch] "
                         f"max_retry_after ({settings.max_retry_after:g}s); will try on the next run")
    return seconds
