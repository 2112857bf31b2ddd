"""Pure comparison of two versions of a board: leader, record, renames and per-entry changes.

The rules (the README's "Why a leader change is (not) reported" says them for users):
- a challenger takes the lead only when it beats the incumbent by more than `tolerance`; otherwise (a tie
  included) the incumbent keeps it; with no incumbent, the best value wins, the first in source order on a tie;
- `new_sota` needs more than `tolerance` over the best value of every earlier snapshot;
- a metric change of at most `tolerance` is no `score_changed`;
- a disappeared and an appeared entry whose numbers all agree, each with no other candidate, are one rename: the
  entry keeps its place (no removal, addition, leader change or record);
- with a confidence interval, a leader change is `significant` only when the new leader's interval lies wholly
  beyond the previous leader's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import partial

from .models import Change, ChangeKind, Row
from .numbers import fmt

Key = tuple[str, ...]
Interval = Callable[[Row], tuple[float, float] | None]


@dataclass(frozen=True)
class Record:
    """The best primary value a board has ever shown, who showed it, and when it was published (if known)."""

    value: float
    model: str
    published: str | None = None


@dataclass(frozen=True)
class Rules:
    """How a board's versions are compared (from its config; see the module docstring)."""

    metric: str
    tracked: tuple[str, ...] = ()
    higher_is_better: bool = True
    tolerance: float = 0.0
    key: tuple[str, ...] = ("model",)
    interval: Interval | None = None
    published: str | None = None


def better(a: float, b: float, higher_is_better: bool) -> bool:
    """True when value `a` strictly beats value `b`."""
    return a > b if higher_is_better else a < b


def beats(a: float, b: float, higher_is_better: bool, tolerance: float = 0.0) -> bool:
    """True when `a` beats `b` by more than `tolerance`."""
    return (a - b if higher_is_better else b - a) > tolerance


def leader(rows: Sequence[Row], metric: str, higher_is_better: bool,
           incumbent: Key | None = None, tolerance: float = 0.0) -> Row | None:
    """The entry with the best `metric`; the incumbent keeps the lead unless beaten by more than `tolerance`."""
    best: Row | None = None
    best_value = 0.0
    for row in rows:
        v = row.values.get(metric)
        if v is not None and (best is None or (v > best_value if higher_is_better else v < best_value)):
            best, best_value = row, v
    if best is not None and incumbent is not None and best.key != incumbent:
        for row in rows:
            v = row.value(metric)
            if row.key == incumbent and v is not None and not beats(best_value, v, higher_is_better, tolerance):
                return row
    return best


def label(row: Row, key: Sequence[str]) -> str:
    """An entry's name for messages: the model, plus its other key fields (`convnextv2_large @384`)."""
    extra = [str(row.fields.get(k)) for k in key if k != "model" and row.fields.get(k)]
    return " ".join([row.model, *(f"@{x}" for x in extra)])


def find_renames(prev: Sequence[Row], curr: Sequence[Row]) -> dict[Key, Key]:
    """Old key -> new key for each disappeared entry that pairs with exactly one appeared entry and vice versa.

    Two entries pair when every numeric field that either carries is equal and at least one is not empty.
    """
    curr_keys = {r.key for r in curr}
    prev_keys = {r.key for r in prev}
    gone = [r for r in prev if r.key not in curr_keys]
    new = [r for r in curr if r.key not in prev_keys]
    if not gone or not new:
        return {}
    by_numbers: dict[tuple[tuple[str, float | None], ...], list[Row]] = {}
    for r in new:
        by_numbers.setdefault(_numbers(r), []).append(r)
    partners: dict[Key, list[Row]] = {}
    back: dict[Key, int] = {}
    for r in gone:
        found = by_numbers.get(_numbers(r), []) if any(v is not None for v in r.values.values()) else []
        partners[r.key] = found
        for f in found:
            back[f.key] = back.get(f.key, 0) + 1
    return {old: found[0].key for old, found in partners.items() if len(found) == 1 and back[found[0].key] == 1}


