"""Many writers at once: real `tracker` processes on one store, and the PostgreSQL writer lock's failure modes.

The PostgreSQL tests run when TRACKER_TEST_DATABASE_URL is set (see `db_url` in conftest.py and `.ci/postgres`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tracker.errors import LockedError, StoreError
from tracker.store import Store

from .conftest import LocalServer, Response, board_toml

BODY = b"model,top1\nA,90.0\nB,89.0\n"
FIELDS = {"model": "model", "top1": "top1"}
WRITERS = 8
BAD = ("Traceback", "UniqueViolation", "IntegrityError", "already exists", "duplicate key")


# `python -m tracker`, except that it imports everything first and then waits at a gate (a file in GATE_DIR), so
# that the processes open the empty store within milliseconds of each other rather than one import time apart.
GATED = """
import os, sys, time
from tracker.cli import cli
gate = os.environ["GATE_DIR"]
open(os.path.join(gate, f"ready-{os.getpid()}"), "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(os.path.join(gate, "go")) and time.monotonic() < deadline:
    time.sleep(0.002)
cli(prog_name="tracker")
"""


def gated_tracker(gate: Path, cfg: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_") or k == "TRACKER_TEST_DATABASE_URL"}
    env["GATE_DIR"] = str(gate)
    return subprocess.Popen([sys.executable, "-c", GATED, "--config", str(cfg), *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def postgres_only(url: str) -> None:
    if not url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: set TRACKER_TEST_DATABASE_URL=postgresql+psycopg://... (see .ci/postgres)")


def test_eight_first_runs_at_once_on_an_empty_store(server: LocalServer, db_url: str, tmp_path: Path,
                                                   write_config: Callable[..., Path]) -> None:
    url = server.route("/lb.csv", Response(body=BODY))
    cfg = write_config(board_toml(id="b", url=url, format="csv", metric="top1", fields=FIELDS), lock_wait=30)
    gate = tmp_path / "gate"
    gate.mkdir()
    procs = [gated_tracker(gate, cfg, "run") for _ in range(WRITERS)]
    deadline = time.monotonic() + 60
    while len(list(gate.glob("ready-*"))) < WRITERS and time.monotonic() < deadline:
        time.sleep(0.01)
    (gate / "go").touch()
    outs = [p.communicate(timeout=90) for p in procs]
    codes = [p.returncode for p in procs]
    report = "\n".join(f"--- exit {c}\n{out}{err}" for c, (out, err) in zip(codes, outs, strict=True))
    assert set(codes) <= {0, 75} and 0 in codes, report
    assert not [b for b in BAD for out, err in outs if b in out + err], report
    store = Store(db_url)
    try:
        assert len(store.history("b")) == 1, report
        assert len(store.fetches("b")) == codes.count(0), report
        assert store.events("b") == []
    finally:
        store.close()


@pytest.fixture
def idle_timeout_1s(db_url: str) -> Iterator[str]:
    """The test database with idle_in_transaction_session_timeout = 1s for new sessions; reset afterwards."""
    postgres_only(db_url)
    engine = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        name = conn.execute(text("SELECT quote_ident(current_database())")).scalar_one()
        conn.execute(text(f"ALTER DATABASE {name} SET idle_in_transaction_session_timeout = '1s'"))
    try:
        yield db_url
    finally:
        with engine.connect() as conn:
            conn.execute(text(f"ALTER DATABASE {name} RESET idle_in_transaction_session_timeout"))
        engine.dispose()


def test_postgres_lock_survives_idle_in_transaction_timeout(idle_timeout_1s: str) -> None:
    url = idle_timeout_1s
    probe = create_engine(url)
    with probe.connect() as conn:
        assert conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar_one() == "1s"
    probe.dispose()
    first, second = Store(url), Store(url)
    try:
        with first.lock(5, "holder"):
            first.ensure_board("b", "Board", "http://127.0.0.1/lb.csv")
            time.sleep(3)
            with pytest.raises(LockedError, match=r"holder.* is using"), second.lock(0.5, "second"):
                pass
            first.ensure_board("b", "Board again", "http://127.0.0.1/lb.csv")   # the lock is still ours
        with second.lock(1, "second"):                                         # and released on exit
            pass
    finally:
        first.close()
        second.close()


def test_postgres_lock_lost_stops_the_next_write(db_url: str) -> None:
    postgres_only(db_url)
    holder = f"test-holder-{uuid.uuid4().hex[:12]}"
    store = Store(db_url)
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    try:
        with store.lock(5, holder):
            store.ensure_board("b", "Board", "http://127.0.0.1/lb.csv")
            with admin.connect() as conn:
                killed = conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                           "WHERE application_name = :h"), {"h": holder}).scalars().all()
                assert killed == [True]
                deadline = time.monotonic() + 10
                while conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :h"),
                                   {"h": holder}).scalar_one() and time.monotonic() < deadline:
                    time.sleep(0.1)
            with pytest.raises(StoreError, match=r"(?is)lock.*lost"):
                store.ensure_board("c", "Another board", "http://127.0.0.1/c.csv")
        with admin.connect() as conn:   # the refused write left nothing behind
            assert conn.execute(text("SELECT count(*) FROM board WHERE id = 'c'")).scalar_one() == 0
        with store.lock(1, "again"):     # the lock is free again for the next run
            pass
    finally:
        store.close()
        admin.dispose()

