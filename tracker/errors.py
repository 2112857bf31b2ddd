"""The one error tree of tracker.

    TrackerError                 anything tracker raises on purpose
    ├── ConfigError              config.toml is missing, malformed or inconsistent
    ├── FetchError               a document could not be fetched (network, HTTP status, size, robots)
    │   └── Cancelled            tracker is stopping (SIGTERM): not the source's fault, recorded as nothing
    ├── ParseError               a fetched document did not yield the rows a board expects
    ├── StoreError               the database or the snapshot archive refused an operation
    │   └── LockedError          another tracker process holds the store's lock (exit code 75)
    └── NotifyError              an alert could not be delivered

Third-party errors are translated where they happen: ``raise FetchError(f"{url}: {exc}") from exc``.
"""

from __future__ import annotations


class TrackerError(Exception):
    """Base of every error tracker raises on purpose."""


class ConfigError(TrackerError):
    """The configuration is missing, malformed or inconsistent."""


class FetchError(TrackerError):
    """A document could not be fetched."""


class Cancelled(FetchError):
    """The fetch was stopped because tracker is stopping; the source did nothing wrong."""


class ParseError(TrackerError):
    """A fetched document did not yield the rows the board expects."""


class StoreError(TrackerError):
    """The database or the snapshot archive refused an operation."""


class LockedError(StoreError):
    """Another tracker process holds the store's lock."""


class NotifyError(TrackerError):
    """An alert could not be delivered."""
