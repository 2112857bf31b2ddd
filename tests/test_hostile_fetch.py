"""HttpFetcher and the webhook against hostile servers on 127.0.0.1: dribbling, stalling, lying, bombing, redirecting.

The raw-socket servers live here (not in conftest): each speaks just enough HTTP/1.1 to misbehave in one way.
Every loop is bounded and every server stops when its fixture closes it.
"""

from __future__ import annotations

import gzip
import os
import signal
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from urllib3.exceptions import ReadTimeoutError

from tracker import config
from tracker.config import FetchSettings
from tracker.errors import FetchError, NotifyError
from tracker.fetch import HttpFetcher, describe
from tracker.fetch.netguard import is_private, resolve
from tracker.models import ChangeKind, Event
from tracker.notify.base import Alert
from tracker.notify.webhook import WebhookNotifier
from tracker.pipeline import Context, run_source
from tracker.scheduler import serve
from tracker.store import Archive, Store

from .conftest import LocalServer, Response

FAST = FetchSettings(timeout=5, connect_timeout=2, per_host_delay=0, backoff=0.01, retries=0, robots=False,
                     deadline=10)
BODY = b"model,top1\nA,90.0\nB,89.0\n"
OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\n"


class RawServer:
    """A raw TCP server on 127.0.0.1: `handle(conn, request, stopped)` writes whatever bytes it likes."""

    def __init__(self, handle: Callable[[socket.socket, bytes, threading.Event], None]) -> None:
        self.handle = handle
        self.requests: list[bytes] = []
        self.stopped = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        """The full URL of a path on this server."""
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}{path}"

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < 65536:
                part = conn.recv(4096)
                if not part:
                    return
                data += part
            self.requests.append(data)
            self.handle(conn, data, self.stopped)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        """Stop accepting and tell the handlers to stop."""
        self.stopped.set()
        self.sock.close()


@pytest.fixture
def raw() -> Iterator[Callable[..., RawServer]]:
    made: list[RawServer] = []

    def make(handle: Callable[[socket.socket, bytes, threading.Event], None]) -> RawServer:
        made.append(RawServer(handle))
        return made[-1]

    yield make
    for s in made:
        s.close()


def dribble(head: bytes, body: bytes = b"x" * 1000, every: float = 0.2) -> Callable[..., None]:
    """Send `head` at once, then the body one byte every `every` seconds (at most 30 s, stops with the server)."""
    def handle(conn: socket.socket, _: bytes, stopped: threading.Event) -> None:
        conn.sendall(head)
        for i in range(min(len(body), int(30 / every))):
            if stopped.wait(every):
                return
            conn.sendall(body[i:i + 1])
    return handle


def answer(payload: bytes, hold: float = 0.0) -> Callable[..., None]:
    """Send `payload`, keep the connection open `hold` seconds, then close it."""
    def handle(conn: socket.socket, _: bytes, stopped: threading.Event) -> None:
        conn.sendall(payload)
        stopped.wait(hold)
    return handle


def spec(url: str, board_id: str = "b", **extra: object) -> config.BoardSpec:
    return config.parse({"board": [{"id": board_id, "url": url, "format": "csv", "metric": "top1",
                                    "fields": {"model": "model", "top1": "top1"}, **extra}]},
                        base=Path("/")).boards[0]


# 5. fetch time is bounded --------------------------------------------------------------------------------------

def test_dribbling_body_stops_at_the_deadline(raw: Callable[..., RawServer]) -> None:
    srv = raw(dribble(OK_HEAD + b"Content-Length: 1000\r\n\r\n"))
    t = time.monotonic()
    with pytest.raises(FetchError, match=r"gave up after the \[fetch\] deadline of 2s .*raise \[fetch\] deadline"):
        HttpFetcher(replace(FAST, timeout=1, deadline=2)).fetch(srv.url("/board.csv"))
    assert 1.8 <= time.monotonic() - t < 3.0


