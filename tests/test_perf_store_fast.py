"""The fast paths of a changed import store and return exactly what the plain ones did: models built without their
__init__, events grouped by their rare columns and written a chunk at a time, latest_row a chunk at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Table, insert, text

from tracker.diff import _change
from tracker.models import Change, ChangeKind, Event, Row
from tracker.store import FetchInfo, NewSnapshot, Store, bulk, latest
from tracker.store.bulk import EVENT_COLUMNS, _event, event_values, insert_events
from tracker.store.schema import EventRow

T0 = datetime(2025, 1, 1, 12, tzinfo=UTC)
EVENT = EventRow.__table__
assert isinstance(EVENT, Table)


def same(a: object, b: object) -> bool:
    """Equal, with the same repr, hash and attributes."""
    return a == b and repr(a) == repr(b) and hash(a) == hash(b) and vars(a) == vars(b)


def test_changes_and_events_built_without_init_equal_those_built_with_it() -> None:
    k = ChangeKind.SCORE_CHANGED
    assert same(_change(k, "M", ("m",), "msg", "top1", 1.5, "P", 1.0),
                Change(k, "M", ("m",), "msg", "top1", 1.5, "P", 1.0))
    assert same(_change(k, "M", ("m",), "msg", None, None), Change(k, "M", ("m",), "msg", None, None))
    c = Change(ChangeKind.NEW_SOTA, "M", ("m",), "msg", "top1", 2.0, "P", 1.0, True, 1.0, "2024-01", True)
    assert same(_event(7, c, "b", T0, 3, False, True),
                Event(7, c.kind, "b", T0, 3, "M", ("m",), "top1", 2.0, "P", 1.0, "msg", False, True, True, "2024-01",
                      True, 1.0))


def mixed() -> list[Change]:
    """Changes whose rare columns (significance, margin, published, backdated) change from one to the next."""
    out = [Change(ChangeKind.NEW_SOTA, "A", ("a",), "rec", "s", 2.0, "B", 1.0, None, 1.0, "2024-05", True),
           Change(ChangeKind.LEADER_CHANGED, "A", ("a",), "lead", "s", 2.0, "B", 1.0, False, 1.0)]
    for i in range(7):
        out.append(Change(ChangeKind.SCORE_CHANGED, f"M{i}", (f"m{i}", "x"), f"m{i} 'q'", "s", float(i), f"M{i}", None))
        if i % 3 == 0:
            out.append(Change(ChangeKind.LEADER_CHANGED, f"M{i}", (f"m{i}",), "lead", "s", None, None, None, True))
    out.append(Change(ChangeKind.ENTRY_REMOVED, "Z", ("z",), "gone", "s", None, "Z", 3.0))
    return out


def rows_of(store: Store, table: str) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))]


def test_events_grouped_and_chunked_store_what_sqlalchemy_stores(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "_CHUNK", 2)
    store = Store(db_url)
    store.ensure_board("b", "B", "u")
    store.add_event("b", Change(ChangeKind.SOURCE_STALE, None, None, "stale"), T0)  # ids need not start at 1
    with store.engine.begin() as conn:
        fast = insert_events(conn, EVENT, mixed(), board="b", observed_at=T0, snapshot_id=None, fetch_id=None,
                             backfilled=False, notify=True)
    fast_rows = rows_of(store, "event")
    assert fast == store.events("b")[1:]
    assert [(e.type, e.model, e.significant, e.margin) for e in fast] == \
        [(c.kind, c.model, c.significant, c.margin) for c in mixed()]
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM event WHERE id > 1"))
        conn.execute(insert(EVENT), [
            {"board_id": "b", "observed_at": T0, "snapshot_id": None, "fetch_id": None, "backfilled": False,
             "notify": True, "alert_pending": True, **dict(zip(EVENT_COLUMNS, event_values(c), strict=True))}
            for c in mixed()])
    slow_rows = rows_of(store, "event")
    store.close()
    assert [r[1:] for r in fast_rows] == [r[1:] for r in slow_rows]  # every column but the id


def test_latest_rows_written_a_chunk_at_a_time(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(latest, "_CHUNK", 3)
    store.ensure_board("b", "B", "u")
    rs = [Row((f"m{i}",), f"M{i}", {"model": f"M{i}"}, {"s": float(i) if i % 4 else None}, i) for i in range(10)]
    snap, _ = store.save(NewSnapshot("b", T0, rs, "h", None, rs[9], 9.0), [], FetchInfo(T0, "changed"))
    stored = rows_of(store, "latest_row")
    assert stored == [tuple(v) for v in latest.latest_values("b", snap.id, rs, rs[9].key)]
    assert [r[1] for r in stored] == list(range(10)) and [r[7] for r in stored] == [0] * 9 + [1]
    fewer = rs[:4]
    snap, _ = store.save(NewSnapshot("b", T0, fewer, "h2", None, fewer[3], 3.0), [], FetchInfo(T0, "changed"))
    assert rows_of(store, "latest_row") == [tuple(v) for v in latest.latest_values("b", snap.id, fewer, ("m3",))]
