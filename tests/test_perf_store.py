"""The fast write paths store exactly what the ORM stored: bulk events (literals, executemany, ids by range),
Core snapshot and fetch rows, dump_key via orjson, and Events built without their __init__."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy import Table, event, insert, text

from tracker import config
from tracker.models import Change, ChangeKind, Event, Page, Row
from tracker.pipeline import Context, ingest
from tracker.store import Archive, FetchInfo, NewSnapshot, Store
from tracker.store.bulk import EVENT_COLUMNS, _models, dump_key, event_values, insert_events
from tracker.store.runstate import BoardState
from tracker.store.schema import EventRow

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "tracker-hypothesis")
T0 = datetime(2025, 1, 1, tzinfo=UTC)  # microsecond 0: the stored text must still carry ".000000"
EVENT = EventRow.__table__
assert isinstance(EVENT, Table)


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.text(st.characters(exclude_categories=("Cs",)), max_size=8), max_size=4))
def test_dump_key_writes_what_json_dumps_wrote(key: list[str]) -> None:
    assert dump_key(tuple(key)) == json.dumps(key, ensure_ascii=False)


def changes() -> list[Change]:
    return [Change(ChangeKind.SCORE_CHANGED, "Ünïcode 'quoted'", ("ünïcode 'quoted'", "224"), "B: it's x -> y", "top1",
                   91.5, "Old", 90.25, significant=None, margin=1.25, published="2024-05", backdated=True),
            Change(ChangeKind.ENTRY_ADDED, "A", ("a",), "B: A added", "top1", None),
            Change(ChangeKind.SOURCE_FAILED, None, None, "B: failed; «quoted» \\ back", value=3.0, significant=False)]


def stored(store: Store) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM event ORDER BY id"))]


def test_bulk_events_store_what_sqlalchemy_stores(db_url: str) -> None:
    board = "it's-b"
    a = Store(db_url)
    a.ensure_board(board, "B", "u")
    with a.engine.begin() as conn:
        fast = insert_events(conn, EVENT, changes(), board=board, observed_at=T0, snapshot_id=None, fetch_id=None,
                             backfilled=False, notify=True)
    fast_rows = stored(a)
    assert fast == a.events(board)
    with a.engine.begin() as conn:
        conn.execute(text("DELETE FROM event"))
        conn.execute(insert(EVENT), [
            {"board_id": board, "observed_at": T0, "snapshot_id": None, "fetch_id": None, "backfilled": False,
             "notify": True, "alert_pending": True, **dict(zip(EVENT_COLUMNS, event_values(c), strict=True))}
            for c in changes()])
    slow_rows = stored(a)
    a.close()
    assert [r[1:] for r in fast_rows] == [r[1:] for r in slow_rows]  # every column but the id, byte for byte
    assert [e.id for e in fast] == [r[0] for r in fast_rows]


def test_events_returned_by_save_equal_the_events_read_back(store: Store) -> None:
    store.ensure_board("b", "B", "u")
    store.add_event("b", Change(ChangeKind.SOURCE_STALE, None, None, "stale"), T0)  # ids need not start at 1
    r = [Row(("a",), "A", {"model": "A"}, {"top1": 1.0}, 0)]
    health = Change(ChangeKind.SOURCE_RECOVERED, None, None, "B: recovered", value=2.0)
    snap, events = store.save(NewSnapshot("b", T0 + timedelta(hours=1), r, "h", "raw", r[0], 1.0),
                              changes(), FetchInfo(T0, "changed", warnings=("w",)), health)
    assert events == store.events("b")[1:]
    assert [e.type for e in events][-1] is ChangeKind.SOURCE_RECOVERED and events[-1].snapshot_id is None
    assert snap == store.latest("b")
    fetch, ev = store.record_fetch("b", FetchInfo(T0 + timedelta(hours=2), "unchanged", raw_sha="r", etag="e"),
                                   health)
    assert fetch == store.fetches("b")[0] and ev == store.events("b")[-1]


def test_many_events_get_their_own_ids_in_order(store: Store) -> None:
    store.ensure_board("b", "B", "u")
    many = [Change(ChangeKind.ENTRY_ADDED, f"m{i}", (f"m{i}",), f"m{i} added", "s", float(i)) for i in range(3000)]
    r = [Row(("a",), "A", {"model": "A"}, {"s": 1.0}, 0)]
    _, events = store.save(NewSnapshot("b", T0, r, "h", None, r[0], 1.0), many, FetchInfo(T0, "changed"))
    back = store.events("b")
    assert events == back and [e.model for e in back] == [c.model for c in many]


def test_events_built_without_init_equal_events_built_with_it() -> None:
    values = (7, ChangeKind.NEW_SOTA, "b", T0, 3, "M", ("m",), "top1", 1.5, "P", 1.0, "msg", False, True, True,
              "2024", False, 0.5)
    fast = _models([values])[0]
    assert fast == Event(*values) and repr(fast) == repr(Event(*values)) and hash(fast) == hash(Event(*values))


def transactions(store: Store) -> list[int]:
    """A counter of transactions begun on the store's engine (one item per BEGIN)."""
    begun: list[int] = []
    event.listen(store.engine, "begin", lambda conn: begun.append(1))
    return begun


def test_begin_run_reads_what_the_per_board_reads_read_in_one_transaction(store: Store) -> None:
    store.ensure_board("old", "Old title", "u-old")
    for i, status in enumerate(["changed", "failed", "unchanged", "failed", "failed"]):
        store.record_fetch("old", FetchInfo(T0 + timedelta(hours=i), status, raw_sha=f"r{i}", etag=f"e{i}"))
    store.record_fetch("old", FetchInfo(T0 + timedelta(hours=9), "failed", origin="import"))  # not a `run`
    store.ensure_board("broken", "Broken", "u-b")
    for i in range(3):
        store.record_fetch("broken", FetchInfo(T0 + timedelta(hours=i), "failed", error="x"))
    boards = [("old", "New title", "u-new"), ("broken", "Broken", "u-b"), ("fresh", "Fresh", "u-f")]
    begun = transactions(store)
    states = store.begin_run(boards)
    assert len(begun) == 1
    for board, title, url in boards:
        assert store.status(board, title, url).title == title
        assert states[board].last_good == store.last_good_fetch(board)
        assert states[board].failures == store.consecutive_failures(board)
    assert states["old"].failures == 2 and states["old"].last_good is not None
    assert states["old"].last_good.etag == "e2" and states["broken"].last_good is None
    assert states["broken"].failures == 3 and states["fresh"] == BoardState(None, 0)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT title, url FROM board WHERE id = 'old'")).one() == ("New title", "u-new")


def test_an_unchanged_board_costs_one_transaction_after_begin_run(store: Store, tmp_path: Path) -> None:
    spec = config.parse({"board": [{"id": "b", "url": "https://example.org/b.csv", "format": "csv",
                                    "metric": "s", "fields": {"model": "model", "s": "s"}}]}, base=tmp_path).boards[0]
    ctx = Context(store, Archive(tmp_path / "snapshots"))
    doc = b"model,s\nA,1\nB,2\n"
    state = store.begin_run([(spec.id, spec.title, spec.url)])[spec.id]
    assert ingest(spec, Page(spec.url, doc, T0), ctx, last=state.last_good).status == "baseline"
    state = store.begin_run([(spec.id, spec.title, spec.url)])[spec.id]
    begun = transactions(store)
    result = ingest(spec, Page(spec.url, doc, T0 + timedelta(hours=1)), ctx, last=state.last_good)
    assert result.status == "unchanged" and len(begun) == 1
