"""A run over many boards records its unchanged boards' fetches together (one statement per few hundred boards);
a fetch that carries an event (a recovery) is still recorded at once, with its event."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from tracker import config
from tracker.fetch import HttpFetcher
from tracker.pipeline import Context, run_all
from tracker.store import Archive, FetchInfo, Store
from tracker.store.batch import FetchBatch

from .conftest import LocalServer, Response

FIELDS = {"model": "model", "top1": "top1"}


def boards(server: LocalServer, n: int) -> config.Settings:
    for i in range(n):
        server.route(f"/b{i}.csv", Response(body=f"model,top1\nA,{i}.5\nB,{i}.1\n".encode()))
    return config.parse({"fetch": {"robots": False, "per_host_delay": 0, "retries": 0, "workers": 3},
                         "board": [{"id": f"b{i}", "url": server.url(f"/b{i}.csv"), "format": "csv",
                                    "metric": "top1", "fields": FIELDS} for i in range(n)]}, base=Path("/"))


def commits(store: Store) -> list[int]:
    seen = [0]

    def count(*_: Any) -> None:
        seen[0] += 1
    event.listen(store.engine, "commit", count)
    return seen


def test_unchanged_boards_are_recorded_in_one_statement(server: LocalServer, store: Store, tmp_path: Path) -> None:
    s = boards(server, 12)
    ctx = Context(store, Archive(tmp_path / "snapshots"), HttpFetcher(s.fetch))
    assert {r.status for r in run_all(s, ctx)} == {"baseline"}
    seen = commits(store)
    assert {r.status for r in run_all(s, ctx)} == {"unchanged"}
    assert seen[0] <= 2  # the run's one read of every board, and the batch: not one transaction per board
    for i in range(12):
        assert [f.status for f in store.fetches(f"b{i}")] == ["unchanged", "changed"]


def test_a_recovery_is_recorded_at_once_with_its_event(server: LocalServer, store: Store, tmp_path: Path) -> None:
    s = boards(server, 3)
    ctx = Context(store, Archive(tmp_path / "snapshots"), HttpFetcher(s.fetch))
    run_all(s, ctx)
    server.route("/b1.csv", Response(503, b"down"))
    assert [r.status for r in run_all(s, ctx)] == ["unchanged", "failed", "unchanged"]
    server.route("/b1.csv", Response(body=b"model,top1\nA,1.5\nB,1.1\n"))
    results = run_all(s, ctx)
    assert [e.type.value for e in results[1].events] == ["source_recovered"]
    assert [f.status for f in store.fetches("b1")] == ["unchanged", "failed", "changed"]
    assert [e.type.value for e in store.events("b1", ["source_recovered"])] == ["source_recovered"]


def test_a_full_batch_is_written_before_the_run_ends(store: Store) -> None:
    store.ensure_board("x", "x", "http://example.org/x.csv")
    batch = FetchBatch(store, size=2)
    info = FetchInfo(started_at=datetime.now(UTC), status="not_modified")
    batch.add("x", info)
    assert store.fetches("x") == []
    batch.add("x", info)
    assert len(store.fetches("x")) == 2
    batch.add("x", info)
    batch.flush()
    assert len(store.fetches("x")) == 3


def refuse_fetch_rows(store: Store, refuse: bool) -> None:
    """A real database refusal of every new fetch row (a trigger), or its end; SQLite and PostgreSQL alike."""
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS refuse_fetch")
            if refuse:
                conn.exec_driver_sql('CREATE TRIGGER refuse_fetch BEFORE INSERT ON "fetch" '
                                     "BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END")
        else:
            conn.exec_driver_sql('DROP TRIGGER IF EXISTS refuse_fetch ON "fetch"')
            conn.exec_driver_sql("CREATE OR REPLACE FUNCTION refuse_fetch() RETURNS trigger AS "
                                 "$$ BEGIN RAISE EXCEPTION 'disk quota exceeded'; END $$ LANGUAGE plpgsql")
            if refuse:
                conn.exec_driver_sql('CREATE TRIGGER refuse_fetch BEFORE INSERT ON "fetch" '
                                     "FOR EACH ROW EXECUTE FUNCTION refuse_fetch()")


def test_a_batch_that_cannot_be_written_keeps_its_records_for_the_next_try(store: Store, caplog: Any) -> None:
    store.ensure_board("x", "x", "http://example.org/x.csv")
    batch = FetchBatch(store, size=2)
    info = FetchInfo(started_at=datetime.now(UTC), status="not_modified")
    refuse_fetch_rows(store, True)
    batch.add("x", info)
    batch.add("x", info)  # full: the write fails, is logged, and the add itself does not fail
    assert "could not record 2 unchanged fetch(es)" in caplog.text and "disk quota exceeded" in caplog.text
    assert batch.close() is False
    refuse_fetch_rows(store, False)
    assert batch.close() is True
    assert len(store.fetches("x")) == 2


def test_a_run_whose_batch_cannot_be_written_still_returns_every_boards_result(
        server: LocalServer, store: Store, tmp_path: Path, caplog: Any) -> None:
    s = boards(server, 4)
    ctx = Context(store, Archive(tmp_path / "snapshots"), HttpFetcher(s.fetch))
    run_all(s, ctx)
    refuse_fetch_rows(store, True)
    assert [r.status for r in run_all(s, ctx)] == ["unchanged"] * 4  # not an exception out of run_all
    assert "could not record 4 unchanged fetch(es)" in caplog.text
    refuse_fetch_rows(store, False)
    assert [len(store.fetches(f"b{i}")) for i in range(4)] == [1] * 4  # the lost records: fetched sooner, no harm


def test_a_batched_record_names_the_worker_as_a_single_record_does(server: LocalServer, store: Store,
                                                                   tmp_path: Path) -> None:
    s = boards(server, 3)
    ctx = Context(store, Archive(tmp_path / "snapshots"), HttpFetcher(s.fetch))
    store.worker = "worker-A"
    run_all(s, ctx)
    run_all(s, ctx)  # unchanged: through the batch
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql('SELECT status, worker FROM "fetch" ORDER BY id').all()
    assert [tuple(r) for r in rows] == [("changed", "worker-A")] * 3 + [("unchanged", "worker-A")] * 3
