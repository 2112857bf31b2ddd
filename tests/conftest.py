"""Shared fixtures: a real HTTP server on 127.0.0.1, a temporary store, config writing, a clean environment."""

from __future__ import annotations

import contextlib
import csv
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tracker.pipeline import Context
from tracker.store import Archive, Store

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "fixtures" / "real"
PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"


def versions(folder: str) -> list[dict[str, str]]:
    """Rows of a real history's versions.tsv, in replay order."""
    path = REAL / folder / "versions.tsv"
    if not path.exists():
        pytest.skip(f"real fixtures not found at {REAL}")
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@dataclass
class Response:
    """One canned answer: status, headers, body; `delay` seconds before answering."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Handler = Callable[[dict[str, str]], Response]


@dataclass
class Hit:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class LocalServer:
    """A real HTTP server on 127.0.0.1; routes map a path to a list of answers (the last one repeats)."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Response | Handler]] = {}
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        server = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()}
                with server.lock:
                    server.hits.append(Hit(self.command, self.path, headers, body))
                    queue = server.routes.get(self.path.split("?")[0])
                    answer: Response | Handler | None = None
                    if queue:
                        answer = queue.pop(0) if len(queue) > 1 else queue[0]
                if answer is None:
                    answer = Response(404, b"not found")
                resp = answer(headers) if callable(answer) else answer
                if resp.delay:
                    import time

                    time.sleep(resp.delay)
                self.send_response(resp.status)
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in resp.headers:
                    self.send_header("Content-Length", str(len(resp.body)))
                self.end_headers()
                if self.command != "HEAD":
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(resp.body)

            do_GET = do_POST = do_HEAD = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        """The full URL of a path on this server."""
        return self.base + path

    def route(self, path: str, *answers: Response | Handler) -> str:
        """Serve these answers at `path`, in order; return its URL."""
        with self.lock:
            self.routes[path] = list(answers)
        return self.url(path)

    def hits_for(self, path: str) -> list[Hit]:
        """Requests received for `path`."""
        return [h for h in self.hits if h.path.split("?")[0] == path]

    def close(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    s = LocalServer()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TRACKER_") and name != "TRACKER_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def _reset(url: str) -> None:
    """Empty the database: every table, including ones the store's migrations add (alembic_version)."""
    from sqlalchemy import create_engine, text

    from tracker.store.schema import Base

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL lock_timeout = '20s'"))  # fail, not hang, if a session still holds a table
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            else:
                Base.metadata.drop_all(conn)
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """A fresh database: TRACKER_TEST_DATABASE_URL (emptied first) or a temporary SQLite file."""
    url = os.environ.get("TRACKER_TEST_DATABASE_URL")
    if url:
        _reset(url)
        yield url
        _reset(url)
    else:
        yield f"sqlite:///{tmp_path / 'tracker.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()


@pytest.fixture
def ctx(store: Store, tmp_path: Path) -> Context:
    return Context(store, Archive(tmp_path / "snapshots"))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def board_toml(**kw: Any) -> str:
    """A [[board]] table from keyword arguments; `fields` is a dict of field -> source spec."""
    fields = kw.pop("fields")
    lines = ["[[board]]"]
    for k, v in kw.items():
        lines.append(f"{k} = {toml_value(v)}")
    lines.append("[board.fields]")
    for k, v in fields.items():
        lines.append(f"{k} = {toml_value(v)}")
    return "\n".join(lines) + "\n"


def toml_value(v: Any) -> str:
    """A TOML literal for simple Python values."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


@pytest.fixture
def write_config(tmp_path: Path, db_url: str) -> Callable[..., Path]:
    """Write config.toml with the given [[board]] tables (and extra TOML); return its path."""
    def write(*boards: str, extra: str = "", lock_wait: float = 10.0) -> Path:
        path = tmp_path / "config.toml"
        fetch = "" if "[fetch]" in extra else "[fetch]\nper_host_delay = 0\nbackoff = 0.01\nrobots = false\n"
        storage = f'[storage]\nurl = "{db_url}"\nsnapshots = "snapshots"\nlock_wait = {lock_wait}\n'
        path.write_text(f"{storage}{fetch}{extra}\n" + "\n".join(boards))
        return path
    return write