def test_dribbling_headers_stop_at_the_deadline(raw: Callable[..., RawServer]) -> None:
    srv = raw(dribble(b"", OK_HEAD + b"X-Pad: " + b"y" * 500 + b"\r\n\r\n"))
    t = time.monotonic()
    with pytest.raises(FetchError, match=r"deadline of 1.5s"):
        HttpFetcher(replace(FAST, timeout=1, deadline=1.5)).fetch(srv.url("/board.csv"))
    assert time.monotonic() - t < 2.5


def test_deadline_holds_through_an_http_proxy(raw: Callable[..., RawServer]) -> None:
    proxy = raw(dribble(OK_HEAD + b"Content-Length: 1000\r\n\r\n"))
    fetcher = HttpFetcher(replace(FAST, timeout=1, deadline=1))
    fetcher.session.trust_env = False
    fetcher.session.proxies = {"http": proxy.url("")}
    t = time.monotonic()
    with pytest.raises(FetchError, match=r"deadline of 1s"):
        fetcher.fetch("http://board.example/board.csv")
    assert time.monotonic() - t < 2.0
    assert proxy.requests[0].startswith(b"GET http://board.example/board.csv ")


def test_deadline_covers_retry_sleeps(server: LocalServer) -> None:
    url = server.route("/lb.csv", Response(503, b"", {"Retry-After": "30"}))
    t = time.monotonic()
    with pytest.raises(FetchError, match="deadline of 1s"):
        HttpFetcher(replace(FAST, retries=3, deadline=1)).fetch(url)
    assert time.monotonic() - t < 2.0 and len(server.hits_for("/lb.csv")) == 1


def test_cancel_aborts_a_dribble_and_later_fetches(raw: Callable[..., RawServer]) -> None:
    srv = raw(dribble(OK_HEAD + b"Content-Length: 1000\r\n\r\n"))
    fetcher = HttpFetcher(replace(FAST, deadline=60))
    timer = threading.Timer(0.5, fetcher.cancel)
    timer.start()
    t = time.monotonic()
    with pytest.raises(FetchError, match=r"board.csv: cancelled: tracker is stopping"):
        fetcher.fetch(srv.url("/board.csv"))
    latency = time.monotonic() - t - 0.5
    print(f"cancel() during a dribble: fetch() raised {latency * 1000:.0f} ms later")
    assert latency < 1.0, latency
    t = time.monotonic()
    with pytest.raises(FetchError, match="cancelled: tracker is stopping"):
        fetcher.fetch(srv.url("/other.csv"))
    assert time.monotonic() - t < 0.1 and len(srv.requests) == 1


def test_cancel_wakes_a_retry_sleep(server: LocalServer) -> None:
    url = server.route("/lb.csv", Response(503, b"", {"Retry-After": "30"}))
    fetcher = HttpFetcher(replace(FAST, retries=3, deadline=60))
    threading.Timer(0.3, fetcher.cancel).start()
    t = time.monotonic()
    with pytest.raises(FetchError, match="cancelled"):
        fetcher.fetch(url)
    assert time.monotonic() - t < 1.5


def test_sigterm_stops_schedule_mid_dribble(raw: Callable[..., RawServer], store: Store, tmp_path: Path) -> None:
    srv = raw(dribble(OK_HEAD + b"Content-Length: 1000\r\n\r\n"))
    settings = config.parse({"board": [{"id": "b", "url": srv.url("/lb.csv"), "format": "csv", "metric": "top1",
                                        "every": "1h", "fields": {"model": "model", "top1": "top1"}}],
                             "fetch": {"robots": False, "per_host_delay": 0, "deadline": 60},
                             "schedule": {"jitter": 0}}, base=Path("/"))
    ctx = Context(store, Archive(tmp_path), HttpFetcher(settings.fetch))
    old = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    sent: list[float] = []

    def kill_when_fetching() -> None:
        for _ in range(100):
            if srv.requests:
                break
            time.sleep(0.05)
        time.sleep(0.5)
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=kill_when_fetching, daemon=True).start()
    try:
        serve(settings, ctx)
    finally:
        signal.signal(signal.SIGTERM, old[0])
        signal.signal(signal.SIGINT, old[1])
    assert sent
    stopped_after = time.monotonic() - sent[0]
    print(f"SIGTERM mid-dribble: serve() returned {stopped_after * 1000:.0f} ms after the signal")
    assert stopped_after < 3.0
    # stopping tracker is not the source's fault: the interrupted fetch is recorded as nothing, no failure streak
    assert store.fetches("b") == [] and store.events("b") == []


