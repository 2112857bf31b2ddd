"""SQLAlchemy tables of the store (private to tracker.store); every change here needs a migration in migrations/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the store's tables."""


class BoardRow(Base):
    """A configured board, as first seen."""

    __tablename__ = "board"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    collection: Mapped[str | None] = mapped_column(String(100))  # the [[collection]] that generated the board
    spec: Mapped[str | None] = mapped_column(Text)  # a generated board's parameters as JSON (collections.py)


class SnapshotRow(Base):
    """A stored version of a board; its rows are one compressed JSON blob."""

    __tablename__ = "snapshot"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    board_id: Mapped[str] = mapped_column(ForeignKey("board.id"))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime())
    content_hash: Mapped[str] = mapped_column(String(64))
    raw_sha: Mapped[str | None] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(Integer)
    leader_key: Mapped[str | None] = mapped_column(Text)
    leader_model: Mapped[str | None] = mapped_column(Text)
    leader_value: Mapped[float | None] = mapped_column(Float)
    backfilled: Mapped[bool] = mapped_column(Boolean, default=False)
    rows_blob: Mapped[bytes] = mapped_column(LargeBinary)
    __table_args__ = (Index("ix_snapshot_board", "board_id", "id"),
                      Index("ix_snapshot_board_observed", "board_id", "observed_at"))


class FetchRow(Base):
    """One fetch or import attempt and its outcome."""

    __tablename__ = "fetch"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    board_id: Mapped[str] = mapped_column(ForeignKey("board.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20))
    origin: Mapped[str] = mapped_column(String(20))
    http_status: Mapped[int | None] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    raw_sha: Mapped[str | None] = mapped_column(String(64))
    parse_hash: Mapped[str | None] = mapped_column(String(32))
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshot.id"))
    warnings: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    ref: Mapped[str | None] = mapped_column(String(300))
    encoding: Mapped[str | None] = mapped_column(String(40))
    worker: Mapped[str | None] = mapped_column(String(100))  # the pool worker (or leased run) that fetched: 0005
    __table_args__ = (Index("ix_fetch_board", "board_id", "id"), Index("ix_fetch_ref", "board_id", "ref"),
                      Index("ix_fetch_worker", "worker", "status"))  # 0005: `tracker workers` counts runs


class EventRow(Base):
    """One event: a change between snapshots, or a source-health notice."""

    __tablename__ = "event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    board_id: Mapped[str] = mapped_column(ForeignKey("board.id"))
    type: Mapped[str] = mapped_column(String(30))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshot.id"))
    fetch_id: Mapped[int | None] = mapped_column(ForeignKey("fetch.id"))
    model: Mapped[str | None] = mapped_column(Text)
    key: Mapped[str | None] = mapped_column(Text)
    metric: Mapped[str | None] = mapped_column(String(200))
    value: Mapped[float | None] = mapped_column(Float)
    previous_model: Mapped[str | None] = mapped_column(Text)
    previous_value: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    backfilled: Mapped[bool] = mapped_column(Boolean, default=False)
    notify: Mapped[bool] = mapped_column(Boolean, default=True)
    alert_pending: Mapped[bool] = mapped_column(Boolean, default=False)  # the outbox has not queued it yet
    significant: Mapped[bool | None] = mapped_column(Boolean)  # leader_changed beyond the confidence intervals
    margin: Mapped[float | None] = mapped_column(Float)  # leader_changed/new_sota: how far ahead (positive = better)
    published: Mapped[str | None] = mapped_column(String(40))  # the leader row's published date
    backdated: Mapped[bool] = mapped_column(Boolean, default=False)  # new_sota published before the record
    __table_args__ = (Index("ix_event_board", "board_id", "id"), Index("ix_event_type", "type", "id"),
                      Index("ix_event_alert_pending", "alert_pending", "id"))


class DeliveryRow(Base):
    """One (event, alert rule, target) in the outbox: waiting, pending, sent, dead or suppressed."""

    __tablename__ = "delivery"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))
    rule: Mapped[str] = mapped_column(String(40))
    target_key: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(100))  # who is sending it now (0005, outbox.claim)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the claim expires then
    __table_args__ = (UniqueConstraint("event_id", "rule", "target_key", name="uq_delivery"),
                      Index("ix_delivery_status", "status", "next_attempt_at"))


class StateRow(Base):
    """Small named values: the alert cursor, the leader last announced per rule and board."""

    __tablename__ = "state"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
