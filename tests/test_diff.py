"""The event rules, table-driven: leader with ties, records, entry changes."""

from __future__ import annotations

import pytest

from tracker.diff import Record, diff, leader
from tracker.models import ChangeKind, Row


def rows(*items: tuple[str, float | None]) -> list[Row]:
    return [Row((name.lower(),), name, {"model": name}, {"s": v}, i) for i, (name, v) in enumerate(items)]


def run(prev: list[Row], curr: list[Row], record: float | None, higher: bool = True,
        tracked: tuple[str, ...] = ("s",)) -> list[tuple[str, str | None]]:
    old = leader(prev, "s", higher)
    new = leader(curr, "s", higher, old.key if old else None)
    rec = Record(record, "x") if record is not None else None
    changes = diff(prev, curr, title="T", metric="s", tracked=tracked, higher_is_better=higher, prev_leader=old,
                   curr_leader=new, record=rec)
    return [(c.kind.value, c.model) for c in changes]


@pytest.mark.parametrize(("prev", "curr", "record", "expected"), [
    # a clear overtake: new record and leader change
    ([("A", 90.0), ("B", 89.0)], [("A", 90.0), ("B", 91.0)], 90.0,
     [("new_sota", "B"), ("leader_changed", "B"), ("score_changed", "B")]),
    # a tie with the incumbent: the incumbent keeps the lead, and an equal value is no record
    ([("A", 90.0), ("B", 89.0)], [("B", 90.0), ("A", 90.0)], 90.0, [("score_changed", "B")]),
    # the leader improves its own record: new_sota without leader change
    ([("A", 90.0)], [("A", 90.5)], 90.0, [("new_sota", "A"), ("score_changed", "A")]),
    # a value below the all-time record is no new_sota even if it beats the previous snapshot
    ([("A", 89.0)], [("A", 89.5)], 90.0, [("score_changed", "A")]),
    # the incumbent disappears: first in source order among the tied best wins
    ([("A", 90.0), ("B", 89.0), ("C", 89.0)], [("B", 89.0), ("C", 89.0)], 90.0,
     [("leader_changed", "B"), ("entry_removed", "A")]),
    # added and removed entries; a missing value does not lead
    ([("A", 90.0), ("B", 80.0)], [("A", 90.0), ("C", None)], 90.0, [("entry_added", "C"), ("entry_removed", "B")]),
])
def test_rules(prev: list[tuple[str, float]], curr: list[tuple[str, float]], record: float,
               expected: list[tuple[str, str]]) -> None:
    assert run(rows(*prev), rows(*curr), record) == expected


def test_lower_is_better() -> None:
    got = run(rows(("A", 0.05), ("B", 0.06)), rows(("A", 0.05), ("B", 0.04)), 0.05, higher=False)
    assert got[:2] == [("new_sota", "B"), ("leader_changed", "B")]


def test_tie_without_incumbent_takes_first_in_source_order() -> None:
    best = leader(rows(("A", 1.0), ("B", 2.0), ("C", 2.0)), "s", True)
    assert best is not None and best.model == "B"


def test_leader_change_message_has_margin_and_values() -> None:
    prev, curr = rows(("Model soups", 90.98)), rows(("CoCa", 91.0), ("Model soups", 90.98))
    old = leader(prev, "s", True)
    new = leader(curr, "s", True, old.key if old else None)
    changes = diff(prev, curr, title="ImageNet-1k top-1", metric="s", tracked=("s",), higher_is_better=True,
                   prev_leader=old, curr_leader=new, record=Record(90.98, "Model soups"))
    lc = next(c for c in changes if c.kind is ChangeKind.LEADER_CHANGED)
    assert lc.message == "ImageNet-1k top-1: CoCa (91) takes the lead from Model soups (90.98), +0.02"
    assert (lc.value, lc.previous_model, lc.previous_value) == (91.0, "Model soups", 90.98)


def test_every_tracked_metric_reports_score_changes() -> None:
    a = [Row(("a",), "a", {}, {"s": 1.0, "t": 2.0}, 0)]
    b = [Row(("a",), "a", {}, {"s": 1.0, "t": 3.0}, 0)]
    changes = diff(a, b, title="T", metric="s", tracked=("s", "t"), higher_is_better=True, prev_leader=a[0],
                   curr_leader=b[0], record=Record(1.0, "a"))
    assert [(c.kind, c.metric, c.previous_value, c.value) for c in changes] == [
        (ChangeKind.SCORE_CHANGED, "t", 2.0, 3.0)]
