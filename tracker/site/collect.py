"""What one board's pages show, read from the store once: the snapshot in force, its standings, the leader
timeline, the record progression, the key events and when each entry was first seen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..config import BoardSpec
from ..diff import label
from ..history import History, Reign, date_of
from ..history import history as board_history
from ..models import ChangeKind, Event, Snapshot
from ..store import Store
from ..views import Standing, standings

KEY_EVENTS = (ChangeKind.LEADER_CHANGED.value, ChangeKind.NEW_SOTA.value)
SHOWN_EVENTS = (*KEY_EVENTS, ChangeKind.ENTRY_ADDED.value)  # the events a board's files show (source health: none)
RECENT = 20  # recent leader changes and records listed on a board page


@dataclass(frozen=True)
class BoardData:
    """Everything a board's page, API file and feed show."""

    spec: BoardSpec
    snap: Snapshot
    ranked: tuple[Standing, ...]
    history: History
    key_events: tuple[Event, ...]  # leader changes and new records up to the snapshot, oldest first
    added: int  # entries added over the board's life (counted, never listed)
    first_seen: dict[tuple[str, ...], datetime]  # when each current entry was first seen (for the chart's dots)

    @property
    def leader(self) -> Standing | None:
        """The ranked leader, if any entry has a value."""
        return next((s for s in self.ranked if s.leader), None)

    @property
    def runners_up(self) -> tuple[Standing, ...]:
        """The next entries after the leader (up to four)."""
        return tuple(s for s in self.ranked if not s.leader and s.rank is not None)[:4]

    @property
    def margin(self) -> float | None:
        """The leader's lead over the runner-up (positive is better)."""
        lead = self.snap.leader_value
        other = self.runners_up[0].row.value(self.spec.metric) if self.runners_up else None
        if lead is None or other is None:
            return None
        return lead - other if self.spec.higher_is_better else other - lead

    @property
    def reign(self) -> Reign | None:
        """The current leader's stretch of the timeline."""
        return self.history.leaders[-1] if self.history.leaders else None

    @property
    def date_field(self) -> str | None:
        """The field whose dates place entries on the chart's time axis (published, else the first date field)."""
        return self.spec.published or next((f.name for f in self.spec.fields if f.type == "date"), None)

    def name(self, s: Standing) -> str:
        """An entry's display name (model plus its other key fields)."""
        return label(s.row, self.spec.key)

    def entry_time(self, s: Standing) -> datetime | None:
        """Where an entry sits on the time axis: its published date when the board has one, else first seen."""
        field = self.date_field
        when = date_of(s.row.fields.get(field)) if field else None
        return when or self.first_seen.get(s.row.key)


def collect(store: Store, spec: BoardSpec, when: datetime | None) -> BoardData | None:
    """The board as of `when` (None: its latest snapshot); None when it has no snapshot by then."""
    snap = store.snapshot_at(spec.id, when) if when is not None else store.latest(spec.id)
    if snap is None:
        return None
    hist = board_history(store, spec)
    reigns = []
    for r in hist.leaders:
        if r.since > snap.observed_at:
            break
        reigns.append(r if r.until is None or r.until <= snap.observed_at else Reign(r.model, r.key, r.value,
                                                                                         r.since, None))
    records = tuple(r for r in hist.records if r.snapshot_id is None or r.snapshot_id <= snap.id)
    hist = History(spec, tuple(reigns), records)
    events = [e for e in store.events(spec.id, SHOWN_EVENTS)
              if e.snapshot_id is None or e.snapshot_id <= snap.id]
    first = reigns[0].since if reigns else snap.observed_at
    seen: dict[tuple[str, ...], datetime] = {}
    for e in events:
        if e.type is ChangeKind.ENTRY_ADDED and e.key is not None:
            seen.setdefault(e.key, e.observed_at)
    ranked = tuple(standings(spec, snap))
    first_seen = {s.row.key: seen.get(s.row.key, first) for s in ranked}
    key = tuple(e for e in events if e.type is not ChangeKind.ENTRY_ADDED)
    return BoardData(spec, snap, ranked, hist, key, len(events) - len(key), first_seen)
