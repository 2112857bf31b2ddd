"""What the fetcher takes from the environment: proxies, ~/.netrc and the CA bundle, read once when they cannot
change between requests, and honoured as requests does when they are set."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import LocalServer, Response
from tracker.config import FetchSettings
from tracker.fetch import HttpFetcher

FAST = FetchSettings(timeout=5, per_host_delay=0, backoff=0.01, robots=False)
CSV = b"Model,Score\nalpha,90.1\n"


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No proxy variable, no netrc: HOME is an empty folder."""
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NETRC", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_environment_read_once_when_nothing_in_it_can_matter(bare_env: Path, server: LocalServer,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    fetcher = HttpFetcher(FAST)
    assert fetcher.session.trust_env is False
    assert fetcher.session.verify == "/etc/ssl/certs/ca-certificates.crt"  # what requests would have used
    assert fetcher.fetch(server.route("/lb.csv", Response(body=CSV))).content == CSV


def test_proxy_variable_is_honoured(bare_env: Path, server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", server.base.rstrip("/"))
    server.route("http://board.example/lb.csv", Response(body=CSV))  # the server is the proxy: absolute URIs
    fetcher = HttpFetcher(replace(FAST, allow_private=True))
    assert fetcher.session.trust_env is True
    assert fetcher.fetch("http://board.example/lb.csv").content == CSV
    assert server.hits_for("http://board.example/lb.csv")


def test_netrc_keeps_requests_reading_it(bare_env: Path, server: LocalServer) -> None:
    (bare_env / ".netrc").write_text("machine 127.0.0.1 login reader password s3cret\n")
    (bare_env / ".netrc").chmod(0o600)
    fetcher = HttpFetcher(FAST)
    assert fetcher.session.trust_env is True
    url = server.route("/private.csv", Response(body=CSV))
    assert fetcher.fetch(url).content == CSV
    assert server.hits_for("/private.csv")[0].headers.get("Authorization", "").startswith("Basic ")