def test_stalled_read_says_read_timed_out_and_is_not_retried(raw: Callable[..., RawServer]) -> None:
    srv = raw(answer(OK_HEAD + b"Content-Length: 100\r\n\r\nmodel,top1\n", hold=5))
    with pytest.raises(FetchError, match=r"read timed out after 0.5s") as info:
        HttpFetcher(replace(FAST, timeout=0.5, retries=2)).fetch(srv.url("/board.csv"))
    assert "cannot connect" not in str(info.value) and len(srv.requests) == 1


def test_describe_a_read_timeout_wrapped_as_connection_error() -> None:
    exc = requests.ConnectionError(ReadTimeoutError(None, "/x", "Read timed out."))  # type: ignore[arg-type]
    assert describe(exc, 2).startswith("read timed out after 2s")


# 6. truncated downloads fail --------------------------------------------------------------------------------

def test_body_shorter_than_content_length(raw: Callable[..., RawServer]) -> None:
    srv = raw(answer(OK_HEAD + b"Content-Length: 100\r\n\r\nmodel,top1\nA,1\n"))
    with pytest.raises(FetchError, match=r"board.csv: the download was cut short \(got 15 of 100 bytes\); "
                                         r"will try again on the next run"):
        HttpFetcher(FAST).fetch(srv.url("/board.csv"))


@pytest.mark.parametrize("chunks", [b"5\r\nmodel\r\nZZ\r\n", b"5\r\nmodel\r\n40\r\n,top1", b"5\r\nmodel\r\n"])
def test_broken_chunked_encoding(raw: Callable[..., RawServer], chunks: bytes) -> None:
    srv = raw(answer(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunks))
    with pytest.raises(FetchError, match=r"the download was cut short \(broken chunked encoding"):
        HttpFetcher(FAST).fetch(srv.url("/board.csv"))


