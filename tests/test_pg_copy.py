"""Bulk writes on PostgreSQL go through COPY (store/pgcopy.py); what they store must be what an INSERT stores.

These run on SQLite too (the same contract through executemany); the CI's PostgreSQL pass runs them against a real
server, where the COPY path is taken (the last test checks that it is).
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, text

from tracker.errors import StoreError
from tracker.models import Change, ChangeKind, Row
from tracker.store import FetchInfo, NewSnapshot, Store, latest, pgcopy
from tracker.store.bulk import EVENT_COLUMNS, event_values, insert_events
from tracker.store.schema import EventRow

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVENT = EventRow.__table__
# what COPY's text format has to escape, and what the store's values hold in real boards
HOSTILE = ["tab\there", "new\nline", "cr\rreturn", "back\\slash", "\\N", "\\.", "", " ", "«ünïcödé» 模型 🚀",
           "quote ' and \"", "comma, semicolon;", "a" * 5000]


def rows_of(store: Store, table: str) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))]


def hostile_changes() -> list[Change]:
    out = []
    for i, s in enumerate(HOSTILE):
        out.append(Change(ChangeKind.ENTRY_ADDED, s, (s, f"k{i}"), f"{s} added", s[:200] or None, float(i) - 0.5))
        out.append(Change(ChangeKind.NEW_SOTA, s, (s,), f"{s} is SOTA", "top1", 1e300 if i % 2 else -0.0,
                          previous_model=s, previous_value=float("inf") if i % 3 else None,
                          significant=bool(i % 2), margin=1e-9, published=s[:40] or None, backdated=i % 2 == 0))
    return out


def test_hostile_text_in_events_is_stored_as_an_insert_stores_it(store: Store) -> None:
    store.ensure_board("b", "B", "u")
    store.add_event("b", Change(ChangeKind.SOURCE_STALE, None, None, "stale"), T0)  # ids need not start at 1
    with store.engine.begin() as conn:
        fast = insert_events(conn, EVENT, hostile_changes(), board="b", observed_at=T0 + timedelta(hours=1),
                             snapshot_id=None, fetch_id=None, backfilled=False, notify=True)
    copied = rows_of(store, "event")
    assert fast == store.events("b")[1:]
    assert [e.model for e in fast] == [c.model for c in hostile_changes()]
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM event WHERE id > 1"))
        conn.execute(insert(EVENT), [
            {"board_id": "b", "observed_at": T0 + timedelta(hours=1), "snapshot_id": None, "fetch_id": None,
             "backfilled": False, "notify": True, "alert_pending": True,
             **dict(zip(EVENT_COLUMNS, event_values(c), strict=True))} for c in hostile_changes()])
    inserted = rows_of(store, "event")
    assert [r[1:] for r in copied] == [r[1:] for r in inserted]  # every column but the id


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30),
                min_size=1, max_size=12, unique=True))
def test_latest_rows_of_any_text_read_back_as_written(store: Store, names: list[str]) -> None:
    store.ensure_board("b", "B", "u")
    rows = [Row((n,), n, {"model": n, "note": n[::-1]}, {"s": float(i) if i % 3 else None}, i)
            for i, n in enumerate(names)]
    digest = hashlib.sha256(repr(names).encode("utf-8", "surrogatepass")).hexdigest()  # 64 characters, as stored
    snap, _ = store.save(NewSnapshot("b", T0, rows, digest, None, rows[-1], None), [],
                         FetchInfo(T0, "changed"))
    assert rows_of(store, "latest_row") == [tuple(v) for v in latest.latest_values("b", snap.id, rows, rows[-1].key)]
    assert store.latest("b") == snap


def test_a_value_the_database_refuses_fails_the_save_with_a_store_error_and_keeps_what_was_stored(
        store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores a NUL; the refusal is PostgreSQL's")
    store.ensure_board("b", "B", "u")
    rows = [Row(("a",), "A", {"model": "A"}, {"s": 1.0}, 0)]
    first, _ = store.save(NewSnapshot("b", T0, rows, "h1", None, rows[0], 1.0), [], FetchInfo(T0, "changed"))
    before = (rows_of(store, "event"), rows_of(store, "latest_row"), rows_of(store, "snapshot"))
    bad = [Change(ChangeKind.ENTRY_ADDED, "B", ("b",), "B added"),
           Change(ChangeKind.ENTRY_ADDED, "C", ("c",), "C\x00 added")]  # NUL: PostgreSQL text cannot hold it
    with pytest.raises(StoreError, match=r"database error while saving a snapshot of b .*NUL"):
        store.save(NewSnapshot("b", T0 + timedelta(hours=1), rows, "h2", None, rows[0], 1.0), bad,
                   FetchInfo(T0, "changed"))
    assert (rows_of(store, "event"), rows_of(store, "latest_row"), rows_of(store, "snapshot")) == before
    assert store.latest("b") == first


def test_two_writers_drawing_ids_at_once_each_get_increasing_ids_of_their_own(db_url: str) -> None:
    stores = [Store(db_url) for _ in range(2)]
    for i, s in enumerate(stores):
        s.ensure_board(f"b{i}", "B", "u")
    got: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            many = [Change(ChangeKind.ENTRY_ADDED, f"m{j}", (f"m{j}",), f"m{j} added", "s", float(j))
                    for j in range(2500)]
            r = [Row(("a",), "A", {"model": "A"}, {"s": 1.0}, 0)]
            _, events = stores[i].save(NewSnapshot(f"b{i}", T0, r, "h", None, r[0], 1.0), many,
                                       FetchInfo(T0, "changed"))
            got[i] = [e.id for e in events]
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, s in enumerate(stores):
        assert got[i] == sorted(got[i]) and len(set(got[i])) == 2500
        assert [e.id for e in s.events(f"b{i}")] == got[i]
        assert [e.model for e in s.events(f"b{i}")] == [f"m{j}" for j in range(2500)]
    assert not set(got[0]) & set(got[1])
    for s in stores:
        s.close()


def test_postgresql_writes_take_the_copy_path(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's (set TRACKER_TEST_DATABASE_URL)")
    copied: list[str] = []
    real = pgcopy.copy_rows
    monkeypatch.setattr(pgcopy, "copy_rows", lambda conn, table, cols, rows: copied.append(table) or real(
        conn, table, cols, rows))
    store.ensure_board("b", "B", "u")
    rows = [Row((f"m{i}",), f"M{i}", {"model": f"M{i}"}, {"s": float(i)}, i) for i in range(5)]
    store.save(NewSnapshot("b", T0, rows, "h", None, rows[4], 4.0), [
        Change(ChangeKind.ENTRY_ADDED, r.model, r.key, f"{r.model} added") for r in rows], FetchInfo(T0, "changed"))
    assert copied == ["latest_row", "event"]
    assert [e.model for e in store.events("b")] == [r.model for r in rows]
