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
