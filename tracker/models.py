"""Frozen data passed between the stages: Page, Row, Snapshot, Change, Event, Fetch."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


class ChangeKind(enum.StrEnum):
    """The event types; the string values are the public `type` names."""

    ENTRY_ADDED = "entry_added"
    ENTRY_REMOVED = "entry_removed"
    ENTRY_RENAMED = "entry_renamed"
    SCORE_CHANGED = "score_changed"
    LEADER_CHANGED = "leader_changed"
    NEW_SOTA = "new_sota"
    SOURCE_FAILED = "source_failed"
    SOURCE_RECOVERED = "source_recovered"
    SOURCE_STALE = "source_stale"


@dataclass(frozen=True)
class Page:
    """One fetched document (or a 304 'not modified' answer with no body)."""

    url: str
    content: bytes
    fetched_at: datetime
    status: int = 200
    content_type: str = ""
    encoding: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    duration: float = 0.0
    not_modified: bool = False
    hint_encoding: str | None = None  # the encoding the board's last good document used (tried after UTF-8)


@dataclass(frozen=True)
class Row:
    """One normalized leaderboard entry.

    `key` is the entry's identity (canonical text of the board's key fields), `model` its display name,
    `fields` the cleaned text of every mapped field, `values` the numbers of the numeric fields
    (None where the source had no value), `position` its place in source order.
    """

    key: tuple[str, ...]
    model: str
    fields: Mapping[str, str | None]
    values: Mapping[str, float | None]
    position: int = 0

    def value(self, name: str) -> float | None:
        """The number of field `name`, or None."""
        return self.values.get(name)


@dataclass(frozen=True)
class Snapshot:
    """A stored version of a board: its rows in source order and its leader."""

    id: int
    board: str
    observed_at: datetime
    rows: tuple[Row, ...]
    content_hash: str
    raw_sha: str | None
    leader_key: tuple[str, ...] | None
    leader_model: str | None
    leader_value: float | None
    backfilled: bool = False
    row_count: int = 0


@dataclass(frozen=True)
class Change:
    """One difference between two versions of a board, before it is stored as an Event."""

    kind: ChangeKind
    model: str | None
    key: tuple[str, ...] | None
    message: str
    metric: str | None = None
    value: float | None = None
    previous_model: str | None = None
    previous_value: float | None = None
    significant: bool | None = None  # leader_changed: the new leader's interval lies beyond the previous one's
    margin: float | None = None  # leader_changed/new_sota: how far the new value is ahead (positive is better)
    published: str | None = None  # the date the leader row's result was published (board `published` field)
    backdated: bool = False  # new_sota: published before the previous record


@dataclass(frozen=True)
class Event:
    """A stored Change: what happened to a board, when, and in which snapshot."""

    id: int
    type: ChangeKind
    board: str
    observed_at: datetime
    snapshot_id: int | None
    model: str | None
    key: tuple[str, ...] | None
    metric: str | None
    value: float | None
    previous_model: str | None
    previous_value: float | None
    message: str
    backfilled: bool = False
    notify: bool = True
    significant: bool | None = None
    published: str | None = None
    backdated: bool = False
    margin: float | None = None


@dataclass(frozen=True)
class Delivery:
    """One alert in the outbox: an event for one target of one alert rule."""

    id: int
    event_id: int
    rule: str
    target: str  # the target with secrets masked
    target_key: str
    status: str  # waiting | pending | sent | dead | suppressed
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class Fetch:
    """One recorded fetch attempt of a board and its outcome."""

    id: int
    board: str
    started_at: datetime
    status: str  # "changed" | "unchanged" | "not_modified" | "failed"
    http_status: int | None
    bytes: int
    duration: float
    error: str | None
    raw_sha: str | None
    snapshot_id: int | None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    etag: str | None = None
    last_modified: str | None = None
    parse_hash: str | None = None
    origin: str = "run"
    encoding: str | None = None  # the text encoding the document was decoded with


@dataclass(frozen=True)
class BoardStatus:
    """Health and counters of one board, as `tracker boards` shows them."""

    id: str
    title: str
    url: str
    snapshots: int
    fetches: int
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    last_change_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    next_due_at: datetime | None = None
