"""How a board's config turns into comparison rules, and one comparison of two versions: the leader, renames
and changes. Used by the pipeline (storing) and the views (`tracker diff`), so both judge alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from .config import BoardSpec, name_key
from .diff import Key, Record, Rules, diff, find_renames, leader, parse_interval
from .models import Change, ChangeKind, Row
from .normalize import apply_aliases
from .store import Store
from .store.codec import gc_paused


def rules(spec: BoardSpec) -> Rules:
    """The comparison rules of a board."""
    names = {f.name for f in spec.fields}
    interval = None
    if "ci" in names:
        def interval(row: Row) -> tuple[float, float] | None:
            return parse_interval(row.fields.get("ci"), row.value(spec.metric))
    elif {"ci_lower", "ci_upper"} <= names:
        def interval(row: Row) -> tuple[float, float] | None:
            lo, hi = row.value("ci_lower"), row.value("ci_upper")
            return (lo, hi) if lo is not None and hi is not None else None
    return Rules(spec.metric, spec.tracked, spec.higher_is_better, spec.tolerance, spec.key, interval,
                 spec.published)


@dataclass(frozen=True)
class Judgement:
    """The outcome of comparing a new version with the previous one."""

    leader: Row | None
    changes: tuple[Change, ...]
    renames: dict[Key, Key]


def judge(spec: BoardSpec, prev: Sequence[Row] | None, prev_leader_key: Key | None, curr: Sequence[Row],
          record: Record | None) -> Judgement:
    """The new leader and the changes from `prev` (None for a baseline) to `curr`, with the board's rules.

    The current aliases apply to both sides, so adding an alias never creates events by itself.
    """
    with gc_paused():  # tens of thousands of new changes: see gc_paused
        return _judge(spec, prev, prev_leader_key, curr, record)


def _judge(spec: BoardSpec, prev: Sequence[Row] | None, prev_leader_key: Key | None, curr: Sequence[Row],
           record: Record | None) -> Judgement:
    r = rules(spec)
    if prev is None:
        return Judgement(leader(curr, spec.metric, spec.higher_is_better, None, spec.tolerance), (), {})
    if spec.aliases:
        prev, prev_leader_key = _aliased(spec, prev, prev_leader_key)
    renames = find_renames(prev, curr) if spec.renames else {}
    incumbent = renames.get(prev_leader_key, prev_leader_key) if prev_leader_key else None
    new_leader = leader(curr, spec.metric, spec.higher_is_better, incumbent, spec.tolerance)
    prev_leader = next((row for row in prev if row.key == prev_leader_key), None) if prev_leader_key else None
    changes = diff(prev, curr, title=spec.title, metric=spec.metric, tracked=spec.tracked,
                   higher_is_better=spec.higher_is_better, prev_leader=prev_leader, curr_leader=new_leader,
                   record=record, rules=r, renames=renames)
    return Judgement(new_leader, tuple(changes), renames)


def _aliased(spec: BoardSpec, rows: Sequence[Row], leader_key: Key | None) -> tuple[Sequence[Row], Key | None]:
    mapped = apply_aliases(rows, spec)
    if leader_key is None:
        return mapped, None
    by_old = {old.key: new.key for old, new in zip(rows, mapped, strict=True)}
    return mapped, by_old.get(leader_key, leader_key)


def record_of(store: Store, spec: BoardSpec, up_to: int | None = None) -> Record | None:
    """The board's record so far, with the published date of the last new record when the board has one."""
    rec = store.record(spec.id, spec.higher_is_better, up_to=up_to)
    if rec is None:
        return None
    rec = replace(rec, model=dict(spec.aliases).get(name_key(rec.model), rec.model))  # the current aliases
    if not spec.published:
        return rec
    last = store.events(spec.id, [ChangeKind.NEW_SOTA.value])
    return replace(rec, published=last[-1].published) if last else rec
