"""robots.txt kept in the store between runs (migration 0007): read once a day per host, not once per run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner, Result

from tests.conftest import LocalServer, Response, board_toml
from tracker.cli import cli
from tracker.store import Store
from tracker.store import robots as kept

CSV = b"Model,Score\nalpha,90.1\nbeta,89.5\n"
FETCH = "[fetch]\nper_host_delay = 0\nbackoff = 0.01\nrobots = true\nretries = 0\n"


def board(url: str, bid: str = "b") -> str:
    return board_toml(id=bid, url=url, format="csv", metric="score", fields={"model": "Model", "score": "Score"})


def run(runner: CliRunner, cfg: Path) -> Result:
    return runner.invoke(cli, ["--config", str(cfg), "run"], catch_exceptions=False)


def test_a_second_run_does_not_read_robots_txt_again(server: LocalServer, runner: CliRunner, db_url: str,
                                                     write_config: Callable[..., Path]) -> None:
    server.route("/robots.txt", Response(body=b"User-agent: *\nDisallow: /private/\n"))
    cfg = write_config(board(server.route("/lb.csv", Response(body=CSV))),
                       board(server.route("/private/lb.csv", Response(body=CSV)), "hidden"), extra=FETCH)
    first = run(runner, cfg)
    assert first.exit_code == 2 and "hidden" in first.output and "disallowed by robots.txt" in first.output
    assert len(server.hits_for("/robots.txt")) == 1
    second = run(runner, cfg)  # a new process would do the same: the rules come from the store
    assert second.exit_code == 2 and "disallowed by robots.txt" in second.output
    assert len(server.hits_for("/robots.txt")) == 1
    assert len(server.hits_for("/lb.csv")) == 2 and not server.hits_for("/private/lb.csv")
    store = Store(db_url)
    try:
        saved = kept.recent(store, timedelta(days=1))
        assert list(saved) == [server.base.rstrip("/")]
        assert "Disallow: /private/" in (saved[server.base.rstrip("/")][1] or "")
    finally:
        store.close()


def test_a_robots_txt_older_than_a_day_is_read_again(server: LocalServer, runner: CliRunner, db_url: str,
                                                      write_config: Callable[..., Path]) -> None:
    server.route("/robots.txt", Response(404))
    cfg = write_config(board(server.route("/lb.csv", Response(body=CSV))), extra=FETCH)
    assert run(runner, cfg).exit_code == 0
    store = Store(db_url)
    try:
        origin = server.base.rstrip("/")
        saved = kept.recent(store, timedelta(days=1))
        assert list(saved) == [origin] and saved[origin][1] is None  # it has none: everything is allowed
        kept.save(store, origin, None, when=datetime.now(UTC) - timedelta(hours=25))
    finally:
        store.close()
    assert run(runner, cfg).exit_code == 0
    assert len(server.hits_for("/robots.txt")) == 2


def test_no_credentials_of_a_board_url_are_stored(server: LocalServer, runner: CliRunner, db_url: str,
                                                  write_config: Callable[..., Path]) -> None:
    server.route("/robots.txt", Response(body=b"User-agent: *\nAllow: /\n"))
    url = server.route("/lb.csv", Response(body=CSV)).replace("http://", "http://reader:hunter2-secret@")
    cfg = write_config(board(url), extra=FETCH)
    assert run(runner, cfg).exit_code == 0
    store = Store(db_url)
    try:
        saved = kept.recent(store, timedelta(days=1))
        assert saved and all("hunter2" not in o and "reader" not in o for o in saved)
    finally:
        store.close()


def test_origin_key_drops_credentials_and_keeps_port() -> None:
    assert kept.origin_key("https://u:p@Example.org:8443") == "https://example.org:8443"
    assert kept.origin_key("http://[::1]:8080/x") == "http://[::1]:8080"
    assert kept.origin_key("https://example.org") == "https://example.org"


def test_a_kept_robots_txt_is_found_however_the_board_url_spells_its_host(
        server: LocalServer, runner: CliRunner, write_config: Callable[..., Path]) -> None:
    server.route("/robots.txt", Response(body=b"User-agent: *\nAllow: /\n"))
    url = server.route("/lb.csv", Response(body=CSV))
    spelled = url.replace("http://127.0.0.1", "http://reader:pw@127.0.0.1")  # stored without the credentials
    cfg = write_config(board(spelled), extra=FETCH)
    assert run(runner, cfg).exit_code == 0
    assert run(runner, cfg).exit_code == 0
    assert len(server.hits_for("/robots.txt")) == 1  # the second run found the kept copy under its plain origin
