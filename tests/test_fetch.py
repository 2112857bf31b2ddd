"""The polite HTTP client against a real server on 127.0.0.1 (no mocks of requests)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tracker import config
from tracker.config import FetchSettings
from tracker.errors import FetchError
from tracker.fetch import HttpFetcher
from tracker.pipeline import Context, run_all, run_source
from tracker.store import Archive, Store

from .conftest import LocalServer, Response

FAST = FetchSettings(timeout=5, per_host_delay=0, backoff=0.01, robots=False)
BODY = b"model,top1\nA,90.0\nB,89.0\n"


def spec(url: str, board_id: str = "b") -> config.BoardSpec:
    return config.parse({"board": [{"id": board_id, "url": url, "format": "csv", "metric": "top1",
                                    "fields": {"model": "model", "top1": "top1"}}]}, base=Path("/")).boards[0]


def test_503_503_200_gives_one_snapshot_and_no_failure(server: LocalServer, store: Store, tmp_path: Path) -> None:
    url = server.route("/lb.csv", Response(503, b"busy"), Response(503, b"busy"), Response(body=BODY))
    r = run_source(spec(url), Context(store, Archive(tmp_path), HttpFetcher(FAST)))
    assert r.status == "baseline" and len(server.hits_for("/lb.csv")) == 3
    assert store.events("b") == [] and len(store.fetches("b")) == 1


def test_retries_exhausted_is_a_failure(server: LocalServer) -> None:
    url = server.route("/lb.csv", Response(502, b"bad gateway"))
    with pytest.raises(FetchError, match=r"HTTP 502 Bad Gateway \(gave up after 3 attempts\)"):
        HttpFetcher(replace(FAST, retries=2)).fetch(url)
    assert len(server.hits_for("/lb.csv")) == 3


def test_429_with_retry_after_waits_and_succeeds(server: LocalServer) -> None:
    url = server.route("/lb.csv", Response(429, b"slow down", {"Retry-After": "1"}), Response(body=BODY))
    t = time.monotonic()
    page = HttpFetcher(FAST).fetch(url)
    assert page.content == BODY and time.monotonic() - t >= 1.0


def test_retry_after_http_date_and_cap(server: LocalServer) -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=1), usegmt=True)
    url = server.route("/a.csv", Response(503, b"", {"Retry-After": soon}), Response(body=BODY))
    assert HttpFetcher(FAST).fetch(url).content == BODY
    url = server.route("/b.csv", Response(503, b"", {"Retry-After": "3600"}))
    with pytest.raises(FetchError, match=r"retry after 3600s, more than \[fetch\] max_retry_after"):
        HttpFetcher(FAST).fetch(url)
    assert len(server.hits_for("/b.csv")) == 1


def test_other_4xx_fail_at_once(server: LocalServer) -> None:
    url = server.route("/lb.csv", Response(403, b"no"))
    with pytest.raises(FetchError, match="HTTP 403 Forbidden"):
        HttpFetcher(FAST).fetch(url)
    assert len(server.hits_for("/lb.csv")) == 1


def test_read_timeout_fails_cleanly(server: LocalServer, store: Store, tmp_path: Path) -> None:
    url = server.route("/slow.csv", Response(body=BODY, delay=3))
    r = run_source(spec(url), Context(store, Archive(tmp_path), HttpFetcher(replace(FAST, timeout=0.5))))
    assert r.failed and "read timed out after 0.5s" in (r.error or "")
    assert [e.type.value for e in store.events("b")] == ["source_failed"]


def test_oversized_body_without_content_length(server: LocalServer) -> None:
    big = b"model,top1\n" + b"x,1\n" * 10_000

    def chunked(_: dict[str, str]) -> Response:
        return Response(200, big, {"Content-Length": str(len(big))})

    url = server.route("/big.csv", chunked)
    with pytest.raises(FetchError, match=r"over max_bytes \(1000\)"):
        HttpFetcher(replace(FAST, max_bytes=1000)).fetch(url)


def test_robots_disallow_is_a_source_failure(server: LocalServer, store: Store, tmp_path: Path) -> None:
    server.route("/robots.txt", Response(body=b"User-agent: *\nDisallow: /private/\n"))
    url = server.route("/private/lb.csv", Response(body=BODY))
    ok = server.route("/public/lb.csv", Response(body=BODY))
    fetcher = HttpFetcher(replace(FAST, robots=True))
    r = run_source(spec(url), Context(store, Archive(tmp_path), fetcher))
    assert r.failed and "disallowed by robots.txt" in (r.error or "")
    assert server.hits_for("/private/lb.csv") == []
    assert fetcher.fetch(ok).content == BODY
    assert fetcher.fetch(ok).content == BODY
    assert len(server.hits_for("/robots.txt")) == 1                     # cached per host


def test_missing_robots_allows_everything(server: LocalServer) -> None:
    url = server.route("/lb.csv", Response(body=BODY))
    assert HttpFetcher(replace(FAST, robots=True)).fetch(url).content == BODY


def test_redirect_is_followed(server: LocalServer) -> None:
    server.route("/new.csv", Response(body=BODY))
    url = server.route("/old.csv", Response(301, b"", {"Location": server.url("/new.csv")}))
    page = HttpFetcher(FAST).fetch(url)
    assert page.content == BODY and page.url.endswith("/new.csv")


def test_declared_charset_and_gzip(server: LocalServer) -> None:
    import gzip

    body = "model,top1\nNaïve,1\n".encode("latin-1")
    url = server.route("/l1.csv", Response(body=gzip.compress(body), headers={
        "Content-Type": "text/csv; charset=ISO-8859-1", "Content-Encoding": "gzip"}))
    page = HttpFetcher(FAST).fetch(url)
    assert page.content == body and page.encoding == "ISO-8859-1"
    assert server.hits_for("/l1.csv")[0].headers["Accept-Encoding"].startswith("gzip")


def test_user_agent_and_per_host_delay(server: LocalServer) -> None:
    url = server.route("/lb.csv", Response(body=BODY))
    fetcher = HttpFetcher(replace(FAST, per_host_delay=0.5, user_agent="tracker-test (ops@example.org)"))
    t = time.monotonic()
    for _ in range(3):
        fetcher.fetch(url)
    assert time.monotonic() - t >= 1.0
    assert server.hits_for("/lb.csv")[0].headers["User-Agent"] == "tracker-test (ops@example.org)"


class InFlight:
    """Counts requests in flight across servers and remembers the most seen at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def handler(self, _: dict[str, str]) -> Response:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.4)
        with self.lock:
            self.now -= 1
        return Response(body=BODY)


