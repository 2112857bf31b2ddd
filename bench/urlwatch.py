"""tracker against urlwatch 2.29 on the same local boards: a first, a changed and an unchanged pass, side by side.

Run: .venv/bin/python bench/urlwatch.py [--boards 100] [--rows 50] [--repeat 5] [--urlwatch /tmp/uw/bin/urlwatch]
     .venv/bin/python bench/urlwatch.py --boards 5000 --rows 20 --passes unchanged --no-urlwatch --repeat 1
         (the 5,000-board figure; --base CHECKOUT times another tracker checkout side by side)
Target (issue 10): tracker <= 0.8x urlwatch's time on every pass; 5,000 unchanged boards <= 8 s.

Every board is an HTML table of `rows` entries served from memory by a real HTTP server, each on its own loopback
address (127.0.0.x); every answer carries an ETag and a matching If-None-Match gets 304 (both tools send it). Each
pass is one command-line run of each tool (`tracker run`, `urlwatch`), timed wall to wall, with default settings
except tracker's `[fetch] per_host_delay = 0` (urlwatch has no such delay; tracker's 1 s default would wait between
a host's robots.txt and its board). tracker still reads each host's robots.txt (--no-robots turns that off). Best of
`repeat`, each repetition on fresh state. urlwatch is skipped with a message when it is not installed:
    python -m venv /tmp/uw && /tmp/uw/bin/pip install urlwatch==2.29
With more boards than loopback hosts (250), boards share hosts.
The tracker package is byte-compiled first (see compiled()), as an installed one is.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from common import compiled  # bench/common.py (this folder is on sys.path when a bench runs)

ROOT = Path(__file__).resolve().parent.parent
HOSTS = 250  # 127.0.0.1 .. 127.0.0.250


def board_html(i: int, rows: int, version: int) -> bytes:
    """Board i at a version: a leaderboard table whose scores move from one version to the next."""
    rnd = random.Random(i * 1000 + version)
    body = "".join(f"<tr><td>model_{i}_{j}</td><td>{rnd.uniform(50, 90):.2f}</td><td>{rnd.uniform(1, 900):.0f}M</td>"
                   f"</tr>" for j in range(rows))
    return (f"<html><head><title>Board {i}</title></head><body><h1>Board {i}</h1><table><thead><tr><th>Model</th>"
            f"<th>Score</th><th>Params</th></tr></thead><tbody>{body}</tbody></table></body></html>").encode()


class Boards:
    """The served documents; `version` picks which one every board shows."""

    def __init__(self, n: int, rows: int) -> None:
        self.docs = {v: [board_html(i, rows, v) for i in range(n)] for v in (1, 2)}
        self.etags = {v: [hashlib.sha1(d).hexdigest() for d in docs] for v, docs in self.docs.items()}
        self.version = 1
        self.hits = 0


def serve(boards: Boards, hosts: int) -> list[ThreadingHTTPServer]:
    """One HTTP server per loopback host, all serving /b<i>.html from `boards`."""
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            boards.hits += 1
            name = self.path.lstrip("/")
            if not (name.startswith("b") and name.endswith(".html")):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            i = int(name[1:-5])
            etag = f'"{boards.etags[boards.version][i]}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            body = boards.docs[boards.version][i]
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

    servers = []
    for h in range(1, hosts + 1):
        srv = ThreadingHTTPServer((f"127.0.0.{h}", 0), Handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
    return servers


def urls(servers: list[ThreadingHTTPServer], n: int) -> list[str]:
    return [f"http://{servers[i % len(servers)].server_address[0]}:{servers[i % len(servers)].server_address[1]}"
            f"/b{i}.html" for i in range(n)]


def tracker_setup(d: Path, board_urls: list[str], robots: bool) -> list[str]:
    fetch = f"[fetch]\nper_host_delay = 0\nrobots = {'true' if robots else 'false'}\n\n"
    boards = "".join(
        f'[[board]]\nid = "b{i}"\nurl = "{u}"\nformat = "html"\nmetric = "score"\n'
        f'[board.fields]\nmodel = "Model"\nscore = "Score"\nparams = {{ from = "Params", type = "number" }}\n\n'
        for i, u in enumerate(board_urls))
    cfg = d / "config.toml"
    cfg.write_text(f'[storage]\nurl = "sqlite:///{d / "tracker.db"}"\nsnapshots = "{d / "snapshots"}"\n\n{fetch}'
                   f'{boards}')
    env_python = Path(sys.executable)
    return [str(env_python), "-m", "tracker", "--config", str(cfg), "-q", "run"]


def urlwatch_setup(d: Path, board_urls: list[str], exe: str) -> list[str]:
    (d / "urls.yaml").write_text("---\n".join(f"name: b{i}\nurl: {u}\n" for i, u in enumerate(board_urls)))
    cfg = d / "urlwatch.yaml"
    subprocess.run([exe, "--urls", str(d / "urls.yaml"), "--config", str(cfg), "--cache", str(d / "cache.db"),
                    "--list"], capture_output=True, check=True, timeout=60)  # writes the default config
    return [exe, "--urls", str(d / "urls.yaml"), "--config", str(cfg), "--cache", str(d / "cache.db")]


def timed(cmd: list[str], cwd: Path, pythonpath: str | None = None) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600, cwd=cwd)
    took = time.perf_counter() - t
    if r.returncode not in (0, 1):
        raise SystemExit(f"{cmd[0]} failed ({r.returncode}): {r.stderr[-2000:]}")
    return took


def passes(boards: Boards, cmd: list[str], which: list[str], cwd: Path) -> dict[str, float]:
    """One repetition: first (version 1), changed (version 2; skipped when not asked for), unchanged (the same
    version again)."""
    out: dict[str, float] = {}
    boards.version = 1
    out["first"] = timed(cmd, cwd)
    if "changed" in which:
        boards.version = 2
        out["changed"] = timed(cmd, cwd)
    out["unchanged"] = timed(cmd, cwd)
    return {k: v for k, v in out.items() if k in which}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--boards", type=int, default=100)
    ap.add_argument("--rows", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--passes", default="first,changed,unchanged")
    ap.add_argument("--urlwatch", default=shutil.which("urlwatch") or "/tmp/uw/bin/urlwatch")
    ap.add_argument("--no-urlwatch", action="store_true")
    ap.add_argument("--no-robots", action="store_true", help="tracker: [fetch] robots = false")
    ap.add_argument("--base", help="another tracker checkout to time side by side (its path goes on PYTHONPATH)")
    args = ap.parse_args()
    compiled(ROOT, *([Path(args.base)] if args.base else []))
    which = args.passes.split(",")
    boards = Boards(args.boards, args.rows)
    servers = serve(boards, min(args.boards, HOSTS))
    board_urls = urls(servers, args.boards)
    have_uw = not args.no_urlwatch and Path(args.urlwatch).exists()
    if not have_uw and not args.no_urlwatch:
        print(f"urlwatch not found at {args.urlwatch}: measuring tracker only (install it with "
              f"`python -m venv /tmp/uw && /tmp/uw/bin/pip install urlwatch==2.29`)")
    best: dict[str, dict[str, float]] = {"tracker": {}, "urlwatch": {}, "base": {}}
    for _ in range(args.repeat):
        tools: list[tuple[str, Any]] = [("tracker", tracker_setup)]
        if args.base:
            tools.append(("base", lambda d, u, r: ["env", f"PYTHONPATH={args.base}", *tracker_setup(d, u, r)]))
        if have_uw:
            tools.append(("urlwatch", lambda d, u, _r: urlwatch_setup(d, u, args.urlwatch)))
        for tool, setup in tools:
            d = Path(tempfile.mkdtemp(prefix=f"bench-{tool}-"))
            cmd = setup(d, board_urls, not args.no_robots)
            for name, t in passes(boards, cmd, which, d).items():  # run in d: `-m tracker` must not see a checkout
                best[tool][name] = min(t, best[tool].get(name, t))
            shutil.rmtree(d, ignore_errors=True)
    print(f"{args.boards} local boards of {args.rows} rows ({len(servers)} loopback hosts), best of {args.repeat}, "
          f"wall time of one command-line run per pass")
    for name in which:
        line = f"  {name:10} tracker {best['tracker'][name]:7.2f} s"
        if args.base:
            old = best["base"][name]
            line += f"   base {old:7.2f} s ({old / best['tracker'][name]:.2f}x faster now)"
        if have_uw:
            uw = best["urlwatch"][name]
            line += f"   urlwatch {uw:7.2f} s   tracker/urlwatch = {best['tracker'][name] / uw:.2f}x (target <= 0.8x)"
        print(line)
    for srv in servers:
        srv.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
