"""History: backfills (a fake Wayback CDX server on 127.0.0.1, a throw-away git repo), history, chart, report, feed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.store import Store

from .conftest import REAL, LocalServer, Response, board_toml, versions

TIMM_URL = "https://raw.githubusercontent.com/huggingface/pytorch-image-models/main/results/results-imagenet.csv"
TIMM = {"format": "csv", "metric": "top1", "metrics": ["top5"], "key": ["model", "img_size"],
        "metric_range": [0, 100], "fields": {"model": "model", "img_size": "img_size", "top1": "top1",
                                             "top5": "top5", "param_count": {"from": "param_count",
                                                                              "type": "number"}}}


def tracker(runner: CliRunner, cfg: Path, *args: str) -> tuple[int, str, str]:
    r = runner.invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def stamp(iso: str) -> str:
    from datetime import UTC

    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y%m%d%H%M%S")


class FakeWayback:
    """A CDX endpoint and raw (id_) captures built from the real timm history, plus one broken capture."""

    def __init__(self, server: LocalServer, broken_at: str | None = None) -> None:
        self.captures: dict[str, bytes] = {}
        for v in versions("timm-imagenet"):
            self.captures[stamp(v["committer_date"])] = (REAL / "timm-imagenet" / v["file"]).read_bytes()
        if broken_at:
            self.captures[broken_at] = b"<html><body>Got an HTTP 302 response at crawl time</body></html>"
        self.queries: list[dict[str, list[str]]] = []
        server.route("/cdx/search/cdx", self.cdx)
        for ts, body in self.captures.items():
            server.route(f"/web/{ts}id_/{TIMM_URL}", Response(body=body))

    def cdx(self, _headers: dict[str, str]) -> Response:
        raise AssertionError("replaced per request")


@pytest.fixture
def wayback(server: LocalServer, write_config: Callable[..., Path]) -> tuple[FakeWayback, Path]:
    fake = FakeWayback(server, broken_at="20200301000000")

    def cdx(_h: dict[str, str]) -> Response:
        q = parse_qs(urlparse(server.hits[-1].path).query)
        fake.queries.append(q)
        rows: list[list[str]] = [["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]]
        for ts in sorted(fake.captures, reverse=True):        # the archive's order must not matter
            if "from" in q and ts < q["from"][0]:
                continue
            if "to" in q and ts > q["to"][0]:
                continue
            rows.append(["com,githubusercontent)/x", ts, q["url"][0], "text/csv", "200", f"D{ts}",
                         str(len(fake.captures[ts]))])
        return Response(body=json.dumps(rows).encode(), headers={"Content-Type": "application/json"})

    server.routes["/cdx/search/cdx"] = [cdx]
    cfg = write_config(board_toml(id="imagenet-timm", title="ImageNet-1k top-1 (timm)", url=TIMM_URL, **TIMM),
                       extra=f'[fetch]\nper_host_delay = 0\nbackoff = 0.01\nwayback_url = "{server.base}"\n')
    return fake, cfg


def test_wayback_backfill_matches_imports_and_is_idempotent(runner: CliRunner, wayback: tuple[FakeWayback, Path],
                                                            store: Store, tmp_path: Path) -> None:
    fake, cfg = wayback
    code, out, err = tracker(runner, cfg, "backfill", "imagenet-timm", "--wayback")
    assert code == 0, err
    assert out.strip() == "imagenet-timm: 36 versions found, 35 imported, 0 already imported, 1 failed"
    q = fake.queries[0]
    assert (q["output"], q["filter"], q["collapse"], q["url"]) == (["json"], ["statuscode:200"], ["digest"],
                                                                   [TIMM_URL])
    code, out, _ = tracker(runner, cfg, "history", "imagenet-timm", "--format", "json")
    backfilled = json.loads(out)
    assert [r["model"] for r in backfilled["leaders"]] == [
        "ig_resnext101_32x48d", "tf_efficientnet_l2_ns", "beit_large_patch16_512",
        "eva_giant_patch14_560.m30m_ft_in22k_in1k", "eva02_large_patch14_448.mim_m38m_ft_in22k_in1k"]
    assert backfilled["leaders"][1]["since"] == "2020-02-16T04:38:57Z"
    assert len(backfilled["records"]) == 8
    failed = [f for f in store.fetches("imagenet-timm", 100) if f.status == "failed"]
    assert len(failed) == 1 and "no column for field 'model'" in (failed[0].error or "")
    events = store.events("imagenet-timm")
    assert events and all(e.backfilled and not e.notify for e in events)
    # a second run imports nothing
    code, out, _ = tracker(runner, cfg, "backfill", "imagenet-timm", "--wayback")
    assert out.strip() == "imagenet-timm: 36 versions found, 0 imported, 36 already imported, 0 failed"
    # the same timeline as importing the files, in a second store
    other = tmp_path / "other"
    other.mkdir()
    cfg2 = other / "config.toml"
    cfg2.write_text(re.sub(r'(?m)^url = ".*"$', f'url = "sqlite:///{other / "t.db"}"', cfg.read_text(), count=1))
    for v in versions("timm-imagenet"):
        tracker(runner, cfg2, "import", "imagenet-timm", str(REAL / "timm-imagenet" / v["file"]),
                "--observed-at", v["committer_date"])
    code, out, _ = tracker(runner, cfg2, "history", "imagenet-timm", "--format", "json")
    imported = json.loads(out)
    assert imported["leaders"] == backfilled["leaders"] and imported["records"] == backfilled["records"]


def test_wayback_date_range_and_limit(runner: CliRunner, wayback: tuple[FakeWayback, Path], store: Store) -> None:
    fake, cfg = wayback
    code, out, _ = tracker(runner, cfg, "backfill", "imagenet-timm", "--wayback", "--from", "2021-01-01",
                           "--to", "2021-12-31", "--limit", "3")
    assert code == 0 and out.startswith("imagenet-timm: 3 versions found, 3 imported")
    assert fake.queries[0]["from"] == ["20210101000000"] and fake.queries[0]["limit"] == ["3"]
    assert [s.observed_at.year for s in store.history("imagenet-timm")] == [2021, 2021, 2021]


def git(repo: Path, *args: str, when: str | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org"}
    if when:
        env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"] = when
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def test_git_backfill_follows_renames(runner: CliRunner, tmp_path: Path, store: Store,
                                      write_config: Callable[..., Path]) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "results").mkdir()
    contents = [("A", 80.0), ("B", 81.0), ("C", 82.5), ("C", 82.5), ("D", 83.0)]
    rows: list[str] = []
    for i, (model, value) in enumerate(contents):
        if i == 3:                                                         # the file is renamed, content kept
            git(repo, "mv", "results/all.csv", "results/imagenet.csv")
            git(repo, "commit", "-q", "-m", "rename", when=f"2024-01-0{i + 1}T12:00:00+00:00")
            continue
        rows.append(f"{model},{value}\n")
        name = "results/all.csv" if i < 3 else "results/imagenet.csv"
        (repo / name).write_text("model,top1\n" + "".join(rows))
        (repo / "README").write_text(f"unrelated change {i}")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"v{i}", when=f"2024-01-0{i + 1}T12:00:00+00:00")
    cfg = write_config(board_toml(id="lb", url="https://example.org/imagenet.csv", format="csv", metric="top1",
                                  fields={"model": "model", "top1": "top1"}))
    code, out, err = tracker(runner, cfg, "backfill", "lb", "--git", str(repo), "--path", "results/imagenet.csv")
    assert code == 0, err
    assert out.strip() == "lb: 5 versions found, 5 imported, 0 already imported, 0 failed"
    snaps = store.history("lb")
    assert [s.observed_at.day for s in snaps] == [1, 2, 3, 5]               # the rename commit changed nothing
    assert [s.leader_model for s in snaps] == ["A", "B", "C", "D"]
    assert len(store.events("lb", ["leader_changed"])) == 3
    code, out, _ = tracker(runner, cfg, "backfill", "lb", "--git", str(repo), "--path", "results/imagenet.csv")
    assert out.strip() == "lb: 5 versions found, 0 imported, 5 already imported, 0 failed"
    code, _, err = tracker(runner, cfg, "backfill", "lb", "--git", str(repo), "--path", "nope.csv")
    assert code == 2 and "no commit of 'nope.csv'" in err


@pytest.fixture
def timm_history(runner: CliRunner, write_config: Callable[..., Path]) -> Path:
    cfg = write_config(board_toml(id="imagenet-timm", title="ImageNet-1k top-1 (timm)", url=TIMM_URL, **TIMM))
    for v in versions("timm-imagenet"):
        tracker(runner, cfg, "import", "imagenet-timm", str(REAL / "timm-imagenet" / v["file"]),
                "--observed-at", v["committer_date"])
    return cfg


def test_history_text_and_json(runner: CliRunner, timm_history: Path) -> None:
    _, out, _ = tracker(runner, timm_history, "history", "imagenet-timm", "--format", "json")
    data = json.loads(out)
    assert set(data) == {"board", "leaders", "records"}
    assert data["leaders"][-1]["until"] is None and data["leaders"][0]["until"] == data["leaders"][1]["since"]
    assert [r["value"] for r in data["records"]] == [85.442, 88.352, 88.584, 88.602, 89.796, 90.052, 90.054,
                                                     90.056]
    assert data["records"][0]["margin"] is None and data["records"][1]["margin"] == pytest.approx(2.91)
    _, out, _ = tracker(runner, timm_history, "history", "imagenet-timm", "--format", "markdown")
    assert "### Leaders" in out and "| eva02_large_patch14_448.mim_m38m_ft_in22k_in1k | 90.056 |" in out


def test_plot_svg_and_png(runner: CliRunner, timm_history: Path, tmp_path: Path) -> None:
    code, out, _ = tracker(runner, timm_history, "plot", "imagenet-timm", "-o", str(tmp_path / "c.svg"))
    assert code == 0 and out.strip().endswith("8 record steps, 0 entries")
    svg = (tmp_path / "c.svg").read_text()
    assert sum(f'id="record-{i}"' in svg for i in range(1, 20)) == 8
    assert "top1 (higher is better)" in svg and "state of the art over time" in svg and "2023" in svg
    code, out, _ = tracker(runner, timm_history, "plot", "imagenet-timm", "-o", str(tmp_path / "c.png"),
                           "--since", "2022-01-01")
    assert code == 0 and "5 record steps" in out
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = tracker(runner, timm_history, "plot", "imagenet-timm", "-o", str(tmp_path / "c.pdf"))
    assert code == 2 and "use a .png or .svg file name" in err


def test_plot_dots_for_dated_entries(runner: CliRunner, tmp_path: Path, write_config: Callable[..., Path]) -> None:
    cfg = write_config(board_toml(id="swe", url="https://example.org/x.json", format="json", metric="resolved",
                                  rows="leaderboards[?name=='Verified'] | [0].results",
                                  fields={"model": "name", "resolved": "resolved",
                                          "date": {"from": "date", "type": "date"}}))
    from .conftest import PAGES

    tracker(runner, cfg, "import", "swe", str(PAGES / "json_swebench.json"), "--observed-at", "2025-10-02")
    code, out, _ = tracker(runner, cfg, "plot", "swe", "-o", str(tmp_path / "s.svg"))
    assert code == 0 and out.strip().endswith("1 record steps, 2 entries")


def test_report_markdown_names_the_leader(runner: CliRunner, timm_history: Path) -> None:
    code, out, _ = tracker(runner, timm_history, "report", "imagenet-timm", "--top", "3")
    assert code == 0
    assert ("the leader is eva02_large_patch14_448.mim_m38m_ft_in22k_in1k @448 with top1 90.056, ahead of "
            "eva02_large_patch14_448.mim_in22k_ft_in22k_in1k @448 by 0.1") in out
    assert "| rank | model | top1 | top5 | error (100 - acc) | params |" in out
    assert "| 3 | eva_giant_patch14_560.m30m_ft_in22k_in1k @560 | 89.79 | 98.99 | 10.21 | 1.01B |" in out
    assert f"Source: <{TIMM_URL}>" in out
    code, out, _ = tracker(runner, timm_history, "report", "imagenet-timm", "--as-of", "2021-12-31")
    assert "the leader is beit_large_patch16_512 @512 with top1 88.584" in out


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return path


def headless(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={tmp_path / 'chromium-profile'}"]
    return subprocess.run([chromium(), *flags, *args], capture_output=True, text=True, timeout=120)


def count_color(png: Path, rgb: tuple[int, int, int], tolerance: int = 12) -> int:
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(png).convert("RGB"), dtype=np.int16)
    close = np.abs(pixels - np.array(rgb, dtype=np.int16)) <= tolerance
    return int(close.all(axis=2).sum())


def test_html_report_renders_in_chromium(runner: CliRunner, timm_history: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "report.html"
    code, out, _ = tracker(runner, timm_history, "report", "imagenet-timm", "--format", "html", "-o", str(out_file))
    assert code == 0 and out.startswith(f"{out_file}: ImageNet-1k top-1 (timm) as of 2025-10-30")
    page = out_file.read_text()
    assert "<script" not in page and "http-equiv" not in page and page.count("<svg") == 1
    dom = headless(["--dump-dom", out_file.as_uri()], tmp_path)
    assert "eva02_large_patch14_448.mim_m38m_ft_in22k_in1k" in dom.stdout, dom.stderr[-2000:]
    assert dom.stdout.count("<tr") == 11 and 'id="record-8"' in dom.stdout
    shot = tmp_path / "report.png"
    headless([f"--screenshot={shot}", "--window-size=1200,1800", out_file.as_uri()], tmp_path)
    assert shot.exists(), "chromium wrote no screenshot"
    assert count_color(shot, (0xE8, 0xEE, 0xF7), 3) > 2000          # the table's header row is painted
    assert count_color(shot, (0xD6, 0x27, 0x28), 40) > 500          # the chart's red record line is drawn


def test_html_report_fits_a_phone(runner: CliRunner, timm_history: Path, tmp_path: Path) -> None:
    import html

    import numpy as np
    from PIL import Image

    out_file = tmp_path / "report.html"
    tracker(runner, timm_history, "report", "imagenet-timm", "--format", "html", "-o", str(out_file))
    page = out_file.read_text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    # headless windows are at least 500 px wide, so the page goes in a 420-px frame that reports its scroll width
    probe = tmp_path / "probe.html"
    probe.write_text(f'<!doctype html><body style="margin:0"><iframe id="f" style="width:420px;height:900px;border:0" '
                     f'srcdoc="{html.escape(page)}"></iframe><script>document.getElementById("f").onload = function() '
                     '{ const d = this.contentDocument.documentElement; '
                     'document.title = "width " + d.scrollWidth + " of " + d.clientWidth; };</script>')
    dom = headless(["--virtual-time-budget=5000", "--dump-dom", probe.as_uri()], tmp_path)
    assert "<title>width 420 of 420</title>" in dom.stdout, dom.stdout[-300:] + dom.stderr[-2000:]
    shot = tmp_path / "phone.png"
    headless([f"--screenshot={shot}", "--window-size=420,900", out_file.as_uri()], tmp_path)
    assert shot.exists(), "chromium wrote no screenshot"
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[1] == 420 and count_color(shot, (0xE8, 0xEE, 0xF7), 3) > 2000   # the table is there
    assert (pixels[:, -4:] >= 250).all(), "something runs off the right edge at 420 px"


def test_feed_is_valid_atom(runner: CliRunner, timm_history: Path, tmp_path: Path) -> None:
    code, out, _ = tracker(runner, timm_history, "feed", "-o", str(tmp_path / "feed.xml"))
    assert code == 0 and "11 entries" in out
    root = ET.parse(tmp_path / "feed.xml").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed" and len(entries) == 11
    assert [e.find("a:category", ns).get("term") for e in entries[:2]] == ["new_sota", "new_sota"]  # type: ignore
    updated = [e.findtext("a:updated", namespaces=ns) for e in entries]
    assert updated == sorted(updated, reverse=True) and root.findtext("a:updated", namespaces=ns) == updated[0]
    assert len({e.findtext("a:id", namespaces=ns) for e in entries}) == 11
