"""The store against a real database (a temporary SQLite file, or TRACKER_TEST_DATABASE_URL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tracker.errors import StoreError
from tracker.models import Change, ChangeKind, Row
from tracker.store import FetchInfo, NewSnapshot, Store, pack_rows, unpack_rows

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def snap(store: Store, n: int, when: datetime, value: float) -> int:
    rows = [Row(("m",), "M", {"model": "M"}, {"s": value}, 0)]
    saved, _ = store.save(NewSnapshot("b", when, rows, f"h{n}", f"r{n}", rows[0], value),
                          [Change(ChangeKind.ENTRY_ADDED, "M", ("m",), "added")], FetchInfo(when, "changed"))
    return saved.id


def test_rows_round_trip() -> None:
    rows = (Row(("a", "224"), "A ✓", {"model": "A ✓", "d": None}, {"s": 1.5, "t": None}, 0),)
    assert unpack_rows(pack_rows(rows)) == rows


def test_save_latest_as_of_history_record(store: Store) -> None:
    store.ensure_board("b", "B", "u")
    ids = [snap(store, i, T0 + timedelta(days=i), v) for i, v in enumerate([1.0, 3.0, 2.0])]
    latest = store.latest("b")
    assert latest is not None and latest.id == ids[-1] and latest.rows[0].value("s") == 2.0
    assert latest.observed_at == T0 + timedelta(days=2) and latest.observed_at.tzinfo is not None
    at = store.snapshot_at("b", T0 + timedelta(days=1, hours=1))
    assert at is not None and at.id == ids[1]
    assert store.snapshot_at("b", T0 - timedelta(days=1)) is None
    assert [s.id for s in store.history("b")] == ids
    assert [s.id for s in store.history("b", 2)] == ids[1:]
    rec = store.record("b", True)
    assert rec is not None and rec.value == 3.0
    low = store.record("b", False)
    assert low is not None and low.value == 1.0
    assert store.record("b", True, up_to=ids[0]).value == 1.0  # type: ignore[union-attr]
    events = store.events("b")
    assert [e.snapshot_id for e in events] == ids and events[0].observed_at == T0


def test_failures_counted_until_a_success(store: Store) -> None:
    store.ensure_board("b", "B", "u")
    fail = Change(ChangeKind.SOURCE_FAILED, None, None, "broken")
    for i in range(3):
        store.record_fetch("b", FetchInfo(T0 + timedelta(hours=i), "failed", error=f"e{i}"), fail)
    st = store.status("b", "B", "u")
    assert (st.consecutive_failures, st.last_error, st.fetches, st.snapshots) == (3, "e2", 3, 0)
    snap(store, 9, T0 + timedelta(days=1), 1.0)
    st = store.status("b", "B", "u")
    assert (st.consecutive_failures, st.last_error, st.snapshots) == (0, None, 1)
    assert st.last_success_at == T0 + timedelta(days=1) and st.last_change_at == T0 + timedelta(days=1)
    assert len(store.events("b", ["source_failed"])) == 3


def test_a_failing_save_leaves_nothing_behind(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.ensure_board("b", "B", "u")
    snap(store, 1, T0, 1.0)

    def boom(*args: object, **kw: object) -> None:
        raise RuntimeError("crash while writing events")

    monkeypatch.setattr(Store, "_event_row", staticmethod(boom))
    with pytest.raises(RuntimeError):
        snap(store, 2, T0 + timedelta(days=1), 2.0)
    monkeypatch.undo()
    assert len(store.history("b")) == 1
    assert len(store.fetches("b")) == 1
    assert len(store.events("b")) == 1


def test_bad_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match=r"cannot open the database.*check \[storage\] url"):
        Store("nosuchdriver://x")


def test_password_is_masked() -> None:
    s = Store.__new__(Store)
    s.url = "postgresql://user:hunter2@db.example/tracker"
    assert "hunter2" not in s.safe_url and "db.example" in s.safe_url
