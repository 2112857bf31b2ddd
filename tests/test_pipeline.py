"""End to end: a real HTTP server on 127.0.0.1, a temporary SQLite file, the raw archive on disk."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tracker import config
from tracker.config import FetchSettings
from tracker.fetch import HttpFetcher
from tracker.pipeline import Context, run_all, run_source
from tracker.store import Archive, Store

from .conftest import LocalServer, Response

HEAD = "model,top1\n"
FAST = FetchSettings(timeout=5, per_host_delay=0, backoff=0.01, robots=False)


def settings(url: str, **extra: object) -> config.Settings:
    board = {"id": "b", "title": "Board", "url": url, "format": "csv", "metric": "top1",
             "fields": {"model": "model", "top1": "top1"}, **extra}
    return config.parse({"board": [board]}, base=Path("/"))


def ctx_for(store: Store, tmp_path: Path) -> Context:
    return Context(store, Archive(tmp_path / "snapshots"), HttpFetcher(FAST))


def csv_body(*rows: tuple[str, float]) -> bytes:
    return (HEAD + "".join(f"{m},{v}\n" for m, v in rows)).encode()


def test_baseline_then_unchanged_then_change(server: LocalServer, store: Store, tmp_path: Path) -> None:
    url = server.route("/lb.csv", Response(body=csv_body(("A", 90.0), ("B", 89.0))),
                       Response(body=csv_body(("A", 90.0), ("B", 89.0))),
                       Response(body=csv_body(("B", 89.0), ("A", 90.0))),
                       Response(body=csv_body(("A", 90.0), ("B", 91.0), ("C", 80.0))))
    spec = settings(url).boards[0]
    ctx = ctx_for(store, tmp_path)
    first = run_source(spec, ctx)
    assert (first.status, first.rows, first.events) == ("baseline", 2, ())
    assert run_source(spec, ctx).status == "unchanged"          # byte-identical
    reordered = run_source(spec, ctx)
    assert reordered.status == "unchanged"                      # same rows, other order: no data change
    third = run_source(spec, ctx)
    assert third.status == "changed"
    assert sorted(e.type.value for e in third.events) == ["entry_added", "leader_changed", "new_sota",
                                                          "score_changed"]
    lc = next(e for e in third.events if e.type.value == "leader_changed")
    assert (lc.model, lc.previous_model, lc.value, lc.previous_value) == ("B", "A", 91.0, 90.0)
    assert len(store.history("b")) == 2
    assert len(store.fetches("b")) == 4
    assert server.hits_for("/lb.csv")[0].headers["User-Agent"].startswith("tracker/")
    latest = store.latest("b")
    assert latest is not None and latest.raw_sha is not None
    assert Archive(tmp_path / "snapshots").get(latest.raw_sha) == csv_body(("A", 90.0), ("B", 91.0), ("C", 80.0))


def test_broken_page_is_quarantined_and_never_diffed(server: LocalServer, store: Store, tmp_path: Path) -> None:
    good = csv_body(("A", 90.0), ("B", 89.0), ("C", 88.0), ("D", 87.0))
    url = server.route("/lb.csv", Response(body=good),
                       Response(body=b"<html>Service temporarily unavailable</html>"),
                       Response(body=csv_body(("A", 90.0))),
                       Response(body=good))
    spec = settings(url).boards[0]
    ctx = ctx_for(store, tmp_path)
    assert run_source(spec, ctx).status == "baseline"
    broken = run_source(spec, ctx)
    assert broken.status == "failed" and "no column for field 'model'" in (broken.error or "")
    assert [e.type.value for e in broken.events] == ["source_failed"]
    dropped = run_source(spec, ctx)
    assert dropped.status == "failed" and "down from 4" in (dropped.error or "") and "max_drop" in (dropped.error or "")
    back = run_source(spec, ctx)
    assert back.status == "unchanged"                            # diffed against the last good one: no events
    assert len(store.history("b")) == 1
    events = [(e.type.value, e.value) for e in store.events("b")]
    assert events == [("source_failed", 1.0), ("source_failed", 2.0), ("source_recovered", 2.0)]
    assert "(2 failed runs in a row)" in store.events("b")[1].message
    failed = [f for f in store.fetches("b") if f.status == "failed"]
    assert all(f.raw_sha and Archive(tmp_path / "snapshots").path(f.raw_sha).exists() for f in failed)


def test_http_error_and_too_few_rows(server: LocalServer, store: Store, tmp_path: Path) -> None:
    url = server.route("/lb.csv", Response(404, b"gone"), Response(body=csv_body(("A", 1.0))))
    spec = settings(url, min_rows=2).boards[0]
    ctx = ctx_for(store, tmp_path)
    r = run_source(spec, ctx)
    assert r.failed and "HTTP 404" in (r.error or "")
    r = run_source(spec, ctx)
    assert r.failed and "fewer than min_rows (2)" in (r.error or "")
    assert store.status("b", "", "").consecutive_failures == 2
    assert store.latest("b") is None


def test_etag_gives_304_and_no_download(server: LocalServer, store: Store, tmp_path: Path) -> None:
    body = csv_body(("A", 1.0))

    def handler(headers: dict[str, str]) -> Response:
        if headers.get("If-None-Match") == '"v1"':
            return Response(304, b"", {"ETag": '"v1"'})
        return Response(200, body, {"ETag": '"v1"', "Content-Type": "text/csv; charset=utf-8"})

    url = server.route("/lb.csv", handler)
    spec = settings(url).boards[0]
    ctx = ctx_for(store, tmp_path)
    assert run_source(spec, ctx).status == "baseline"
    assert run_source(spec, ctx).status == "unchanged"
    hits = server.hits_for("/lb.csv")
    assert "If-None-Match" not in hits[0].headers and hits[1].headers["If-None-Match"] == '"v1"'
    assert [f.status for f in store.fetches("b")] == ["not_modified", "changed"]


def test_oversized_body_fails_cleanly(server: LocalServer, store: Store, tmp_path: Path) -> None:
    url = server.route("/big.csv", Response(body=csv_body(*[(f"m{i}", float(i)) for i in range(1000)])))
    spec = settings(url).boards[0]
    ctx = Context(store, Archive(tmp_path / "s"), HttpFetcher(replace(FAST, max_bytes=1000)))
    r = run_source(spec, ctx)
    assert r.failed and "over max_bytes (1000)" in (r.error or "")


def test_one_bad_board_never_stops_the_run(server: LocalServer, store: Store, tmp_path: Path) -> None:
    good = server.route("/good.csv", Response(body=csv_body(("A", 1.0))))
    s = config.parse({"board": [
        {"id": "bad", "url": "http://127.0.0.1:9/nothing.csv", "format": "csv", "metric": "top1",
         "fields": {"model": "model", "top1": "top1"}},
        {"id": "good", "url": good, "format": "csv", "metric": "top1",
         "fields": {"model": "model", "top1": "top1"}}]}, base=Path("/"))
    results = run_all(s, ctx_for(store, tmp_path))
    assert [r.status for r in results] == ["failed", "baseline"]
    assert "cannot connect" in (results[0].error or "")


def test_config_change_reparses_identical_bytes(server: LocalServer, store: Store, tmp_path: Path) -> None:
    body = b"model,top1,top5\nA,1.0,5.0\n"
    url = server.route("/lb.csv", Response(body=body))
    ctx = ctx_for(store, tmp_path)
    run_source(settings(url).boards[0], ctx)
    spec2 = settings(url, metrics=["top5"], fields={"model": "model", "top1": "top1", "top5": "top5"}).boards[0]
    r = run_source(spec2, ctx)
    assert r.status == "changed"
    latest = store.latest("b")
    assert latest is not None and latest.rows[0].value("top5") == 5.0
