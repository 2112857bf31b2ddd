"""Looking back: the leader timeline and the record progression of a board, from its snapshots and events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .config import BoardSpec
from .models import ChangeKind
from .store import Store


@dataclass(frozen=True)
class Reign:
    """One stretch of the leader timeline: who led, with which value, from when until when (None: still)."""

    model: str
    key: tuple[str, ...]
    value: float | None
    since: datetime
    until: datetime | None


@dataclass(frozen=True)
class Record:
    """One step of the record progression: the first snapshot's best, then every new_sota."""

    value: float
    model: str
    when: datetime
    margin: float | None
    snapshot_id: int | None


@dataclass(frozen=True)
class History:
    """A board's leader timeline and record progression."""

    board: BoardSpec
    leaders: tuple[Reign, ...]
    records: tuple[Record, ...]


def history(store: Store, spec: BoardSpec, since: datetime | None = None) -> History:
    """The leader timeline (consecutive snapshots with the same leader) and the record steps of a board."""
    reigns: list[Reign] = []
    for snap in store.history(spec.id):
        if snap.leader_key is None or snap.leader_model is None:
            continue
        if reigns and reigns[-1].key == snap.leader_key:
            last = reigns[-1]
            reigns[-1] = Reign(last.model, last.key, snap.leader_value, last.since, None)
            continue
        if reigns:
            prev = reigns[-1]
            reigns[-1] = Reign(prev.model, prev.key, prev.value, prev.since, snap.observed_at)
        reigns.append(Reign(snap.leader_model, snap.leader_key, snap.leader_value, snap.observed_at, None))
    records: list[Record] = []
    first = next((s for s in store.history(spec.id) if s.leader_value is not None), None)
    if first is not None and first.leader_value is not None:
        records.append(Record(first.leader_value, first.leader_model or "?", first.observed_at, None, first.id))
    for e in store.events(spec.id, [ChangeKind.NEW_SOTA.value]):
        if e.value is None:
            continue
        margin = None
        if e.previous_value is not None:
            margin = e.value - e.previous_value if spec.higher_is_better else e.previous_value - e.value
        records.append(Record(e.value, e.model or "?", e.observed_at, margin, e.snapshot_id))
    if since is not None:
        reigns = [r for r in reigns if r.until is None or r.until >= since]
        records = [r for r in records if r.when >= since]
    return History(spec, tuple(reigns), tuple(records))
