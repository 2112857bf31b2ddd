"""Read-side answers built from the store: standings of a board and comparisons of two snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

from .config import BoardSpec, Settings
from .errors import TrackerError
from .judge import judge, record_of
from .models import Change, Row, Snapshot
from .normalize import apply_aliases
from .store import Store
from .timeutil import parse_when


@dataclass(frozen=True)
class Comparison:
    """What changed on a board between two snapshots."""

    board: BoardSpec
    old: Snapshot | None
    new: Snapshot | None
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Standing:
    """One entry of a board with its rank (competition ranking on the primary metric)."""

    rank: int | None
    row: Row
    leader: bool


def resolve(store: Store, spec: BoardSpec, ref: str) -> Snapshot:
    """A snapshot from REF: a snapshot id of this board, or a date/time (the latest at or before it)."""
    if ref.isdigit():
        snap = store.snapshot(int(ref))
        if snap is None or snap.board != spec.id:
            raise TrackerError(f"{spec.id}: no snapshot #{ref}; `tracker snapshots {spec.id}` lists them")
        return snap
    when = parse_when(ref)
    snap = store.snapshot_at(spec.id, when)
    if snap is None:
        raise TrackerError(f"{spec.id}: no snapshot at or before {ref}; the first one is later")
    return snap


def pick_boards(settings: Settings, names: Sequence[str]) -> list[str] | None:
    """Board ids from names and globs ('lmarena-*'); None (every board) when none are given.

    An unknown name is the configuration's usual error; a glob that matches no configured board is an error too.
    """
    if not names:
        return None
    out: list[str] = []
    for name in names:
        if any(c in name for c in "*?["):
            hits = [b.id for b in settings.boards if fnmatchcase(b.id, name)]
            if not hits:
                known = ", ".join(b.id for b in settings.boards) or "(none)"
                raise TrackerError(f"no board matches {name!r} (configured boards: {known})")
            out.extend(h for h in hits if h not in out)
        elif (board := settings.board(name).id) not in out:
            out.append(board)
    return out


def as_of(store: Store, spec: BoardSpec, when: str | None) -> Snapshot | None:
    """The board's latest snapshot, or the one in force at `when`."""
    return resolve(store, spec, when) if when else store.latest(spec.id)


def compare(store: Store, spec: BoardSpec, old_ref: str | None = None, new_ref: str | None = None,
            since: datetime | None = None) -> Comparison:
    """Changes between two snapshots (default: the last two; --since: the one in force then and the latest)."""
    new = resolve(store, spec, new_ref) if new_ref else store.latest(spec.id)
    if new is None:
        return Comparison(spec, None, None, ())
    old: Snapshot | None
    if old_ref:
        old = resolve(store, spec, old_ref)
    elif since is not None:
        old = store.snapshot_at(spec.id, since)
        if old is None:
            first = store.history(spec.id)
            old = None if not first or first[0].id == new.id else store.snapshot(first[0].id)
    else:
        old = store.before(new)
    if old is None:
        return Comparison(spec, None, new, ())
    if old.id > new.id:
        which = "--from" if old_ref else "--since"
        raise TrackerError(f"{spec.id}: {which} #{old.id} is newer than --to #{new.id}; swap them")
    verdict = judge(spec, old.rows, old.leader_key, apply_aliases(new.rows, spec),
                    record_of(store, spec, up_to=old.id))
    return Comparison(spec, old, new, verdict.changes)


def _find(snap: Snapshot) -> Row | None:
    return next((r for r in snap.rows if r.key == snap.leader_key), None) if snap.leader_key else None


def standings(spec: BoardSpec, snap: Snapshot) -> list[Standing]:
    """The snapshot's rows best first (the stored leader first on a tie), ranked on the primary metric, named
    under the board's current aliases."""
    sign = -1.0 if spec.higher_is_better else 1.0
    rows = apply_aliases(snap.rows, spec)
    lead = next((n.key for o, n in zip(snap.rows, rows, strict=True) if o.key == snap.leader_key), snap.leader_key)
    scored = [r for r in rows if r.value(spec.metric) is not None]
    unscored = [r for r in rows if r.value(spec.metric) is None]
    scored.sort(key=lambda r: (sign * (r.value(spec.metric) or 0.0), r.key != lead, r.position))
    out: list[Standing] = []
    prev: float | None = None
    rank = 0
    for i, r in enumerate(scored, start=1):
        v = r.value(spec.metric)
        if v != prev:
            rank, prev = i, v
        out.append(Standing(rank, r, r.key == lead))
    out.extend(Standing(None, r, False) for r in unscored)
    return out