def test_boards_on_different_hosts_run_concurrently(store: Store, tmp_path: Path) -> None:
    servers = [LocalServer() for _ in range(3)]
    counter = InFlight()
    try:
        boards = [{"id": f"b{i}", "url": s.route("/lb.csv", counter.handler), "format": "csv", "metric": "top1",
                   "fields": {"model": "model", "top1": "top1"}} for i, s in enumerate(servers)]
        settings = config.parse({"board": boards, "fetch": {"workers": 3}}, base=Path("/"))
        results = run_all(settings, Context(store, Archive(tmp_path), HttpFetcher(FAST)))
        assert [r.status for r in results] == ["baseline"] * 3
        assert counter.most == 3
    finally:
        for s in servers:
            s.close()


def test_one_request_in_flight_per_host(server: LocalServer, store: Store, tmp_path: Path) -> None:
    counter = InFlight()
    boards = [{"id": f"b{i}", "url": server.route(f"/lb{i}.csv", counter.handler), "format": "csv",
               "metric": "top1", "fields": {"model": "model", "top1": "top1"}} for i in range(3)]
    settings = config.parse({"board": boards, "fetch": {"workers": 3}}, base=Path("/"))
    results = run_all(settings, Context(store, Archive(tmp_path), HttpFetcher(FAST)))
    assert [r.status for r in results] == ["baseline"] * 3
    assert counter.most == 1


def test_a_connection_goes_back_to_the_pool_with_no_deadline_watching_it(server: LocalServer,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The watchdog shuts down the connection of a fetch whose deadline passed. Once the connection is back in
    urllib3's pool another fetch may take it (a board spelling the same host another way passes the per-host
    lock), so no watch may still hold it then: a deadline firing late would cut someone else's download."""
    import urllib3.connectionpool

    from tracker.fetch import watch

    held: list[bool] = []
    real = urllib3.connectionpool.HTTPConnectionPool._put_conn

    def put_conn(pool: object, conn: object) -> None:
        with watch._DOG._cond:
            watches = [w for _, _, w in watch._DOG._heap]
        held.append(any(w._conn is conn for w in watches if conn is not None))
        real(pool, conn)  # type: ignore[arg-type]

    monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "_put_conn", put_conn)
    url = server.route("/lb.csv", Response(body=BODY))
    fetcher = HttpFetcher(replace(FAST, deadline=600))
    for _ in range(3):
        assert fetcher.fetch(url).content == BODY
    server.route("/gone.csv", Response(404))
    with pytest.raises(FetchError):
        fetcher.fetch(server.url("/gone.csv"))
    assert held and not any(held)


def test_one_host_spelled_two_ways_is_one_host_for_the_gate() -> None:
    from tracker.fetch.gate import host_key

    same = ["https://Example.org/a", "https://example.org:443/b", "https://user:pw@EXAMPLE.org/c",
            "HTTPS://example.org"]
    assert {host_key(u) for u in same} == {"example.org"}
    assert host_key("http://example.org:8080/x") == "example.org:8080" != host_key("http://example.org/x")
    assert host_key("http://[::1]:8000/x") == "::1:8000" and host_key("http://h:bad/x") == "h:bad"


def test_per_host_delay_holds_across_spellings_of_a_host(server: LocalServer) -> None:
    url = server.route("/lb.csv", Response(body=BODY))
    spelled = url.replace("http://127.0.0.1", "http://someone@127.0.0.1")
    fetcher = HttpFetcher(replace(FAST, per_host_delay=0.5))
    t = time.monotonic()
    for u in (url, spelled, url):
        fetcher.fetch(u)
    assert time.monotonic() - t >= 1.0
