"""The worker pool's tables (migration 0005): workers, leases on jobs (boards), and the per-host gate."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .schema import Base, UTCDateTime


class WorkerRow(Base):
    """One `tracker schedule --workers` process: where it runs, and when it last showed it is alive (its runs are
    the fetch rows that name it)."""

    __tablename__ = "worker"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LeaseRow(Base):
    """A job (a board id, or later "collection:<id>"): who holds it until when, and when it is next due."""

    __tablename__ = "lease"
    job: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    plan: Mapped[str | None] = mapped_column(String(200))  # the schedule due_at was computed from
    __table_args__ = (Index("ix_lease_due", "due_at"),)


class HostGateRow(Base):
    """When the pool's last request to a host began and ended (the per_host_delay runs from the end)."""

    __tablename__ = "host_gate"
    host: Mapped[str] = mapped_column(String(300), primary_key=True)
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the last request ended
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the last request began