def _numbers(row: Row) -> tuple[tuple[str, float | None], ...]:
    return tuple(sorted(row.values.items()))


def parse_interval(text: str | None, value: float | None) -> tuple[float, float] | None:
    """'+5/-4', '-4/+5', '±5', '5' (a half-width) around `value` -> (lower, upper); None when unreadable."""
    if text is None or value is None:
        return None
    parts = re.findall(r"([+\-−±]?)\s*(\d+(?:\.\d+)?)", text)
    if not parts:
        return None
    up = down = None
    for sign, number in parts:
        n = float(number)
        if sign == "+":
            up = n
        elif sign in "-−":
            down = n
        else:
            up = down = n
    if up is None or down is None:
        up = down = up if up is not None else down
    assert up is not None and down is not None
    return value - down, value + up


def diff(prev: Sequence[Row], curr: Sequence[Row], *, title: str, metric: str, tracked: Sequence[str],
         higher_is_better: bool, prev_leader: Row | None, curr_leader: Row | None,
         record: Record | None, rules: Rules | None = None, renames: Mapping[Key, Key] | None = None) -> list[Change]:
    """Changes from `prev` to `curr`: new_sota, leader_changed, then entries renamed/added/removed, scores changed.

    One pass over each side with plain dict lookups; an entry's label is made once, and only when a message
    needs it (a 20,000-entry board can give 40,000 changes).
    """
    r = rules or Rules(metric, tuple(tracked), higher_is_better)
    renames = renames or {}
    renamed_to = {new: old for old, new in renames.items()}
    changes: list[Change] = []
    best = curr_leader.value(metric) if curr_leader is not None else None
    kept_place = (curr_leader is not None and prev_leader is not None
                  and renamed_to.get(curr_leader.key) == prev_leader.key)
    if curr_leader is not None and best is not None and not kept_place and (
            record is None or beats(best, record.value, higher_is_better, r.tolerance)):
        changes.append(_record(title, metric, r, curr_leader, best, record))
    curr_by_key = {row.key: row for row in curr}
    if curr_leader is not None and not kept_place and (prev_leader is None or prev_leader.key != curr_leader.key):
        changes.append(_leader_change(title, r, prev_leader, curr_leader, curr_by_key))
    name = _labeler(r.key)
    tolerance, add = r.tolerance, changes.append
    found = {row.key: row for row in prev}.get
    for row in curr:
        key, now = row.key, row.values
        old = found(key) or found(renamed_to.get(key, ()))
        if old is None:
            v = now.get(metric)
            add(_change(ChangeKind.ENTRY_ADDED, row.model, key, f"{title}: {name(row)} added with {metric} {fmt(v)}",
                        metric, v))
            continue
        if old.key != key:
            v = now.get(metric)
            add(_change(ChangeKind.ENTRY_RENAMED, row.model, key, f"{title}: {name(old)} is now listed as "
                        f"{name(row)} ({metric} {fmt(v)})", metric, v, old.model, old.values.get(metric)))
        was, label_text = old.values, ""
        for m in tracked:
            a, b = was.get(m), now.get(m)
            if a != b and (a is None or b is None or abs(a - b) > tolerance):
                label_text = label_text or name(row)
                add(_change(ChangeKind.SCORE_CHANGED, row.model, key, f"{title}: {label_text} {m} {fmt(a)} -> {fmt(b)}",
                            m, b, old.model, a))
    for row in prev:
        if row.key not in curr_by_key and row.key not in renames:
            v = row.values.get(metric)
            add(_change(ChangeKind.ENTRY_REMOVED, row.model, row.key, f"{title}: {name(row)} removed (was {metric} "
                        f"{fmt(v)})", metric, None, row.model, v))
    return changes


def _labeler(key: Sequence[str]) -> Callable[[Row], str]:
    """label(row, key) as a function of the row; just the model when `key` has no other field."""
    if all(k == "model" for k in key):
        return _model_of
    return partial(label, key=key)


