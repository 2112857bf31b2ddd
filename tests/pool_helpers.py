"""Helpers for the worker-pool tests: a schema per test, many local hosts that log their requests, a webhook
receiver, a TCP proxy that can be cut, and `tracker` worker processes (outputs to files, always killed)."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def pg_base() -> str:
    url = os.environ.get("TRACKER_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: set TRACKER_TEST_DATABASE_URL=postgresql+psycopg://... (see .ci/postgres)")
    return url


@contextlib.contextmanager
def fresh_schema(base: str) -> Iterator[str]:
    """A new, empty schema in the test database; the URL selects it (search_path). Dropped afterwards."""
    name = f"w_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    url = make_url(base)
    url = url.update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text("SET lock_timeout = '20s'"))
            conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        admin.dispose()


class Quiet(ThreadingHTTPServer):
    """A server that does not print the resets of clients killed mid-request (the tests kill workers)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@dataclass(frozen=True)
class Request:
    host: str
    path: str
    start: float
    end: float
    sent_etag: str | None = None  # the If-None-Match the client sent: the ETag of the last fetch it had recorded
    etag: str = ""  # the ETag answered


class HostFarm:
    """`n` HTTP servers on 127.0.0.1 (each its own host:port); every request is logged with its start and end.

    `/b/<board>.csv` answers a leaderboard whose version changes every `period` seconds (or with every request):
    the lead flips between two models and a third row, `V<version>`, is renamed each time, so every version is a
    new snapshot with events, and each snapshot's rename names the version it was compared with.
    """

    def __init__(self, n: int, period: float = 6.0, delay: float = 0.0, every_request: bool = False) -> None:
        self.log: list[Request] = []
        self.lock = threading.Lock()
        self.period, self.delay, self.every_request = period, delay, every_request
        self.served: dict[str, int] = {}
        self.servers = [self._server() for _ in range(n)]

    def version(self, board: str, now: float) -> int:
        """The document's version: by the clock, or (every_request) a new one for every request of the board."""
        if not self.every_request:
            return int(now // self.period)
        with self.lock:
            self.served[board] = self.served.get(board, 0) + 1
            return self.served[board]

    def body(self, board: str, v: int) -> bytes:
        a, b = (91.0, 90.5) if v % 2 else (90.0, 90.5)
        return f"model,top1\nA,{a}\nB,{b}\nV{v},1.0\n".encode()

    def _server(self) -> ThreadingHTTPServer:
        farm = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                start = time.time()
                if farm.delay:
                    time.sleep(farm.delay)
                board = self.path.rsplit("/", 1)[-1].removesuffix(".csv")
                v = farm.version(board, start)
                body = farm.body(board, v)
                etag = f'"{v}"'
                same = self.headers.get("If-None-Match") == etag
                self.send_response(304 if same else 200)
                self.send_header("ETag", etag)
                if not same:
                    self.send_header("Content-Type", "text/csv")
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    if not same:
                        self.wfile.write(body)
                    self.wfile.flush()
                end = time.time()  # the answer is on its way (the client may read it this very moment)
                with farm.lock:
                    farm.log.append(Request(f"127.0.0.1:{self.server.server_address[1]}", self.path, start, end,
                                            self.headers.get("If-None-Match"), etag))

        httpd = Quiet(("127.0.0.1", 0), H)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return httpd

    def url(self, i: int, board: str) -> str:
        return f"http://127.0.0.1:{self.servers[i % len(self.servers)].server_address[1]}/b/{board}.csv"

    def requests(self) -> list[Request]:
        with self.lock:
            return list(self.log)

    def close(self) -> None:
        for s in self.servers:
            s.shutdown()
            s.server_close()


class Receiver:
    """A webhook receiver on 127.0.0.1: every POST's Idempotency-Key and arrival time."""

    def __init__(self) -> None:
        self.got: list[tuple[str, float]] = []
        self.lock = threading.Lock()
        rec = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with rec.lock:
                    rec.got.append((self.headers.get("Idempotency-Key", ""), time.time()))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Proxy:
    """A TCP proxy to PostgreSQL that can be cut: cut() closes every connection and refuses new ones."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.open: list[socket.socket] = []
        self.is_cut = threading.Event()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            if self.is_cut.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while not self.is_cut.is_set():
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self) -> None:
        self.is_cut.set()
        with self.lock:
            for s in self.open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()

    def close(self) -> None:
        self.cut()
        self.sock.close()


class Procs:
    """`tracker` processes whose output goes to files (a full pipe would stall them); all killed at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, cfg: Path, *args: str, name: str = "") -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        log = self.tmp / f"{name or 'proc'}-{len(self.procs)}.log"
        with log.open("wb") as fh:
            p = subprocess.Popen([sys.executable, "-m", "tracker", "--config", str(cfg), *args], env=env,
                                 stdout=fh, stderr=subprocess.STDOUT)
        self.procs.append((p, log))
        return p

    def output(self, p: subprocess.Popen[bytes]) -> str:
        for q, log in self.procs:
            if q is p:
                return log.read_text(errors="replace")
        return ""

    def stop(self, p: subprocess.Popen[bytes], timeout: float = 30) -> int:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            return p.wait(timeout=10)

    def close(self) -> None:
        for p, _ in self.procs:
            if p.poll() is None:
                p.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=10)


def wait_for(check: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    """Poll `check` until it is true or `timeout` seconds passed; returns its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


def csv_board(board: str, url: str, every: str = "2s") -> str:
    return (f'[[board]]\nid = "{board}"\ntitle = "Board {board}"\nurl = "{url}"\nformat = "csv"\nmetric = "top1"\n'
            f'every = "{every}"\nmax_drop = 1.0\n[board.fields]\nmodel = "model"\ntop1 = "top1"\n')


def write_config(path: Path, db: str, boards: list[str], *, lease: str = "5s", per_host_delay: float = 0.1,
                 threads: int = 4, extra: str = "", lock_wait: float = 20) -> Path:
    path.write_text(f'[storage]\nurl = "{db}"\nsnapshots = "{path.parent / "snapshots"}"\nlock_wait = {lock_wait}\n'
                    f'[fetch]\nper_host_delay = {per_host_delay}\nrobots = false\nworkers = {threads}\n'
                    f'retries = 0\ntimeout = 10\n[schedule]\nlease = "{lease}"\njitter = 0\n{extra}\n'
                    + "\n".join(boards))
    return path


def via(url: str, port: int) -> str:
    """The same database URL through another port on 127.0.0.1 (a Proxy)."""
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
