"""Alerts people can trust: new events become deliveries exactly once (the outbox), leader changes can wait for
confirmation, sends are retried with backoff and end as sent or dead.

Every event that may alert is stored with `alert_pending` set, in the transaction that stores the event. The
outbox queues its deliveries and clears the flag in one transaction, so a crash anywhere means the next run picks
up where the last one stopped, an event committed late (after one with a higher id) is never skipped, and a
delivery is queued once per (event, rule, target) whatever happens. Sending is at least once: a process killed
between a successful send and recording it sends that alert again on the next run (webhooks carry an
Idempotency-Key so receivers can drop the repeat).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from . import notify
from .config import AlertSpec, BoardSpec, Settings, mask_url, scrub, url_secrets
from .errors import NotifyError
from .models import ChangeKind, Delivery, Event
from .store import Store

logger = logging.getLogger(__name__)
_LOCK = threading.Lock()


@dataclass(frozen=True)
class DispatchResult:
    """What one dispatch did."""

    queued: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0

    def summary(self) -> str | None:
        """One line for the terminal, or None when nothing happened."""
        if not (self.sent or self.failed or self.dead):
            return None
        parts = [f"{self.sent} sent"] + ([f"{self.failed} failed (will retry)"] if self.failed else []) + (
            [f"{self.dead} dead (see `tracker alerts --status dead`)"] if self.dead else [])
        return "alerts: " + ", ".join(parts)


def target_key(target: str) -> str:
    """A delivery's target identity: a hash, so secrets in the URL are never stored."""
    return hashlib.sha256(target.encode()).hexdigest()


def wanted(rule: AlertSpec, event: Event) -> bool:
    """Whether a rule alerts this event: its types and boards, plus source health at the `failures` threshold."""
    if not rule.covers(event.board):
        return False
    if event.type.value in rule.on:
        return True
    if rule.failures <= 0:
        return False
    if event.type is ChangeKind.SOURCE_FAILED:
        return event.value == rule.failures
    if event.type is ChangeKind.SOURCE_RECOVERED:
        return (event.value or 0) >= rule.failures
    return event.type is ChangeKind.SOURCE_STALE


def collect(settings: Settings, store: Store, now: datetime) -> int:
    """Queue a delivery for every new event, rule and target (once); returns how many were queued."""
    events = store.outbox.pending_events()
    if not events:
        return 0
    specs = {b.id: b for b in settings.boards}
    rows: list[dict[str, Any]] = []
    state: dict[str, str] = {}
    for e in events:
        spec = specs.get(e.board)
        if not e.notify or spec is None:
            continue
        for rule in settings.alerts:
            if not wanted(rule, e):
                continue
            status, note = "pending", None
            if e.type is ChangeKind.LEADER_CHANGED:
                margin = notify.Alert(e, spec.title, spec.url, spec.higher_is_better).margin
                if e.significant is False and not rule.ties:
                    status, note = "suppressed", ("a statistical tie (the confidence intervals overlap); set "
                                                  "ties = true on the rule to alert it")
                elif rule.min_margin and margin is not None and margin < rule.min_margin:
                    status, note = "suppressed", f"margin {margin:g} is below min_margin {rule.min_margin:g}"
                elif rule.confirm > 1:
                    status, note = "waiting", f"until the lead holds for {rule.confirm} snapshots"
                    key = _announced(rule, e.board)
                    if store.outbox.get(key) is None and key not in state:
                        state[key] = json.dumps(_previous_leader(store, e))
            rows.extend({"event_id": e.id, "rule": rule.key, "target_key": target_key(t), "target": mask_url(t),
                         "status": status, "attempts": 0, "last_error": note, "next_attempt_at": now,
                         "created_at": now} for t in rule.notify)
    return store.outbox.add(rows, state, queued=[e.id for e in events])


def _announced(rule: AlertSpec, board: str) -> str:
    return f"alerts.announced.{rule.key}.{board}"


def _previous_leader(store: Store, e: Event) -> list[str] | None:
    snap = store.snapshot(e.snapshot_id, with_rows=False) if e.snapshot_id else None
    before = store.before(snap, with_rows=False) if snap else None
    return list(before.leader_key) if before and before.leader_key else None


def confirm(settings: Settings, store: Store, now: datetime) -> None:
    """Release waiting leader changes whose new leader held for `confirm` snapshots; suppress the rest."""
    groups: dict[tuple[int, str], list[Delivery]] = defaultdict(list)
    for d in store.outbox.list(status="waiting"):
        groups[(d.event_id, d.rule)].append(d)
    rules = {r.key: r for r in settings.alerts}
    for (event_id, rule_key), items in sorted(groups.items()):
        ids = [d.id for d in items]
        rule = rules.get(rule_key)
        found = store.events(after_id=event_id - 1, limit=1)
        if rule is None or not found or found[0].id != event_id:
            store.outbox.set_status(ids, "suppressed", error="its alert rule is no longer configured")
            continue
        e = found[0]
        later = [s for s in store.history(e.board) if e.snapshot_id is not None and s.id > e.snapshot_id]
        needed = rule.confirm - 1
        if len(later) < needed:
            continue
        key = _announced(rule, e.board)
        announced = json.loads(store.outbox.get(key) or "null")
        if any(s.leader_key != e.key for s in later[:needed]):
            store.outbox.set_status(ids, "suppressed", error=f"the lead did not hold for {rule.confirm} snapshots")
        elif announced is not None and e.key is not None and list(e.key) == announced:
            store.outbox.set_status(ids, "suppressed", error=f"{e.model} is back in the lead; no change since "
                                                             f"the last alert")
        else:
            store.outbox.set_status(ids, "pending", error="", next_attempt_at=now)
            store.outbox.add([], {key: json.dumps(list(e.key) if e.key else None)})


