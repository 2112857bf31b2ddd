"""Store safety: migrations (a 0.1.0 store upgrades in place, a newer one is refused), late-committed events are
never skipped by the outbox, the recovery event shares its fetch's transaction, and prune keeps what it must."""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from tracker import alerts, config
from tracker.errors import StoreError
from tracker.models import Change, ChangeKind, Row
from tracker.store import Archive, FetchInfo, NewSnapshot, Store, migrate, prune

FIXTURES = Path(__file__).resolve().parent / "fixtures"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
DEMO = {"board": [{"id": "demo", "url": "https://example.org/demo.csv", "format": "csv", "metric": "score",
                   "fields": {"model": "model", "score": "score"}}],
        "alert": [{"on": ["leader_changed", "new_sota"], "notify": ["console"]}]}


def old_store(tmp_path: Path) -> Path:
    """A SQLite file restored from a store that tracker 0.1.0 wrote (no alembic_version table)."""
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.executescript((FIXTURES / "store-v0.1.0.sql").read_text())
    return db


def test_head_matches_the_migration_scripts() -> None:
    assert migrate.HEAD in migrate.known_revisions()
    from alembic.script import ScriptDirectory

    assert ScriptDirectory(str(migrate.SCRIPTS)).get_current_head() == migrate.HEAD


def test_a_0_1_0_store_upgrades_in_place_and_keeps_everything(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    db = old_store(tmp_path)
    store = Store(f"sqlite:///{db}")
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == migrate.HEAD
    assert [s.leader_model for s in store.history("demo")] == ["A", "B", "C"]
    assert len(store.events("demo")) == 8
    # events 1-4 were dispatched by 0.1.0 (cursor 4); 5-8 were recorded but never dispatched
    assert [e.id for e in store.outbox.pending_events()] == [5, 6, 7, 8]
    settings = config.parse(DEMO, base=tmp_path)
    result = alerts.dispatch(settings, store)
    out = capsys.readouterr().out
    assert result.sent == 2 and "new record score 90 by C" in out and "C (90) takes the lead from B (85)" in out
    assert "B (85) takes the lead" not in out  # 0.1.0 had already sent that one
    assert store.outbox.pending_events() == []
    store.close()
    Store(f"sqlite:///{db}").close()  # opening again is a no-op
    assert alerts.dispatch(settings, Store(f"sqlite:///{db}")).sent == 0


def test_a_store_from_a_newer_tracker_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    Store(f"sqlite:///{db}").close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match=r"schema revision 9999, newer than this tracker knows .*upgrade tracker"):
        Store(f"sqlite:///{db}")


def rows(*pairs: tuple[str, float]) -> list[Row]:
    return [Row((m.lower(),), m, {"model": m}, {"s": v}, i) for i, (m, v) in enumerate(pairs)]


def test_an_event_committed_after_a_higher_id_is_still_alerted(store: Store, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """The outbox tracks undelivered events, not an id cursor: commit order cannot make it skip one."""
    settings = config.parse({**DEMO, "alert": [{"on": ["entry_added"], "notify": ["console"]}]}, base=tmp_path)
    store.ensure_board("demo", "Demo", "u")
    low = store.add_event("demo", Change(ChangeKind.ENTRY_ADDED, "Low", ("low",), "Low added"), T0)
    high = store.add_event("demo", Change(ChangeKind.ENTRY_ADDED, "High", ("high",), "High added"), T0)
    # the outbox runs while `low` is "not yet committed": simulate by hiding it, as a concurrent writer would
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE event SET alert_pending = :f WHERE id = :i"), {"f": False, "i": low.id})
    assert alerts.dispatch(settings, store).sent == 1
    with store.engine.begin() as conn:  # ... and now it commits
        conn.execute(text("UPDATE event SET alert_pending = :t WHERE id = :i"), {"t": True, "i": low.id})
    assert low.id < high.id and alerts.dispatch(settings, store).sent == 1
    assert capsys.readouterr().out.count("added") == 2


def test_recovery_is_stored_with_its_fetch(store: Store) -> None:
    store.ensure_board("b", "B", "u")
    back = Change(ChangeKind.SOURCE_RECOVERED, None, None, "B: source recovered after 2 failed runs", value=2.0)
    r = rows(("A", 1.0))
    _, events = store.save(NewSnapshot("b", T0, r, "h", "raw", r[0], 1.0), [], FetchInfo(T0, "changed"), back)
    assert [e.type for e in events] == [ChangeKind.SOURCE_RECOVERED]
    stored = store.events("b")
    assert len(stored) == 1 and stored[0].snapshot_id is None
    with store.engine.connect() as conn:  # the event points at the fetch written in the same transaction
        fetch_id = conn.execute(text("SELECT fetch_id FROM event")).scalar()
        assert fetch_id == conn.execute(text("SELECT id FROM \"fetch\"")).scalar()


def test_prune_keeps_snapshot_documents_and_the_newest_failures(store: Store, tmp_path: Path) -> None:
    archive = Archive(tmp_path / "snapshots")
    store.ensure_board("b", "B", "u")
    kept = archive.put(b"snapshot document")
    r = rows(("A", 1.0))
    store.save(NewSnapshot("b", T0, r, "h", kept, r[0], 1.0), [], FetchInfo(T0, "changed", raw_sha=kept))
    failed = [archive.put(f"error page {i}".encode()) for i in range(5)]
    for i, sha in enumerate(failed):
        store.record_fetch("b", FetchInfo(T0 + timedelta(hours=i), "failed", raw_sha=sha, error="x"))
    orphan = archive.put(b"written, then the run was killed")
    tmp = archive.path(kept).parent / ".tmp-abc"
    tmp.write_bytes(b"half")
    old = time.time() - 3 * 86400
    for p in [*archive.root.glob("??/*"), tmp]:
        os.utime(p, (old, old))
    result = prune.prune(store, archive, datetime.now(UTC) - timedelta(days=1), keep_failed=2)
    left = set(p.name.removesuffix(".gz") for p in archive.root.glob("??/*.gz"))
    assert kept in left and set(failed[-2:]) <= left
    assert not set(failed[:3]) & left and orphan not in left and not tmp.exists()
    assert (result.documents, result.temp_files) == (4, 1) and result.vacuumed
    assert len(store.fetches("b")) == 6 and store.latest("b") is not None  # records are never pruned


def test_failed_documents_are_capped_per_board_as_they_come(store: Store, tmp_path: Path) -> None:
    archive = Archive(tmp_path / "snapshots")
    store.ensure_board("b", "B", "u")
    shas = []
    for i in range(4):
        shas.append(archive.put(f"error {i}".encode()))
        store.record_fetch("b", FetchInfo(T0, "failed", raw_sha=shas[-1], error="x"))
        prune.trim_failed(store, archive, "b", keep_failed=2)
    assert [archive.path(s).exists() for s in shas] == [False, False, True, True]
