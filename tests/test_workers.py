"""Many workers on one PostgreSQL (`tracker schedule --workers`): real processes, a real PostgreSQL, real HTTP.

PostgreSQL tests run when TRACKER_TEST_DATABASE_URL is set (see .ci/postgres); each gets a schema of its own.
Every wait is bounded and every process is killed at the end, whatever happens.
"""

from __future__ import annotations

import bisect
import gzip
import itertools
import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tracker import config
from tracker.errors import StoreError
from tracker.store import Store
from tracker.store.leases import LeaseGuard
from tracker.store.pool import Pool

from .pool_helpers import (
    HostFarm,
    Procs,
    Proxy,
    Receiver,
    Request,
    csv_board,
    fresh_schema,
    pg_base,
    via,
    wait_for,
    write_config,
)

EVERY = 2.0
SLACK = 1.5  # seconds for a claim, the host gate and the fetch itself


class Lag:
    """How far behind its schedule the whole pool ran around a moment: the median lateness (gap - every) of the
    runs within 5 s of it. On a loaded machine every board runs late by about that much, and a board left by a
    dead worker waits its lease on top of it; the median ignores those few boards."""

    def __init__(self, late: list[tuple[float, float]]) -> None:
        self.late = sorted(late)
        self.when = [w for w, _ in self.late]
        self.worst = max((self.at(t) for t in self.when[::50]), default=0.0)

    def at(self, t: float) -> float:
        near = sorted(x for _, x in self.late[bisect.bisect_left(self.when, t - 5):bisect.bisect_right(self.when,
                                                                                                     t + 5)])
        return max(0.0, near[len(near) // 2]) if near else 0.0


# The test server notes when it finished answering after the write returns; in a busy process that note can come
# a GIL switch or two late (5 ms each), so an end-to-next-start gap is checked against per_host_delay less this.
TIMING = 0.02


@pytest.fixture
def pg() -> Iterator[str]:
    with fresh_schema(pg_base()) as url:
        yield url


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    p = Procs(tmp_path)
    try:
        yield p
    finally:
        p.close()


def fetch_rows(url: str) -> list[tuple[str, float, str | None, str]]:
    """(board, started_at as a timestamp, worker, status) of every fetch, in id order."""
    e = create_engine(url)
    try:
        with e.connect() as conn:
            return [(b, s.timestamp(), w, st) for b, s, w, st in conn.execute(text(
                'SELECT board_id, started_at, worker, status FROM "fetch" ORDER BY id'))]
    finally:
        e.dispose()


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    e = create_engine(url)
    try:
        with e.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        e.dispose()


def broken_chains(url: str) -> list[tuple[object, ...]]:
    """Snapshots not compared with the board's previous snapshot: its rename of the `V<n>` row must start from the
    version the previous snapshot stored. Two runs of a board at once both compare with the same older one."""
    renames = query(url, "SELECT board_id, snapshot_id, previous_model, model FROM event "
                         "WHERE type = 'entry_renamed' ORDER BY board_id, snapshot_id")
    return [(b, s, old, stored) for (pb, _, _, stored), (b, s, old, _) in itertools.pairwise(renames)
            if b == pb and old != stored]


def stale(requests: list[Request]) -> list[Request]:
    """Requests of one board that did not send the ETag of the board's previous request (every request answers a
    new version): the run read the board's last fetch before the previous run recorded it, so they overlapped."""
    ordered = sorted(requests, key=lambda r: r.start)
    return [b for a, b in itertools.pairwise(ordered) if b.sent_etag != a.etag]


def overlapping(requests: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Requests (start, end), sorted by start, that began before the previous one ended."""
    out = []
    ordered = sorted(requests)
    for (_, end), (start2, end2) in itertools.pairwise(ordered):
        if start2 < end:
            out.append((start2, end2))
    return out


# ---- the pool under load ------------------------------------------------------------------------------------------


def test_three_workers_200_boards_one_killed_and_restarted(pg: str, procs: Procs, tmp_path: Path) -> None:
    """3 workers, 200 boards every 2s on 20 hosts, ~30 s; one worker SIGKILLed mid-run, then restarted."""
    farm, hook = HostFarm(20, period=6.0), Receiver()
    lease, delay = 5.0, 0.1
    try:
        boards = [csv_board(f"b{i:03d}", farm.url(i, f"b{i:03d}")) for i in range(200)]
        alert = f'[[alert]]\non = ["leader_changed"]\nboards = ["b01*"]\nnotify = ["webhook+{hook.url}"]\n'
        cfg = write_config(tmp_path / "config.toml", pg, boards, lease=f"{lease:g}s", per_host_delay=delay,
                           threads=6, extra=alert)
        Store(pg).close()  # the schema, before three processes race to create it (that race is tested elsewhere)
        began = time.time()
        workers = [procs.start(cfg, "schedule", "--workers", name=f"w{i}") for i in range(3)]
        time.sleep(10)
        assert all(w.poll() is None for w in workers), [procs.output(w) for w in workers]
        workers[0].send_signal(signal.SIGKILL)
        killed_at = time.time()
        workers[0].wait(timeout=10)
        time.sleep(3)
        workers.append(procs.start(cfg, "schedule", "--workers", name="w0-again"))
        time.sleep(17)
        ended = time.time()
        codes = [procs.stop(w) for w in workers[1:]]
        logs = "\n".join(procs.output(w)[-3000:] for w in workers)
        assert codes == [0, 0, 0], logs
        assert "Traceback" not in logs, logs
        runs = fetch_rows(pg)
        by_board: dict[str, list[float]] = defaultdict(list)
        for board, started, _, _ in runs:
            by_board[board].append(started)
        assert set(by_board) == {f"b{i:03d}" for i in range(200)}
        lag = Lag([(b, b - a - EVERY) for s in by_board.values() for a, b in itertools.pairwise(s)])
        short, long, idle = [], [], []
        for board, starts in by_board.items():
            assert starts == sorted(starts), board  # stored in the order they ran: never two at once
            for a, b in itertools.pairwise(starts):
                short += [(board, b - a)] if b - a < EVERY - 0.1 else []  # next due = last fetch + every
                # a slot may wait for a dead worker's lease, plus claiming and fetching, plus (twice: when it was
                # claimed, and when the lease ran out) how far behind the whole pool was then
                long += [(board, b - a)] if b - a > EVERY + lease + SLACK + 2 * lag.at(b) else []
            idle += [(board, ended - max(starts))] if ended - max(starts) > EVERY + lease + SLACK + 2 * lag.at(
                ended) else []
        assert not short, f"a slot ran twice: {short[:5]}"
        worst = sorted(long, key=lambda x: -x[1])[:3]
        timeline = "; ".join(f"{b}: " + ", ".join(f"{s - began:.2f} {(w or '-')[-6:]}" for x, s, w, _ in runs if x == b)
                             for b, _ in worst)
        assert not long, f"slots skipped longer than lease + interval: {worst}; killed at {killed_at - began:.2f}: " \
                         f"{timeline}"
        assert not idle, f"boards not run in the last lease + interval: {idle[:5]}"
        # the server's view: never two requests for one board, never two at once on a host, per_host_delay kept
        reqs = farm.requests()
        per_board: dict[str, list[tuple[float, float]]] = defaultdict(list)
        per_host: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for r in reqs:
            per_board[r.path].append((r.start, r.end))
            per_host[r.host].append((r.start, r.end))
        assert not [p for p, rs in per_board.items() if overlapping(rs)]
        gaps, starts = [], []
        for host, rs in per_host.items():
            rs.sort()
            gaps += [(host, b[0] - a[1]) for a, b in itertools.pairwise(rs)]  # previous end to next start
            starts += [(host, b[0] - a[0]) for a, b in itertools.pairwise(rs)]
        assert min(g for _, g in gaps) >= delay - TIMING, sorted(gaps, key=lambda x: x[1])[:5]
        assert min(g for _, g in starts) >= delay, sorted(starts, key=lambda x: x[1])[:5]
        # no duplicate snapshot or event
        snaps = query(pg, "SELECT board_id, raw_sha FROM snapshot")
        assert len(snaps) > 400 and not [k for k, n in Counter(snaps).items() if n > 1]
        events = query(pg, "SELECT snapshot_id, type, model, metric FROM event WHERE snapshot_id IS NOT NULL")
        assert not [k for k, n in Counter(events).items() if n > 1] and not broken_chains(pg)
        # every webhook event delivered once (a repeat only for a send in flight when the worker was killed)
        sent = {int(i) for (i,) in query(pg, "SELECT event_id FROM delivery WHERE status = 'sent'")}
        got = Counter(key.split(":")[0] for key, _ in hook.got)
        first = {key.split(":")[0]: t for key, t in reversed(hook.got)}
        assert len(sent) >= 10 and {int(k) for k in got} == sent
        repeats = [k for k, n in got.items() if n > 1 and not killed_at - 1.0 <= first[k] <= killed_at]
        assert not repeats, repeats
        in_flight = [k for k, n in got.items() if n > 1]
        widest = max(b - a for s in by_board.values() for a, b in itertools.pairwise(s))
        print(f"\n{len(runs)} runs of 200 boards in {ended - began:.0f}s (widest gap {widest:.1f}s, allowed "
              f"{EVERY + lease + SLACK:g}s + twice the pool's lag, at most {lag.worst:.1f}s); {len(reqs)} requests; "
              f"{len(snaps)} snapshots; {len(hook.got)} webhooks ({len(in_flight)} sent again after the kill); "
              f"smallest host gap {min(g for _, g in gaps):.3f}s "
              f"(end to start), {min(g for _, g in starts):.3f}s (start to start)")
    finally:
        farm.close()
        hook.close()


def test_two_workers_and_concurrent_runs_never_run_a_board_twice_at_once(pg: str, procs: Procs,
                                                                          tmp_path: Path) -> None:
    farm = HostFarm(10, delay=0.3, every_request=True)  # slow answers: runs last long enough to collide
    try:
        boards = [csv_board(f"b{i:02d}", farm.url(i, f"b{i:02d}")) for i in range(20)]
        cfg = write_config(tmp_path / "config.toml", pg, boards, lease="5s", per_host_delay=0, threads=4,
                           lock_wait=1)
        Store(pg).close()
        workers = [procs.start(cfg, "schedule", "--workers", name=f"w{i}") for i in range(2)]
        assert wait_for(lambda: len(farm.requests()) >= 20, 30), [procs.output(w) for w in workers]
        runs = [procs.start(cfg, "run", name="run-all"), procs.start(cfg, "run", "b00", "b01", "b02", name="run-3")]
        time.sleep(1.0)
        runs.append(procs.start(cfg, "run", "--format", "json", name="run-json"))
        codes = [r.wait(timeout=60) for r in runs]
        time.sleep(2)
        stopping = time.time()  # a fetch cancelled by SIGTERM leaves the server answering nobody: not counted
        stopped = [procs.stop(w) for w in workers]
        outs = [procs.output(p) for p in runs + workers]
        assert stopped == [0, 0] and set(codes) <= {0, 75}, outs
        assert not [o for o in outs if "Traceback" in o], outs
        per_board: dict[str, list[Request]] = defaultdict(list)
        for r in farm.requests():
            if r.start < stopping:
                per_board[r.path].append(r)
        assert len(per_board) == 20
        clash = {p: stale(rs) for p, rs in per_board.items() if stale(rs)}
        assert not clash, clash
        assert len(query(pg, "SELECT id FROM snapshot")) > 40 and not broken_chains(pg), broken_chains(pg)[:5]
        by_run = [w for _, _, w, _ in fetch_rows(pg) if w and w.startswith("tracker run@")]
        assert by_run, outs  # the runs did run boards, between the workers' runs of them
        skipped = [line for o in outs[:2] for line in o.splitlines() if ": skipped: " in line]
        assert all("is running it; try again later" in line for line in skipped)
        assert (75 in codes) == bool(skipped or '"skipped"' in outs[2]), outs
    finally:
        farm.close()


def test_a_worker_that_loses_the_database_stops_and_the_others_take_over(pg: str, procs: Procs,
                                                                       tmp_path: Path) -> None:
    farm = HostFarm(5, period=60.0)
    url = make_url(pg)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    lease = 4.0
    try:
        boards = [csv_board(f"b{i:02d}", farm.url(i, f"b{i:02d}"), every="1s") for i in range(10)]
        direct = write_config(tmp_path / "direct.toml", pg, boards, lease=f"{lease:g}s", per_host_delay=0)
        cut = write_config(tmp_path / "cut.toml", via(pg, proxy.port), boards, lease=f"{lease:g}s",
                           per_host_delay=0)
        Store(pg).close()
        doomed = procs.start(cut, "schedule", "--workers", name="doomed")
        assert wait_for(lambda: len(farm.requests()) >= 10, 30), procs.output(doomed)
        survivor = procs.start(direct, "schedule", "--workers", name="survivor")
        time.sleep(3)
        ids = {str(w): str(h) for w, h in query(pg, "SELECT id, host FROM worker")}
        assert len(ids) == 2
        proxy.cut()
        cut_at = time.time()
        code = doomed.wait(timeout=30)  # bounded: half the lease without a heartbeat, then at most a few seconds
        stopped_after = time.time() - cut_at
        out = procs.output(doomed)
        assert code == 2, out
        assert "lost the database" in out and "start it again once the database is reachable" in out, out
        assert "Traceback" not in out, out
        time.sleep(lease + 2)
        runs = fetch_rows(pg)
        doomed_id = next(w for _, _, w, _ in runs if w and w.split(":")[1] == str(doomed.pid))
        late = [b for b, s, w, _ in runs if w == doomed_id and s > cut_at]
        assert not late, late  # nothing written once it was cut off
        taken_over = {b for b, s, w, _ in runs if w != doomed_id and s > cut_at + lease}
        assert taken_over == {f"b{i:02d}" for i in range(10)}
        assert procs.stop(survivor) == 0, procs.output(survivor)
        listing = query(pg, f"SELECT stopped_at IS NULL, EXTRACT(EPOCH FROM now() - heartbeat_at) > {lease} "
                            f"FROM worker WHERE id = '{doomed_id}'")
        assert listing == [(True, True)]  # `tracker workers` shows it as gone
        print(f"\nthe cut-off worker exited {stopped_after:.1f}s after losing the database (lease {lease:g}s)")
    finally:
        proxy.close()
        farm.close()


def test_a_terminated_connection_is_survived(pg: str, procs: Procs, tmp_path: Path) -> None:
    """pg_terminate_backend on a worker's connections: it reconnects and goes on (only a lasting loss stops it)."""
    farm = HostFarm(2, period=60.0)
    try:
        boards = [csv_board(f"b{i}", farm.url(i, f"b{i}"), every="1s") for i in range(4)]
        cfg = write_config(tmp_path / "config.toml", pg, boards, lease="6s", per_host_delay=0)
        Store(pg).close()
        w = procs.start(cfg, "schedule", "--workers", name="w")
        assert wait_for(lambda: len(farm.requests()) >= 4, 30), procs.output(w)
        (worker_id,) = query(pg, "SELECT id FROM worker")[0]
        admin = create_engine(pg, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                killed = conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                           "WHERE application_name = :a"), {"a": str(worker_id)[:60]}).all()
        finally:
            admin.dispose()
        assert killed
        before = len(farm.requests())
        assert wait_for(lambda: len(farm.requests()) >= before + 8, 20), procs.output(w)
        assert w.poll() is None and procs.stop(w) == 0, procs.output(w)
    finally:
        farm.close()


# ---- single-writer commands in a pool's store ----------------------------------------------------------------------


def test_single_writer_commands_in_a_pool_store(pg: str, tmp_path: Path, procs: Procs) -> None:
    farm = HostFarm(1, period=60.0)
    try:
        boards = [csv_board(b, farm.url(0, b)) for b in ("a", "b")]
        cfg = write_config(tmp_path / "config.toml", pg, boards, lock_wait=0.5, lease="10m")
        store = Store(pg)
        pool = Pool(store, "other-machine:42:abcdef")
        try:
            pool.register("other-machine:42:abcdef")  # the store is a pool store from now on
            pool.leases.register({"a": (datetime.now(UTC), "every 2s"), "b": (datetime.now(UTC), "every 2s")})
            assert pool.leases.take("other-machine:42:abcdef", ["a"], 60) == {"a": None}
            run = subprocess.run([sys.executable, "-m", "tracker", "--config", str(cfg), "run"],
                                 capture_output=True, text=True, timeout=60)
            assert run.returncode == 75, run.stdout + run.stderr
            assert "a: skipped: other-machine:42:abcdef is running it; try again later" in run.stdout
            assert "b: baseline snapshot" in run.stdout
            doc = tmp_path / "a.csv"
            doc.write_text("model,top1\nA,1\n")
            imp = subprocess.run([sys.executable, "-m", "tracker", "--config", str(cfg), "import", "a", str(doc)],
                                 capture_output=True, text=True, timeout=60)
            assert imp.returncode == 75 and imp.stderr.count("\n") == 1, imp.stderr
            assert "other-machine:42:abcdef is running board a (waited 0.5s)" in imp.stderr
            sched = subprocess.run([sys.executable, "-m", "tracker", "--config", str(cfg), "schedule"],
                                   capture_output=True, text=True, timeout=60)
            assert sched.returncode == 2 and "tracker schedule --workers" in sched.stderr, sched.stderr
            listing = subprocess.run([sys.executable, "-m", "tracker", "--config", str(cfg), "workers"],
                                     capture_output=True, text=True, timeout=60)
            line = next(x for x in listing.stdout.splitlines() if x.startswith("other-machine:42:abcdef"))
            state, held = line.split()[3], line.split()[5]
            assert listing.returncode == 0 and (state, held) == ("running", "1"), line
            boards_json = subprocess.run([sys.executable, "-m", "tracker", "--config", str(cfg), "boards",
                                          "--format", "json"], capture_output=True, text=True, timeout=60)
            data = {d["id"]: d for d in json.loads(boards_json.stdout)}
            assert data["b"]["worker"].startswith("tracker run@") and data["a"]["worker"] is None
            pool.leases.release("other-machine:42:abcdef", "a")
            again = subprocess.run([sys.executable, "-m", "tracker", "--config", str(cfg), "run", "a"],
                                   capture_output=True, text=True, timeout=60)
            assert again.returncode == 0 and "a: baseline snapshot" in again.stdout, again.stdout + again.stderr
        finally:
            pool.close()
            store.close()
    finally:
        farm.close()


def test_schedule_workers_on_sqlite_says_why_it_cannot(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "config.toml", f"sqlite:///{tmp_path / 'tracker.db'}",
                       [csv_board("a", "http://127.0.0.1:9/a.csv")])
    r = subprocess.run([sys.executable, "-m", "tracker", "--config", str(cfg), "schedule", "--workers"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == "", r.stdout
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("Error: tracker schedule --workers needs PostgreSQL")
    assert "an SQLite file lives on one machine with one writer at a time" in r.stderr


def test_lease_config_key() -> None:
    base = {"storage": {"url": "sqlite://"}}
    assert config.parse(base, base=Path(".")).schedule.lease == timedelta(minutes=10)
    assert config.parse({**base, "schedule": {"lease": "90s"}}, base=Path(".")).schedule.lease == timedelta(seconds=90)
    with pytest.raises(config.ConfigError, match=r"\[schedule\] lease"):
        config.parse({**base, "schedule": {"lease": "soon"}}, base=Path("."))


# ---- the pieces, in one process -------------------------------------------------------------------------------------


def test_claims_skip_locked_rows_and_expired_leases_are_claimable(pg: str) -> None:
    store = Store(pg)
    pools = [Pool(store, f"w{i}") for i in range(3)]
    try:
        now = datetime.now(UTC)
        pools[0].leases.register({f"j{i:03d}": (now, "every 1s") for i in range(300)} | {"later": (
            now + timedelta(hours=1), "every 1h")})
        got: list[list[str]] = [[] for _ in pools]

        def claim(i: int) -> None:
            while True:
                jobs, _ = pools[i].leases.claim(f"w{i}", [f"j{k:03d}" for k in range(300)] + ["later"], 7, 60)
                if not jobs:
                    return
                got[i].extend(jobs)
        threads = [threading.Thread(target=claim, args=(i,)) for i in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=60)
        claimed = [j for g in got for j in g]
        assert sorted(claimed) == [f"j{i:03d}" for i in range(300)]  # each once; "later" is not due
        assert all(got), [len(g) for g in got]
        # a lease that expires is claimable again, and its old holder can no longer give it back
        assert pools[0].leases.claim("w0", ["short"], 1, 1) == ([], None)
        pools[0].leases.register({"short": (now, "every 1s")})
        assert pools[0].leases.claim("w0", ["short"], 1, 0.5)[0] == ["short"]
        assert pools[1].leases.claim("w1", ["short"], 1, 60)[0] == []
        time.sleep(0.7)
        assert pools[1].leases.claim("w1", ["short"], 1, 60)[0] == ["short"]
        assert pools[0].leases.release("w0", "short") is False
        assert pools[1].leases.take("w2", ["short"], 60) == {"short": "w1"}
        assert pools[1].leases.release("w1", "short", now + timedelta(hours=1)) is True
        assert pools[2].leases.take("w2", ["short"], 60) == {"short": None}  # take() ignores due times
    finally:
        for p in pools:
            p.close()
        store.close()


def test_lease_guard_refuses_writes_it_cannot_vouch_for(pg: str) -> None:
    from tracker.store.leases import install

    store = Store(pg)
    guard = LeaseGuard("w1", 60, store.safe_url)
    try:
        with install(store, guard):
            guard.add(["a"])
            guard.local.job = "a"
            store.ensure_board("a", "A", "http://127.0.0.1/a.csv")  # held: written
            guard.local.job = "b"
            with pytest.raises(StoreError, match="its lease was lost"):
                store.ensure_board("b", "B", "http://127.0.0.1/b.csv")
            guard.local.job = None
            guard.lose("the database cannot be reached")
            with pytest.raises(StoreError, match=r"not writing.*cannot be reached"):
                store.ensure_board("a", "A again", "http://127.0.0.1/a.csv")
        assert [r for r in query(pg, "SELECT id, title FROM board")] == [("a", "A")]
    finally:
        store.close()


def test_the_host_gate_is_shared_across_processes(pg: str) -> None:
    from tracker.fetch import HostGate

    store = Store(pg)
    one, two = Pool(store, "one"), Pool(store, "two")
    try:
        a, b = HostGate(0.5, shared=one.hosts), HostGate(0.5, shared=two.hosts)
        lock_a = a.lock("example.org")
        assert lock_a.acquire(timeout=1)
        assert a.pause("example.org") == 0.0  # never asked before
        assert not b.lock("example.org").acquire(timeout=0.3)  # one request in flight across the pool
        a.done("example.org")
        lock_a.release()
        lock_b = b.lock("example.org")
        assert lock_b.acquire(timeout=1)
        assert 0.3 < b.pause("example.org") <= 0.5  # the delay runs from the other process's request
        lock_b.release()  # a request that began and never ended (its worker died): the next waits the whole delay
        time.sleep(0.6)
        assert lock_a.acquire(timeout=1)
        one.hosts.unlock("example.org")  # gone without done(): as if the process had died mid-request
        a._locks["example.org"].release()
        assert lock_b.acquire(timeout=1)
        assert b.pause("example.org") > 0.45
        lock_b.release()
    finally:
        one.close()
        two.close()
        store.close()


def test_a_collection_is_one_job_of_the_pool(pg: str, procs: Procs, tmp_path: Path) -> None:
    """A [[collection]] (one document, many boards) is leased and run as one job, `collection:<id>`."""
    excerpt = gzip.compress((Path(__file__).parent / "fixtures" / "collections" / "pwc-imagenet-excerpt.json")
                            .read_bytes())
    served: list[float] = []

    class H(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            served.append(time.time())
            self.send_response(200)
            self.send_header("Content-Length", str(len(excerpt)))
            self.end_headers()
            self.wfile.write(excerpt)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/evaluation-tables.json.gz"
        coll = (f'[[collection]]\nid = "pwc"\ntitle = "PwC"\nurl = "{url}"\nformat = "pwc"\nevery = "2s"\n'
                f'include = ["pwc-image-classification-on-imagenet"]\n')
        cfg = write_config(tmp_path / "config.toml", pg, [coll], per_host_delay=0)
        Store(pg).close()
        workers = [procs.start(cfg, "schedule", "--workers", name=f"w{i}") for i in range(2)]
        assert wait_for(lambda: len(served) >= 3, 40), [procs.output(w) for w in workers]
        assert [procs.stop(w) for w in workers] == [0, 0], [procs.output(w) for w in workers]
        jobs = {str(j) for (j,) in query(pg, "SELECT job FROM lease")}
        assert jobs == {"collection:pwc"}
        assert query(pg, "SELECT count(*) FROM snapshot s JOIN board b ON b.id = s.board_id "
                         "WHERE b.id = 'pwc-image-classification-on-imagenet'") == [(1,)]
        fetched = sorted(served)
        assert all(b - a >= EVERY - 0.1 for a, b in itertools.pairwise(fetched)), fetched  # one run per slot
        ran = {str(w) for (w,) in query(pg, "SELECT DISTINCT worker FROM \"fetch\" WHERE board_id = 'pwc'")}
        assert ran and all(w.count(":") == 2 for w in ran)  # recorded by the workers
    finally:
        httpd.shutdown()
        httpd.server_close()
