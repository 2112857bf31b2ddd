"""What `tracker boards` and `tracker run --due` read of many boards at once equals what the one-board queries say."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event

from tracker import config, scheduler
from tracker.fetch import HttpFetcher
from tracker.pipeline import Context, run_all
from tracker.store import Archive, Store
from tracker.store.runstate import statuses

from .conftest import LocalServer, Response

FIELDS = {"model": "model", "top1": "top1"}


def test_statuses_equal_status_board_by_board(server: LocalServer, store: Store, tmp_path: Path) -> None:
    ids = ["steady", "broke", "never-ok", "changes", "idle"]
    for b in ids:
        server.route(f"/{b}.csv", Response(body=b"model,top1\nA,1.5\nB,1.1\n"))
    server.route("/never-ok.csv", Response(500, b"down"))
    s = config.parse({"fetch": {"robots": False, "per_host_delay": 0, "retries": 0},
                      "board": [{"id": b, "url": server.url(f"/{b}.csv"), "format": "csv", "metric": "top1",
                                 "fields": FIELDS} for b in ids]}, base=Path("/"))
    ctx = Context(store, Archive(tmp_path / "snapshots"), HttpFetcher(s.fetch))
    run_all(s, ctx, specs=s.boards[:4])  # "idle" is never run
    server.route("/broke.csv", Response(503, b"busy"))
    server.route("/changes.csv", Response(body=b"model,top1\nA,1.5\nB,1.9\n"))
    run_all(s, ctx, specs=s.boards[:4])
    run_all(s, ctx, specs=s.boards[:4])
    store.ensure_board("idle", "idle", server.url("/idle.csv"))
    one = [store.status(b.id, b.title, b.url) for b in s.boards]
    seen = [0]
    event.listen(store.engine, "commit", lambda *_: seen.__setitem__(0, seen[0] + 1))
    many = statuses(store, [(b.id, b.title, b.url) for b in s.boards])
    assert seen[0] <= 1
    assert [many[b.id] for b in s.boards] == one
    by = {st.id: st for st in one}
    assert by["broke"].consecutive_failures == 2 and "503" in (by["broke"].last_error or "")
    assert by["never-ok"].last_success_at is None and by["never-ok"].fetches == 3
    assert by["changes"].snapshots == 2 and by["idle"].fetches == 0 and by["idle"].last_fetch_at is None
    assert [h.id for h in scheduler.health(s, store)] == ids