def send_due(settings: Settings, store: Store, now: datetime) -> DispatchResult:
    """Send every pending delivery that is due, grouped per rule and target (a digest rule sends one message)."""
    targets = {(r.key, target_key(t)): (r, t) for r in settings.alerts for t in r.notify}
    specs = {b.id: b for b in settings.boards}
    groups: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
    for d in store.outbox.claim(store.worker or _me(), now, settings.schedule.lease.total_seconds()):  # pools
        groups[(d.rule, d.target_key)].append(d)
    sent = failed = dead = 0
    for key, items in groups.items():
        if key not in targets:
            store.outbox.set_status([d.id for d in items], "dead", error="target no longer configured")
            dead += len(items)
            continue
        rule, target = targets[key]
        batches = [items] if rule.digest else [[d] for d in items]
        for batch in batches:
            alerts = [a for d in batch if (a := _alert(store, d.event_id, specs)) is not None]
            try:
                if alerts:
                    _send(target, rule, alerts)
            except NotifyError as exc:
                for d in batch:
                    attempts = d.attempts + 1
                    if attempts >= rule.max_attempts:
                        store.outbox.set_status([d.id], "dead", error=str(exc), count_attempt=True)
                        dead += 1
                    else:
                        wait = timedelta(seconds=min(rule.backoff * 2 ** (attempts - 1), 6 * 3600))
                        store.outbox.set_status([d.id], "pending", error=str(exc), next_attempt_at=now + wait,
                                                count_attempt=True)
                        failed += 1
                logger.warning("alert to %s failed: %s", mask_url(target), exc)
                continue
            store.outbox.set_status([d.id for d in batch], "sent", error="", count_attempt=True)
            sent += len(batch)
    return DispatchResult(sent=sent, failed=failed, dead=dead)


def _me() -> str:
    """Who claims deliveries outside a worker pool: this host and process."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def _send(target: str, rule: AlertSpec, alerts: list[notify.Alert]) -> None:
    """Send through the target's channel; anything a channel raises becomes a NotifyError with secrets scrubbed."""
    try:
        notify.make(target, rule.secret).send(alerts, digest=rule.digest)
    except NotifyError as exc:
        raise NotifyError(scrub(str(exc), url_secrets(target))) from None
    except Exception as exc:  # a channel library's own failure costs this delivery an attempt, not the run
        raise NotifyError(scrub(f"{mask_url(target)}: {type(exc).__name__}: {exc}", url_secrets(target))) from None


def _alert(store: Store, event_id: int, specs: dict[str, BoardSpec]) -> notify.Alert | None:
    found = store.events(after_id=event_id - 1, limit=1)
    if not found:
        return None
    e = found[0]
    spec = specs.get(e.board)
    return notify.Alert(e, spec.title if spec else e.board, spec.url if spec else "", spec.higher_is_better
                        if spec else True)


def dispatch(settings: Settings, store: Store, now: datetime | None = None) -> DispatchResult:
    """Queue new events, release confirmed ones, and send what is due; one dispatch at a time per process."""
    if not settings.alerts:
        return DispatchResult()
    now = now or datetime.now(UTC)
    with _LOCK:
        queued = collect(settings, store, now)
        confirm(settings, store, now)
        result = send_due(settings, store, now)
    return DispatchResult(queued, result.sent, result.failed, result.dead)


def retry(settings: Settings, store: Store) -> DispatchResult:
    """Make pending and dead deliveries due now (dead ones start their attempts afresh), then dispatch."""
    store.outbox.requeue(datetime.now(UTC))
    return dispatch(settings, store)


def send_test(target: str, secret: str | None = None) -> None:
    """Send a test alert to a target; raises NotifyError (or ConfigError) when it cannot be delivered."""
    notify.check_targets([target])
    e = Event(id=0, type=ChangeKind.LEADER_CHANGED, board="tracker-test", observed_at=datetime.now(UTC),
              snapshot_id=None, model="Test model", key=("test model",), metric="top1", value=91.0,
              previous_model="Previous model", previous_value=90.98,
              message="tracker test: Test model (91) takes the lead from Previous model (90.98), +0.02")
    notify.make(target, secret).send([notify.Alert(e, "tracker test", "https://example.org/leaderboard")])


def deliveries(store: Store, status: str | None = None) -> list[Delivery]:
    """The outbox, oldest first (optionally one status)."""
    return store.outbox.list(status=status)


def check(settings: Settings) -> None:
    """Refuse alert targets Apprise does not understand (run when the config is loaded)."""
    notify.check_targets([t for r in settings.alerts for t in r.notify])


__all__ = ["DispatchResult", "check", "deliveries", "dispatch", "retry", "send_test"]