def _model_of(row: Row) -> str:
    return row.model


_CHANGE_FIELDS = tuple(f.name for f in fields(Change))
# Change is a frozen dataclass without __slots__ or __post_init__: filling its __dict__ gives the same object as its
# __init__ at half the cost (tests/test_perf_store_fast.py compares them), which counts on 40,000 changes
_FAST = not hasattr(Change, "__slots__") and not hasattr(Change, "__post_init__") and _CHANGE_FIELDS == (
    "kind", "model", "key", "message", "metric", "value", "previous_model", "previous_value", "significant", "margin",
    "published", "backdated")


def _change(kind: ChangeKind, model: str | None, key: Key | None, message: str, metric: str | None,
            value: float | None, previous_model: str | None = None, previous_value: float | None = None) -> Change:
    """A Change of one entry (no significance, margin, published date or backdating)."""
    if not _FAST:
        return Change(kind, model, key, message, metric, value, previous_model, previous_value)
    change = object.__new__(Change)
    change.__dict__.update(zip(_CHANGE_FIELDS, (kind, model, key, message, metric, value, previous_model,
                                                previous_value, None, None, None, False), strict=True))
    return change


def _published(row: Row, rules: Rules) -> str | None:
    return str(row.fields.get(rules.published)) if rules.published and row.fields.get(rules.published) else None


def _record(title: str, metric: str, r: Rules, row: Row, best: float, record: Record | None) -> Change:
    published = _published(row, r)
    backdated = bool(published and record and record.published and published < record.published)
    was = f" (previous record {fmt(record.value)} by {record.model})" if record else ""
    note = f"; backdated: published {published}, before the previous record ({record.published})" \
        if backdated and record else ""
    margin = round(best - record.value if r.higher_is_better else record.value - best, 10) if record else None
    return Change(ChangeKind.NEW_SOTA, row.model, row.key,
                  f"{title}: new record {metric} {fmt(best)} by {label(row, r.key)}{was}{note}",
                  metric, best, record.model if record else None, record.value if record else None,
                  margin=margin, published=published, backdated=backdated)


def _leader_change(title: str, r: Rules, prev_leader: Row | None, new: Row,
                   curr_by_key: dict[Key, Row]) -> Change:
    metric = r.metric
    value = new.value(metric)
    published = _published(new, r)
    if prev_leader is None:
        return Change(ChangeKind.LEADER_CHANGED, new.model, new.key,
                      f"{title}: {label(new, r.key)} ({fmt(value)}) takes the lead", metric, value,
                      significant=True, published=published)
    still = curr_by_key.get(prev_leader.key)
    prev_row = still if still is not None else prev_leader
    prev_value = prev_row.value(metric)
    gone = "" if still is not None else ", which is no longer listed"
    margin_text = ""
    margin = None
    if value is not None and prev_value is not None:
        margin = round(value - prev_value if r.higher_is_better else prev_value - value, 10)
        margin_text = f", {'+' if margin >= 0 else '-'}{fmt(abs(margin))}"
    significant = _significant(r, new, prev_row)
    tie = "" if significant else " (a statistical tie: the confidence intervals overlap)"
    return Change(ChangeKind.LEADER_CHANGED, new.model, new.key,
                  f"{title}: {label(new, r.key)} ({fmt(value)}) takes the lead from {label(prev_leader, r.key)} "
                  f"({fmt(prev_value)}{gone}){margin_text}{tie}", metric, value, prev_leader.model, prev_value,
                  significant=significant, margin=margin, published=published)


def _significant(r: Rules, new: Row, prev: Row) -> bool:
    """True unless both leaders have intervals and the new one's does not lie wholly beyond the previous one's."""
    if r.interval is None:
        return True
    a, b = r.interval(new), r.interval(prev)
    if a is None or b is None:
        return True
    return a[0] > b[1] if r.higher_is_better else a[1] < b[0]
