"""Outbox persistence: deliveries of (event, rule, target), events not yet queued, and small named state values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import StoreError
from ..models import Delivery, Event
from .dberror import error_text
from .queries import event_of
from .schema import DeliveryRow, EventRow, StateRow

T = TypeVar("T")
QUEUE_KEY = 0x7472616C  # "tral": the advisory lock taken while deliveries are queued (PostgreSQL)


class Outbox:
    """The store's outbox: every (event, rule, target) once, with its delivery state."""

    def __init__(self, session: sessionmaker[Session], where: str, check_lock: Callable[[], None]) -> None:
        self._session = session
        self._where = where
        self._check_lock = check_lock

    def _run(self, what: str, fn: Callable[[Session], T], *, write: bool = False) -> T:
        if write:
            self._check_lock()
        try:
            with self._session.begin() as s:
                return fn(s)
        except SQLAlchemyError as exc:
            raise StoreError(error_text(what, self._where, exc)) from exc

    def get(self, key: str) -> str | None:
        """A named state value, or None."""
        return self._run(f"reading {key}", lambda s: (r.value if (r := s.get(StateRow, key)) else None))

    def pending_events(self) -> list[Event]:
        """Events whose deliveries are not queued yet, oldest first (whatever order they were committed in)."""
        q = select(EventRow).where(EventRow.alert_pending.is_(True)).order_by(EventRow.id)
        return self._run("reading events to alert", lambda s: [event_of(r) for r in s.scalars(q)])

    def add(self, rows: Sequence[dict[str, Any]], state: dict[str, str], queued: Sequence[int] = ()) -> int:
        """Insert deliveries not already there, set state values and mark events `queued`, in one transaction."""
        def fn(s: Session) -> int:
            if s.get_bind().dialect.name == "postgresql":  # one queuer at a time across a worker pool
                s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": QUEUE_KEY})
            if queued:
                s.execute(update(EventRow).where(EventRow.id.in_(list(queued))).values(alert_pending=False))
            added = 0
            for row in rows:
                exists = s.scalar(select(DeliveryRow.id).where(
                    DeliveryRow.event_id == row["event_id"], DeliveryRow.rule == row["rule"],
                    DeliveryRow.target_key == row["target_key"]))
                if exists is None:
                    s.add(DeliveryRow(**row))
                    added += 1
            for key, value in state.items():
                current = s.get(StateRow, key)
                if current is None:
                    s.add(StateRow(key=key, value=value))
                else:
                    current.value = value
            return added
        return self._run("queueing alerts", fn, write=True)

    def claim(self, holder: str, now: datetime, ttl: float) -> list[Delivery]:
        """Claim the pending deliveries due by `now` that nobody else is sending, oldest first, until now + ttl.

        On PostgreSQL the rows are locked FOR UPDATE SKIP LOCKED, so two workers never claim the same delivery;
        a claim that expires (its sender died mid-send) makes the delivery claimable again (at least once).
        """
        q = select(DeliveryRow).where(
            DeliveryRow.status == "pending", DeliveryRow.next_attempt_at <= now,
            (DeliveryRow.claimed_until.is_(None)) | (DeliveryRow.claimed_until < now)).order_by(DeliveryRow.id)

        def fn(s: Session) -> list[Delivery]:
            pg = s.get_bind().dialect.name == "postgresql"
            rows = list(s.scalars(q.with_for_update(skip_locked=True) if pg else q))
            for r in rows:
                r.claimed_by, r.claimed_until = holder, now + timedelta(seconds=ttl)
            return [_delivery(r) for r in rows]
        return self._run("claiming alerts", fn, write=True)

    def list(self, status: str | None = None, statuses: Sequence[str] = (), due_by: datetime | None = None,
             event_id: int | None = None) -> list[Delivery]:
        """Deliveries, oldest first, filtered by status, due time or event."""
        q = select(DeliveryRow)
        if status is not None:
            q = q.where(DeliveryRow.status == status)
        if statuses:
            q = q.where(DeliveryRow.status.in_(list(statuses)))
        if due_by is not None:
            q = q.where(DeliveryRow.next_attempt_at <= due_by)
        if event_id is not None:
            q = q.where(DeliveryRow.event_id == event_id)
        return self._run("reading alerts", lambda s: [_delivery(r) for r in s.scalars(q.order_by(DeliveryRow.id))])

    def set_status(self, ids: Sequence[int], status: str, *, error: str | None = None,
                   next_attempt_at: datetime | None = None, count_attempt: bool = False) -> None:
        """Move deliveries to a status (sent sets sent_at; a failed attempt counts and records the error)."""
        if not ids:
            return
        values: dict[str, Any] = {"status": status, "claimed_by": None, "claimed_until": None}  # claim() ends
        if status == "sent":
            values["sent_at"] = datetime.now(UTC)
        if error is not None:
            values["last_error"] = error
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        if count_attempt:
            values["attempts"] = DeliveryRow.attempts + 1

        def fn(s: Session) -> None:
            s.execute(update(DeliveryRow).where(DeliveryRow.id.in_(list(ids))).values(**values))
        self._run("updating alerts", fn, write=True)

    def requeue(self, now: datetime) -> int:
        """Make dead and pending deliveries due now, with dead ones' attempts reset; returns how many."""
        def fn(s: Session) -> int:
            res = s.execute(update(DeliveryRow).where(DeliveryRow.status.in_(["dead", "pending"]))
                            .values(status="pending", next_attempt_at=now,
                                    attempts=0))
            return int(getattr(res, "rowcount", 0) or 0)
        return self._run("requeueing alerts", fn, write=True)


def _delivery(r: DeliveryRow) -> Delivery:
    return Delivery(id=r.id, event_id=r.event_id, rule=r.rule, target=r.target, target_key=r.target_key,
                    status=r.status, attempts=r.attempts, last_error=r.last_error,
                    next_attempt_at=r.next_attempt_at, created_at=r.created_at, sent_at=r.sent_at)