def test_gzip_body_over_max_bytes_when_decompressed(server: LocalServer) -> None:
    bomb = gzip.compress(b"A,1\n" * 2_000_000)
    assert len(bomb) < 100_000
    url = server.route("/lb.csv", Response(body=bomb, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(FetchError, match=r"over max_bytes \(1000000, decompressed\)"):
        HttpFetcher(replace(FAST, max_bytes=1_000_000)).fetch(url)


# 3. robots.txt with limits, and Protego rules ---------------------------------------------------------------

def gzip_bomb(prefix: bytes, size: int) -> bytes:
    """`prefix` then newlines up to `size` bytes, gzip-compressed without holding `size` bytes in memory."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [z.compress(prefix)]
    block = b"\n" * (1 << 20)
    for _ in range(size >> 20):
        out.append(z.compress(block))
    out.append(z.flush())
    return b"".join(out)


def test_robots_gzip_bomb_is_read_up_to_the_cap(server: LocalServer) -> None:
    bomb = gzip_bomb(b"User-agent: *\nDisallow: /private/\n", 100_000_000)
    server.route("/robots.txt", Response(body=bomb, headers={"Content-Encoding": "gzip"}))
    ok = server.route("/board.csv", Response(body=BODY))
    fetcher = HttpFetcher(replace(FAST, robots=True))
    tracemalloc.start()
    t = time.monotonic()
    try:
        assert fetcher.fetch(ok).content == BODY
        with pytest.raises(FetchError, match=r"disallowed by robots\.txt"):
            fetcher.fetch(server.url("/private/board.csv"))
        took = time.monotonic() - t
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"robots gzip bomb ({len(bomb)} bytes -> 100 MB): {took:.2f}s, peak {peak / 1e6:.1f} MB traced")
    assert took < 3.0 and peak < 20_000_000
    assert len(server.hits_for("/robots.txt")) == 1


def test_robots_wildcards_and_end_anchor(server: LocalServer) -> None:
    server.route("/robots.txt", Response(body=b"User-agent: *\nDisallow: /*.csv$\n"))
    server.route("/board.json", Response(body=b"[]"))
    server.route("/board.csv", Response(body=BODY))
    fetcher = HttpFetcher(replace(FAST, robots=True))
    assert fetcher.fetch(server.url("/board.json")).content == b"[]"
    with pytest.raises(FetchError, match=r"board\.csv: disallowed by robots\.txt"):
        fetcher.fetch(server.url("/board.csv"))
    assert server.hits_for("/board.csv") == []


def test_robots_errors_name_the_board_then_robots(server: LocalServer) -> None:
    server.route("/robots.txt", Response(503, b"busy"))
    url = server.route("/board.csv", Response(body=BODY))
    with pytest.raises(FetchError, match=rf"^{url}: cannot read {server.url('/robots.txt')}: HTTP 503 "):
        HttpFetcher(replace(FAST, robots=True)).fetch(url)
    dead = socket.create_server(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()
    board = f"http://127.0.0.1:{port}/board.csv"
    with pytest.raises(FetchError, match=rf"^{board}: cannot read http://127.0.0.1:{port}/robots.txt: cannot "
                                         r"connect \("):
        HttpFetcher(replace(FAST, robots=True)).fetch(board)


# 8. redirects cannot reach internal services ----------------------------------------------------------------

def public_localhost(host: str) -> list[str]:
    """A resolver that calls `localhost` public (so a 127.0.0.1 server can play a public site)."""
    return ["93.184.216.34"] if host == "localhost" else ["10.0.0.5"] if host == "internal.test" else resolve(host)


def test_is_private_uses_the_real_resolver_by_default() -> None:
    assert is_private("127.0.0.1") and is_private("localhost") and is_private("[::1]") and is_private("10.1.2.3")
    assert is_private("169.254.169.254") and is_private("0.0.0.0") and is_private("::ffff:192.168.0.1")
    assert not is_private("93.184.216.34") and not is_private("localhost", public_localhost)


def test_redirect_from_public_to_private_is_refused(server: LocalServer) -> None:
    inner = LocalServer()
    try:
        secret = inner.route("/admin", Response(body=b"internal"))
        server.route("/board.csv", Response(302, b"", {"Location": secret}))
        board = server.url("/board.csv").replace("127.0.0.1", "localhost")
        with pytest.raises(FetchError, match=r"board.csv: refused a redirect to 127.0.0.1 \(a private/loopback "
                                             r"address\); set \[fetch\] allow_private = true if you trust it"):
            HttpFetcher(FAST, resolver=public_localhost).fetch(board)
        server.route("/board2.csv", Response(302, b"", {"Location": "http://internal.test:9/x"}))
        with pytest.raises(FetchError, match=r"refused a redirect to internal\.test "):
            HttpFetcher(FAST, resolver=public_localhost).fetch(board.replace("board.csv", "board2.csv"))
        assert inner.hits == []
        page = HttpFetcher(replace(FAST, allow_private=True), resolver=public_localhost).fetch(board)
        assert page.content == b"internal" and page.url == secret
    finally:
        inner.close()


def test_private_board_may_redirect_within_its_network(server: LocalServer) -> None:
    inner = LocalServer()
    try:
        target = inner.route("/lb.csv", Response(body=BODY))
        url = server.route("/board.csv", Response(307, b"", {"Location": target}))
        page = HttpFetcher(FAST).fetch(url)
        assert page.content == BODY and page.url == target
    finally:
        inner.close()


def test_redirect_rules_relative_scheme_and_count(server: LocalServer) -> None:
    server.route("/data/new.csv", Response(body=BODY))
    url = server.route("/data/old.csv", Response(301, b"", {"Location": "new.csv"}))
    assert HttpFetcher(FAST).fetch(url).url == server.url("/data/new.csv")
    url = server.route("/file.csv", Response(302, b"", {"Location": "file:///etc/passwd"}))
    with pytest.raises(FetchError, match=r"refused a redirect to file:///etc/passwd \(only http and https"):
        HttpFetcher(FAST).fetch(url)
    url = server.route("/loop.csv", Response(302, b"", {"Location": "/loop.csv"}))
    with pytest.raises(FetchError, match="more than 10 redirects"):
        HttpFetcher(FAST).fetch(url)
    assert len(server.hits_for("/loop.csv")) == 11


def test_robots_of_the_redirect_host_is_consulted(server: LocalServer) -> None:
    other = LocalServer()
    try:
        other.route("/robots.txt", Response(body=b"User-agent: *\nDisallow: /\n"))
        target = other.route("/lb.csv", Response(body=BODY))
        url = server.route("/board.csv", Response(302, b"", {"Location": target}))
        with pytest.raises(FetchError, match=r"disallowed by robots.txt \(redirected to .*/lb.csv\)"):
            HttpFetcher(replace(FAST, robots=True)).fetch(url)
        assert len(server.hits_for("/robots.txt")) == 1 and len(other.hits_for("/robots.txt")) == 1
        assert other.hits_for("/lb.csv") == []
    finally:
        other.close()


def test_errors_quote_the_status_line_not_the_body(server: LocalServer) -> None:
    url = server.route("/lb.csv", Response(403, b"SECRET-TOKEN=abc"))
    with pytest.raises(FetchError) as info:
        HttpFetcher(FAST).fetch(url)
    assert str(info.value) == f"{url}: HTTP 403 Forbidden"


# 8/12. webhooks: no redirects, an Idempotency-Key ------------------------------------------------------------

def alert(event_id: int) -> Alert:
    return Alert(Event(id=event_id, type=ChangeKind.LEADER_CHANGED, board="b", observed_at=datetime.now(UTC),
                       snapshot_id=None, model="A", key=("A",), metric="top1", value=2.0, previous_model="B",
                       previous_value=1.0, message="A takes the lead"), "Board", "https://example.org/b")


def test_webhook_does_not_follow_a_307(server: LocalServer) -> None:
    elsewhere = server.route("/elsewhere", Response(200, b"ok"))
    hook = server.route("/hook", Response(307, b"", {"Location": elsewhere}))
    with pytest.raises(NotifyError, match=r"HTTP 307 Temporary Redirect \(webhooks do not follow redirects; "
                                          r"point the target at the final URL\)"):
        WebhookNotifier("webhook+" + hook, secret="s3cret").send([alert(7)])
    assert len(server.hits_for("/hook")) == 1 and server.hits_for("/elsewhere") == []


def test_webhook_sends_an_idempotency_key(server: LocalServer) -> None:
    import hashlib
    import json

    hook = server.route("/hook", Response(204))
    target = "webhook+" + hook
    digest_of_target = hashlib.sha256(target.encode()).hexdigest()[:16]
    WebhookNotifier(target).send([alert(7)])
    WebhookNotifier(target).send([alert(7), alert(9)], digest=True)
    single, digest = server.hits_for("/hook")
    assert single.headers["Idempotency-Key"] == f"7:{digest_of_target}"
    assert digest.headers["Idempotency-Key"] == f"7,9:{digest_of_target}"
    assert json.loads(single.body)["event_id"] == 7 and json.loads(digest.body)["count"] == 2


# end to end: a hostile fetch is a recorded failure -------------------------------------------------------------

def test_hostile_fetch_through_run_source_is_a_recorded_failure(raw: Callable[..., RawServer], store: Store,
                                                                 tmp_path: Path) -> None:
    srv = raw(answer(OK_HEAD + b"Content-Length: 500\r\n\r\nmodel,top1\nA,1\n"))
    r = run_source(spec(srv.url("/lb.csv")), Context(store, Archive(tmp_path), HttpFetcher(FAST)))
    assert r.failed and "cut short (got 15 of 500 bytes)" in (r.error or "")
    assert store.fetches("b")[0].status == "failed"
    dribbler = raw(dribble(OK_HEAD + b"Content-Length: 1000\r\n\r\n"))
    t = time.monotonic()
    r = run_source(spec(dribbler.url("/lb.csv"), "d"),
                   Context(store, Archive(tmp_path), HttpFetcher(replace(FAST, deadline=1))))
    assert r.failed and "deadline of 1s" in (r.error or "") and time.monotonic() - t < 2.5
    assert store.fetches("d")[0].status == "failed"
