"""Pure comparison of two versions of a board: leader, record and per-entry changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .models import Change, ChangeKind, Row
from .numbers import fmt


@dataclass(frozen=True)
class Record:
    """The best primary value a board has ever shown, and who showed it."""

    value: float
    model: str


def better(a: float, b: float, higher_is_better: bool) -> bool:
    """True when value `a` strictly beats value `b`."""
    return a > b if higher_is_better else a < b


def leader(rows: Sequence[Row], metric: str, higher_is_better: bool,
           incumbent: tuple[str, ...] | None = None) -> Row | None:
    """The entry with the best `metric`; on a tie the incumbent keeps the lead, else the first in source order."""
    best: Row | None = None
    best_value = 0.0
    for row in rows:
        v = row.value(metric)
        if v is not None and (best is None or better(v, best_value, higher_is_better)):
            best, best_value = row, v
    if best is not None and incumbent is not None and best.key != incumbent:
        for row in rows:
            if row.key == incumbent and row.value(metric) == best_value:
                return row
    return best


def diff(prev: Sequence[Row], curr: Sequence[Row], *, title: str, metric: str, tracked: Sequence[str],
         higher_is_better: bool, prev_leader: Row | None, curr_leader: Row | None,
         record: Record | None) -> list[Change]:
    """Changes from `prev` to `curr`: new_sota, leader_changed, then entry_added/removed and score_changed."""
    changes: list[Change] = []
    best = curr_leader.value(metric) if curr_leader is not None else None
    if curr_leader is not None and best is not None and (
            record is None or better(best, record.value, higher_is_better)):
        was = f" (previous record {fmt(record.value)} by {record.model})" if record else ""
        changes.append(Change(
            ChangeKind.NEW_SOTA, curr_leader.model, curr_leader.key,
            f"{title}: new record {metric} {fmt(best)} by {curr_leader.model}{was}",
            metric, best, record.model if record else None, record.value if record else None))
    curr_by_key = {r.key: r for r in curr}
    if curr_leader is not None and (prev_leader is None or prev_leader.key != curr_leader.key):
        changes.append(_leader_change(title, metric, higher_is_better, prev_leader, curr_leader, curr_by_key))
    prev_by_key = {r.key: r for r in prev}
    for row in curr:
        old = prev_by_key.get(row.key)
        if old is None:
            v = row.value(metric)
            changes.append(Change(ChangeKind.ENTRY_ADDED, row.model, row.key,
                                  f"{title}: {row.model} added with {metric} {fmt(v)}", metric, v))
            continue
        for m in tracked:
            a, b = old.value(m), row.value(m)
            if a != b:
                changes.append(Change(ChangeKind.SCORE_CHANGED, row.model, row.key,
                                      f"{title}: {row.model} {m} {fmt(a)} -> {fmt(b)}", m, b, old.model, a))
    for row in prev:
        if row.key not in curr_by_key:
            v = row.value(metric)
            changes.append(Change(ChangeKind.ENTRY_REMOVED, row.model, row.key,
                                  f"{title}: {row.model} removed (was {metric} {fmt(v)})", metric, None,
                                  row.model, v))
    return changes


def _leader_change(title: str, metric: str, higher_is_better: bool, prev_leader: Row | None, new: Row,
                   curr_by_key: dict[tuple[str, ...], Row]) -> Change:
    value = new.value(metric)
    if prev_leader is None:
        return Change(ChangeKind.LEADER_CHANGED, new.model, new.key,
                      f"{title}: {new.model} ({fmt(value)}) takes the lead", metric, value)
    still = curr_by_key.get(prev_leader.key)
    prev_value = still.value(metric) if still is not None else prev_leader.value(metric)
    gone = "" if still is not None else ", which is no longer listed"
    margin = ""
    if value is not None and prev_value is not None:
        delta = value - prev_value if higher_is_better else prev_value - value
        margin = f", {'+' if delta >= 0 else '-'}{fmt(abs(delta))}"
    return Change(ChangeKind.LEADER_CHANGED, new.model, new.key,
                  f"{title}: {new.model} ({fmt(value)}) takes the lead from {prev_leader.model} "
                  f"({fmt(prev_value)}{gone}){margin}", metric, value, prev_leader.model, prev_value)
