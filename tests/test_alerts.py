"""Alerts against real receivers on 127.0.0.1: a webhook HTTP server and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import re
import socket
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.store import Store

from .conftest import REAL, LocalServer, Response, board_toml, toml_value, versions

SECRET = "s3cret-value-not-for-logs"
FIELDS = {"model": "model", "top1": "top1"}


def alert_toml(**kw: Any) -> str:
    return "[[alert]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in kw.items())


def cli_run(runner: CliRunner, cfg: Path, *args: str) -> tuple[int, str, str]:
    r = runner.invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def posts(server: LocalServer, path: str = "/hook") -> list[dict[str, Any]]:
    return [json.loads(h.body) for h in server.hits_for(path) if h.method == "POST"]


def csv(*rows: tuple[str, float]) -> bytes:
    return ("model,top1\n" + "".join(f"{m},{v}\n" for m, v in rows)).encode()


@pytest.fixture
def board(server: LocalServer) -> Callable[..., str]:
    def make(*answers: bytes, board_id: str = "lb", **extra: Any) -> str:
        url = server.route(f"/{board_id}.csv", *[Response(body=a) for a in answers])
        return board_toml(id=board_id, title="Leaderboard", url=url, format="csv", metric="top1", fields=FIELDS,
                          **extra)
    return make


def test_signed_webhook_once_per_leader_change(runner: CliRunner, server: LocalServer, store: Store,
                                               write_config: Callable[..., Path], board: Callable[..., str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_WEBHOOK_SECRET", SECRET)
    server.route("/hook", Response(200, b"ok"))
    cfg = write_config(board(csv(("A", 90.0), ("B", 89.0)), csv(("A", 90.0), ("B", 91.0))),
                       extra=alert_toml(on=["leader_changed", "new_sota"], notify=[server.url("/hook").replace(
                           "http://", "webhook+http://")], secret="${TRACKER_WEBHOOK_SECRET}"))
    assert cli_run(runner, cfg, "run")[0] == 0
    code, out, err = cli_run(runner, cfg, "run")
    assert code == 0 and "alerts: 2 sent" in out and SECRET not in out + err
    hits = [h for h in server.hits_for("/hook") if h.method == "POST"]
    assert len(hits) == 2
    for h in hits:
        want = "sha256=" + hmac.new(SECRET.encode(), h.body, hashlib.sha256).hexdigest()
        assert h.headers["X-Tracker-Signature"] == want
    body = json.loads(hits[1].body)
    assert set(body) == {"event_id", "type", "board", "board_title", "observed_at", "model", "value",
                         "previous_model", "previous_value", "margin", "url", "message", "significant", "published",
                         "backdated"}
    assert body["significant"] is True and body["backdated"] is False
    assert (body["type"], body["model"], body["previous_model"], body["value"], body["previous_value"]) == (
        "leader_changed", "B", "A", 91.0, 90.0)
    assert body["margin"] == pytest.approx(1.0) and body["board_title"] == "Leaderboard"
    assert body["message"].startswith("Leaderboard: B (91) takes the lead from A (90), +1; source http://127.0.0.1")
    assert "; seen 20" in body["message"]
    for _ in range(2):                                     # unchanged re-runs send nothing
        assert cli_run(runner, cfg, "run")[0] == 0
    assert len(posts(server)) == 2
    code, out, _ = cli_run(runner, cfg, "alerts", "--format", "json")
    items = json.loads(out)
    assert [(d["type"], d["status"], d["attempts"]) for d in items] == [("new_sota", "sent", 1),
                                                                        ("leader_changed", "sent", 1)]
    assert all(SECRET not in d["target"] for d in items)


def test_receiver_failing_twice_then_ok(runner: CliRunner, server: LocalServer, store: Store,
                                        write_config: Callable[..., Path], board: Callable[..., str]) -> None:
    server.route("/hook", Response(500, b"no"), Response(500, b"no"), Response(200, b"ok"))
    cfg = write_config(board(csv(("A", 90.0)), csv(("A", 90.0), ("B", 91.0))),
                       extra=alert_toml(notify=["webhook+" + server.url("/hook")], backoff=0))
    cli_run(runner, cfg, "run")
    _, out, _ = cli_run(runner, cfg, "run")
    assert "alerts: 0 sent, 1 failed (will retry)" in out
    _, out, _ = cli_run(runner, cfg, "alerts", "--status", "pending")
    assert "HTTP 500" in out
    _, out, _ = cli_run(runner, cfg, "run")
    assert "1 failed (will retry)" in out
    _code, out, _ = cli_run(runner, cfg, "run")
    assert "alerts: 1 sent" in out
    cli_run(runner, cfg, "run")
    assert [p["type"] for p in posts(server)] == ["leader_changed"] * 3      # two 500s, one 200, then nothing
    d = store.outbox.list()
    assert [(x.status, x.attempts) for x in d] == [("sent", 3)]


def test_dead_after_max_attempts_and_retry(runner: CliRunner, server: LocalServer, store: Store,
                                           write_config: Callable[..., Path], board: Callable[..., str]) -> None:
    server.route("/hook", Response(503, b"down"), Response(503, b"down"), Response(200, b"ok"))
    cfg = write_config(board(csv(("A", 90.0)), csv(("B", 91.0), ("A", 90.0))),
                       extra=alert_toml(notify=["webhook+" + server.url("/hook")], backoff=0, max_attempts=2))
    cli_run(runner, cfg, "run")
    cli_run(runner, cfg, "run")
    code, out, _ = cli_run(runner, cfg, "run")
    assert "1 dead (see `tracker alerts --status dead`)" in out
    code, out, _ = cli_run(runner, cfg, "alerts", "--status", "dead", "--format", "json")
    assert json.loads(out)[0]["last_error"].endswith("HTTP 503 Service Unavailable")
    code, out, _ = cli_run(runner, cfg, "alerts", "retry")
    assert (code, out.strip()) == (0, "alerts: 1 sent")
    assert store.outbox.list(status="sent")


def test_crash_before_sending_delivers_on_next_run(runner: CliRunner, server: LocalServer, store: Store,
                                                   write_config: Callable[..., Path], board: Callable[..., str],
                                                   tmp_path: Path) -> None:
    from tracker import config
    from tracker.fetch import HttpFetcher
    from tracker.pipeline import Context, run_all
    from tracker.store import Archive

    server.route("/hook", Response(200, b"ok"))
    cfg = write_config(board(csv(("A", 90.0)), csv(("B", 91.0), ("A", 90.0))),
                       extra=alert_toml(notify=["webhook+" + server.url("/hook")]))
    settings = config.load(cfg)
    ctx = Context(store, Archive(tmp_path / "snapshots"), HttpFetcher(settings.fetch))
    run_all(settings, ctx)
    run_all(settings, ctx)                       # events stored, then "crash": no dispatch
    assert posts(server) == [] and store.events("lb", ["leader_changed"])
    _code, out, _ = cli_run(runner, cfg, "run")
    assert "lb: unchanged" in out and "alerts: 1 sent" in out
    assert [p["model"] for p in posts(server)] == ["B"]


def test_import_is_quiet_unless_asked(runner: CliRunner, server: LocalServer, tmp_path: Path,
                                      write_config: Callable[..., Path], board: Callable[..., str]) -> None:
    server.route("/hook", Response(200, b"ok"))
    cfg = write_config(board(csv(("A", 1.0))), extra=alert_toml(notify=["webhook+" + server.url("/hook")]))
    files = []
    for i, rows in enumerate([[("A", 90.0)], [("B", 91.0), ("A", 90.0)], [("A", 92.0), ("B", 91.0)]]):
        f = tmp_path / f"v{i}.csv"
        f.write_bytes(csv(*rows))
        files.append(str(f))
    assert cli_run(runner, cfg, "import", "lb", files[0], files[1])[0] == 0
    assert posts(server) == []
    _code, out, _ = cli_run(runner, cfg, "import", "lb", files[2], "--alert")
    assert "alerts: 1 sent" in out and [p["model"] for p in posts(server)] == ["A"]


def test_min_margin_records_but_does_not_alert(runner: CliRunner, server: LocalServer, store: Store,
                                               write_config: Callable[..., Path], board: Callable[..., str]) -> None:
    server.route("/hook", Response(200, b"ok"))
    cfg = write_config(board(csv(("A", 90.0), ("B", 89.0)), csv(("A", 90.0), ("B", 90.05)),
                             csv(("A", 90.0), ("B", 90.05), ("C", 91.0))),
                       extra=alert_toml(notify=["webhook+" + server.url("/hook")], min_margin=0.1))
    for _ in range(3):
        cli_run(runner, cfg, "run")
    assert [p["model"] for p in posts(server)] == ["C"]
    suppressed = store.outbox.list(status="suppressed")
    assert len(suppressed) == 1 and "margin 0.05 is below min_margin 0.1" in (suppressed[0].last_error or "")
    assert len(store.events("lb", ["leader_changed"])) == 2


def test_source_health_alerts_once_and_recovery_once(runner: CliRunner, server: LocalServer,
                                                     write_config: Callable[..., Path]) -> None:
    server.route("/hook", Response(200, b"ok"))
    url = server.route("/lb.csv", Response(body=csv(("A", 1.0))), *[Response(500, b"x")] * 4,
                       Response(body=csv(("A", 1.0))))
    cfg = write_config(board_toml(id="lb", url=url, format="csv", metric="top1", fields=FIELDS),
                       extra="[fetch]\nper_host_delay = 0\nretries = 0\nrobots = false\n" +
                       alert_toml(notify=["webhook+" + server.url("/hook")], failures=3))
    for _ in range(7):
        cli_run(runner, cfg, "run")
    got = [(p["type"], p["message"].split(";")[0]) for p in posts(server)]
    assert [t for t, _ in got] == ["source_failed", "source_recovered"]
    assert "(3 failed runs in a row)" in got[0][1] and "recovered after 4 failed runs" in got[1][1]


def test_digest_sends_one_message_per_target(runner: CliRunner, server: LocalServer,
                                             write_config: Callable[..., Path], board: Callable[..., str]) -> None:
    server.route("/hook", Response(200, b"ok"))
    cfg = write_config(board(csv(("A", 90.0)), csv(("B", 91.0), ("A", 90.0), ("C", 80.0))),
                       extra=alert_toml(on=["leader_changed", "new_sota", "entry_added"], digest=True,
                                        notify=["webhook+" + server.url("/hook")]))
    cli_run(runner, cfg, "run")
    _code, out, _ = cli_run(runner, cfg, "run")
    assert "alerts: 4 sent" in out
    bodies = posts(server)
    assert len(bodies) == 1 and bodies[0]["digest"] is True and bodies[0]["count"] == 4
    assert [e["type"] for e in bodies[0]["events"]] == ["new_sota", "leader_changed", "entry_added", "entry_added"]


class Mailbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def test_email_through_a_real_smtp_server(runner: CliRunner, smtp: tuple[Mailbox, int],
                                          write_config: Callable[..., Path], board: Callable[..., str]) -> None:
    box, port = smtp
    target = f"mailto://127.0.0.1:{port}?from=tracker@example.org&to=me@example.org"
    cfg = write_config(board(csv(("Model soups", 90.98)), csv(("CoCa", 91.0), ("Model soups", 90.98))),
                       extra=alert_toml(notify=[target]))
    cli_run(runner, cfg, "run")
    _code, out, err = cli_run(runner, cfg, "run")
    assert "alerts: 1 sent" in out, err
    assert len(box.messages) == 1
    msg = box.messages[0]
    assert msg["Subject"] == "Leaderboard: CoCa takes the lead" and "me@example.org" in msg["To"]
    html = next(p.get_payload(decode=True).decode() for p in msg.walk() if p.get_content_type() == "text/html")
    assert "<table" in html and "<td>CoCa</td>" in html and "<td>+0.02</td>" in html
    assert "Model soups (90.98)" in html
    assert msg.get_content_type() == "multipart/alternative"
    plain = next(p.get_payload(decode=True).decode() for p in msg.walk() if p.get_content_type() == "text/plain")
    lines = plain.splitlines()
    assert lines[0].startswith("Leaderboard: CoCa (91) takes the lead from Model soups (90.98), +0.02; source ")
    head = next(line for line in lines if line.startswith("Board "))
    row = lines[lines.index(head) + 2]
    assert head.split() == ["Board", "Event", "Model", "Value", "Previous", "Margin", "Seen"]
    assert set(lines[lines.index(head) + 1]) == {"-", " "}
    assert row.startswith("Leaderboard  leader changed  CoCa ")
    for column, cell in (("Event", "leader changed"), ("Model", "CoCa"), ("Value", "91"),
                         ("Previous", "Model soups (90.98)"), ("Margin", "+0.02")):
        assert row.index(cell) == head.index(column), (column, head, row)     # each cell under its heading
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", row[head.index("Seen"):])
    assert "\nCoCa\n" not in plain and lines[-1].startswith("Sources: http://127.0.0.1")


def test_alerts_test_command(runner: CliRunner, server: LocalServer, smtp: tuple[Mailbox, int],
                             write_config: Callable[..., Path], board: Callable[..., str]) -> None:
    server.route("/hook", Response(200, b"ok"))
    cfg = write_config(board(csv(("A", 1.0))))
    code, out, _ = cli_run(runner, cfg, "alerts", "test", "webhook+" + server.url("/hook"))
    assert code == 0 and out.startswith("sent a test alert to webhook+http://127.0.0.1")
    assert posts(server)[0]["board"] == "tracker-test"
    box, port = smtp
    code, out, _ = cli_run(runner, cfg, "alerts", "test", f"mailto://127.0.0.1:{port}?from=a@example.org&to=b@x.org")
    assert code == 0 and len(box.messages) == 1
    code, out, err = cli_run(runner, cfg, "alerts", "test", "webhook+http://127.0.0.1:9/none")
    assert code == 2 and "Error: webhook+http://127.0.0.1:9/none: ConnectionError" in err
    code, out, err = cli_run(runner, cfg, "alerts", "test", "nosuchservice://token@host")
    assert code == 2 and "is not a URL Apprise understands" in err
    code, out, _ = cli_run(runner, cfg, "alerts", "test", "console")
    assert code == 0 and "ALERT tracker test: Test model (91) takes the lead" in out


def test_bad_target_is_refused_at_load(runner: CliRunner, write_config: Callable[..., Path],
                                       board: Callable[..., str]) -> None:
    cfg = write_config(board(csv(("A", 1.0))), extra=alert_toml(notify=["nosuchservice://user:hunter2@host"]))
    code, _, err = cli_run(runner, cfg, "boards")
    assert code == 2 and "nosuchservice://user:***@host" in err and "hunter2" not in err
    cfg = write_config(board(csv(("A", 1.0))), extra=alert_toml(on=["leader_change"]))
    code, _, err = cli_run(runner, cfg, "boards")
    assert code == 2 and "unknown event type 'leader_change' in 'on' (allowed: entry_added" in err


def serve_history(server: LocalServer, folder: str) -> tuple[str, Callable[[int], None]]:
    files = [REAL / folder / v["file"] for v in versions(folder)]
    current = {"i": 0}
    url = server.route("/board.csv", lambda _h: Response(body=files[current["i"]].read_bytes()))

    def show(i: int) -> None:
        current["i"] = i
    return url, show


def test_timm_history_through_tracker_run_posts_once_per_leader_change(
        runner: CliRunner, server: LocalServer, write_config: Callable[..., Path]) -> None:
    url, show = serve_history(server, "timm-imagenet")
    server.route("/hook", Response(200, b"ok"))
    cfg = write_config(board_toml(id="imagenet-timm", title="ImageNet-1k top-1 (timm)", url=url, format="csv",
                                  metric="top1", key=["model", "img_size"],
                                  fields={"model": "model", "img_size": "img_size", "top1": "top1"}),
                       extra=alert_toml(on=["leader_changed"], notify=["webhook+" + server.url("/hook")]))
    for i in range(35):
        show(i)
        assert cli_run(runner, cfg, "run")[0] == 0
    got = [(p["model"], p["previous_model"]) for p in posts(server)]
    assert got == [("tf_efficientnet_l2_ns", "ig_resnext101_32x48d"),
                   ("beit_large_patch16_512", "tf_efficientnet_l2_ns"),
                   ("eva_giant_patch14_560.m30m_ft_in22k_in1k", "beit_large_patch16_512"),
                   ("eva02_large_patch14_448.mim_m38m_ft_in22k_in1k", "eva_giant_patch14_560.m30m_ft_in22k_in1k")]
    for _ in range(2):
        assert cli_run(runner, cfg, "run")[1].startswith("imagenet-timm: unchanged")
    assert len(posts(server)) == 4


def test_lmarena_vision_flip_flop_confirm(runner: CliRunner, server: LocalServer, store: Store,
                                          write_config: Callable[..., Path]) -> None:
    url, show = serve_history(server, "lmarena-vision")
    server.route("/once", Response(200, b"ok"))
    server.route("/twice", Response(200, b"ok"))
    cfg = write_config(board_toml(id="arena-vision", title="LMArena vision", url=url, format="csv",
                                  metric="arena_score", fields={"model": "model", "arena_score": "arena_score"}),
                       extra=alert_toml(notify=["webhook+" + server.url("/once")], confirm=1)
                       + alert_toml(notify=["webhook+" + server.url("/twice")], confirm=2))
    for i in range(4):
        show(i)
        cli_run(runner, cfg, "run")
    assert [(p["model"], p["previous_model"]) for p in posts(server, "/once")] == [
        ("Gemini-2.5-Pro-Preview-05-06", "Gemini-2.5-Pro"), ("Gemini-2.5-Pro", "Gemini-2.5-Pro-Preview-05-06")]
    assert posts(server, "/twice") == []
    reasons = sorted(d.last_error or "" for d in store.outbox.list(status="suppressed"))
    assert reasons == ["Gemini-2.5-Pro is back in the lead; no change since the last alert",
                       "the lead did not hold for 2 snapshots"]


def test_confirm_2_alerts_a_lead_that_holds(runner: CliRunner, server: LocalServer,
                                            write_config: Callable[..., Path], board: Callable[..., str]) -> None:
    server.route("/hook", Response(200, b"ok"))
    cfg = write_config(board(csv(("A", 90.0), ("B", 80.0)), csv(("B", 91.0), ("A", 90.0)),
                             csv(("B", 91.5), ("A", 90.0))),
                       extra=alert_toml(notify=["webhook+" + server.url("/hook")], confirm=2))
    cli_run(runner, cfg, "run")
    cli_run(runner, cfg, "run")
    assert posts(server) == []
    _code, out, _ = cli_run(runner, cfg, "run")
    assert "alerts: 1 sent" in out and [p["model"] for p in posts(server)] == ["B"]
