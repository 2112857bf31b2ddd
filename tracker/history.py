"""Looking back: the leader timeline and the record progression of a board, from its snapshots and events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .config import BoardSpec
from .diff import better
from .models import ChangeKind
from .normalize import aliased, parse_date
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
    when: datetime  # when it was published (the board's `published` field), else when it was observed
    margin: float | None
    snapshot_id: int | None
    backdated: bool = False


@dataclass(frozen=True)
class History:
    """A board's leader timeline and record progression."""

    board: BoardSpec
    leaders: tuple[Reign, ...]
    records: tuple[Record, ...]


def history(store: Store, spec: BoardSpec, since: datetime | None = None) -> History:
    """The leader timeline (consecutive snapshots with the same leader) and the record steps of a board.

    Names are shown under the current aliases. With `published`, records stand on the published-date axis (the
    observed time where a record has no date), and the step line keeps only what beat everything published before.
    """
    reigns: list[Reign] = []
    snaps = store.history(spec.id)
    for snap in snaps:
        if snap.leader_key is None or snap.leader_model is None:
            continue
        model, key = aliased(spec, snap.leader_model, snap.leader_key)
        if reigns and reigns[-1].key == key:
            last = reigns[-1]
            reigns[-1] = Reign(last.model, last.key, snap.leader_value, last.since, None)
            continue
        if reigns:
            prev = reigns[-1]
            reigns[-1] = Reign(prev.model, prev.key, prev.value, prev.since, snap.observed_at)
        reigns.append(Reign(model, key, snap.leader_value, snap.observed_at, None))
    records: list[Record] = []
    first = next((s for s in snaps if s.leader_value is not None), None)
    if first is not None and first.leader_value is not None:
        when = first.observed_at
        if spec.published:
            full = store.snapshot(first.id)
            lead = next((r for r in full.rows if r.key == first.leader_key), None) if full else None
            when = date_of(lead.fields.get(spec.published) if lead else None) or when
        records.append(Record(first.leader_value, aliased(spec, first.leader_model or "?", ())[0], when, None,
                              first.id))
    for e in store.events(spec.id, [ChangeKind.NEW_SOTA.value]):
        if e.value is None:
            continue
        margin = None
        if e.previous_value is not None:
            margin = e.value - e.previous_value if spec.higher_is_better else e.previous_value - e.value
        records.append(Record(e.value, aliased(spec, e.model or "?", ())[0], date_of(e.published) or
                              e.observed_at, margin, e.snapshot_id, e.backdated))
    if spec.published:
        records = _progression(sorted(records, key=lambda r: r.when), spec.higher_is_better)
    if since is not None:
        reigns = [r for r in reigns if r.until is None or r.until >= since]
        records = [r for r in records if r.when >= since]
    return History(spec, tuple(reigns), tuple(records))


def date_of(text: str | None) -> datetime | None:
    """An ISO date ('2024', '2024-05', '2024-05-01') as midnight UTC of its first day."""
    iso = parse_date(text)
    if not iso:
        return None
    parts = [int(p) for p in iso.split("-")] + [1, 1]
    return datetime(parts[0], parts[1], parts[2], tzinfo=UTC)


def _progression(records: list[Record], higher_is_better: bool) -> list[Record]:
    """Records in time order, keeping each that beats everything before it on that axis."""
    out: list[Record] = []
    for r in records:
        if not out or better(r.value, out[-1].value, higher_is_better):
            out.append(r)
    return out
