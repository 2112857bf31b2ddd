"""`tracker site`: the static website and JSON API, built from the real timm and SQuAD histories (read in place) and
a board with hostile model names, checked in Debian's headless Chromium, against the documented JSON shapes, and
by a link checker; incremental rebuilds, --as-of, --board, and the SQL views for Datasette."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from click.testing import CliRunner

from tracker import config
from tracker.cli import cli
from tracker.history import history
from tracker.importing import import_files
from tracker.models import Change, ChangeKind
from tracker.pipeline import Context
from tracker.store import Archive, Store

from .conftest import REAL, board_toml, versions

TIMM = board_toml(id="imagenet-timm", title="ImageNet-1k top-1 (timm)", url="https://example.org/r.csv",
                  format="csv", metric="top1", key=["model", "img_size"], metric_range=[0, 100],
                  fields={"model": "model", "img_size": "img_size", "top1": "top1", "top5": "top5",
                          "param_count": {"from": "param_count", "type": "number"}})
SQUAD = board_toml(id="squad", title="SQuAD2.0 F1", url="https://example.org/squad.json", format="pwc",
                   dataset="SQuAD2.0", metric="f1", metrics=["em"], published="paper_date",
                   fields={"model": "model_name", "f1": "F1", "em": "EM", "paper": "paper_url",
                           "extra_data": "uses_additional_data",
                           "paper_date": {"from": "paper_date", "type": "date"}})
EVIL = board_toml(id="evil", title="Evil <b>board</b> & \"co\"", url="https://example.org/evil.csv", format="csv",
                  metric="score", fields={"model": "model", "score": "score", "code": "code"})
EVIL_NAME = "<script>alert('x')</script>\"quoted\""
EVIL_ROWS = [(EVIL_NAME, "90", "javascript:alert(1)"), ("</td></tr><img src=x onerror=alert(1)>", "80",
                                                        "https://example.org/code?a=1&b=2")]
ALL_BOARDS = ("imagenet-timm", "squad", "evil")


def tracker(cfg: Path, *args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def evil_csv(folder: Path, rows: list[tuple[str, str, str]], name: str = "evil.csv") -> Path:
    import csv

    path = folder / name
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["model", "score", "code"])
        w.writerows(rows)
    return path


def replay(ctx: Context, spec: config.BoardSpec, folder: str, date_col: str) -> None:
    for v in versions(folder):
        import_files(spec, [REAL / folder / v["file"]], ctx, observed_at=datetime.fromisoformat(v[date_col]))


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A config and store holding the real timm and SQuAD histories and the hostile board."""
    tmp = tmp_path_factory.mktemp("site")
    cfg = tmp / "config.toml"
    cfg.write_text(f'[storage]\nurl = "sqlite:///{tmp / "tracker.db"}"\nsnapshots = "{tmp / "snapshots"}"\n\n'
                   f"{TIMM}\n{SQUAD}\n{EVIL}")
    settings = config.load(cfg)
    store = Store(settings.storage_url)
    ctx = Context(store, Archive(settings.snapshots_dir))
    replay(ctx, settings.board("imagenet-timm"), "timm-imagenet", "committer_date")
    replay(ctx, settings.board("squad"), "pwc-taskdb/squad", "author_date")
    import_files(settings.board("evil"), [evil_csv(tmp, EVIL_ROWS)], ctx,
                 observed_at=datetime.fromisoformat("2025-01-01T00:00:00+00:00"))
    store.close()
    yield cfg


@pytest.fixture(scope="module")
def site(real: Path) -> Path:
    out = real.parent / "out"
    code, stdout, stderr = tracker(real, "site", "-o", str(out), "--base-url", "https://example.org/sota")
    assert code == 0, stderr
    assert stdout.strip() == f"{out}: 3 boards, 3 built, 0 unchanged in " + stdout.split(" in ")[-1].strip()
    return out


# ---- JSON shapes (as documented in the README) --------------------------------------------------------------

NUM = (int, float)
OPT_NUM = (int, float, type(None))
OPT_STR = (str, type(None))


def check(obj: Any, shape: dict[str, Any], where: str) -> None:
    """Every key of `shape` is present with one of its types (a dict shape checks a nested object), no others."""
    assert isinstance(obj, dict), f"{where}: not an object"
    assert set(obj) == set(shape), f"{where}: keys {sorted(obj)} != {sorted(shape)}"
    for k, t in shape.items():
        if isinstance(t, dict):
            if obj[k] is not None:
                check(obj[k], t, f"{where}.{k}")
        else:
            assert isinstance(obj[k], t) and not (t == NUM and isinstance(obj[k], bool)), \
                f"{where}.{k}: {obj[k]!r} is not {t}"


LEADER = {"model": str, "name": str, "value": OPT_NUM, "since": OPT_STR, "margin": OPT_NUM}
RECORD = {"model": str, "value": NUM, "when": str}
BOARD_ENTRY = {"id": str, "title": str, "url": str, "api": str, "source": str, "collection": OPT_STR, "metric": str,
               "higher_is_better": bool, "leader": LEADER, "runner_up": {"model": str, "name": str,
                                                                         "value": OPT_NUM},
               "record": RECORD, "entries": int, "as_of": str, "snapshot_id": int, "last_change_at": str}
ROW = {"rank": (int, type(None)), "model": str, "name": str, "key": list, "value": OPT_NUM, "leader": bool,
       "fields": dict, "values": dict}
HEAD = {"schema": int, "id": str, "title": str, "source": str, "metric": str, "higher_is_better": bool,
        "metrics": list, "key": list, "as_of": str, "snapshot_id": int}
REIGN = {"model": str, "key": list, "value": OPT_NUM, "since": str, "until": OPT_STR}
STEP = {"model": str, "value": NUM, "when": str, "margin": OPT_NUM, "snapshot_id": (int, type(None)),
        "backdated": bool}
EVENT = {"id": int, "type": str, "observed_at": str, "model": OPT_STR, "value": OPT_NUM, "previous_model": OPT_STR,
         "previous_value": OPT_NUM, "margin": OPT_NUM, "message": str}


def check_board_doc(doc: dict[str, Any], where: str) -> None:
    check(doc, {**HEAD, "leader": LEADER, "runners_up": list, "record": RECORD, "rows": list, "records": list,
                "leaders": list}, where)
    assert doc["schema"] == 1
    for i, r in enumerate(doc["rows"]):
        check(r, ROW, f"{where}.rows[{i}]")
        assert all(isinstance(v, str | type(None)) for v in r["fields"].values())
        assert all(isinstance(v, int | float | type(None)) for v in r["values"].values())
    for i, r in enumerate(doc["runners_up"]):
        check(r, ROW, f"{where}.runners_up[{i}]")
    for i, r in enumerate(doc["records"]):
        check(r, STEP, f"{where}.records[{i}]")
    for i, r in enumerate(doc["leaders"]):
        check(r, REIGN, f"{where}.leaders[{i}]")


def test_api_files_match_the_documented_shapes(site: Path) -> None:
    boards = json.loads((site / "api" / "boards.json").read_text())
    check(boards, {"schema": int, "generated_at": str, "as_of": OPT_STR, "boards": list}, "boards.json")
    assert boards["schema"] == 1 and boards["as_of"] is None
    assert sorted(b["id"] for b in boards["boards"]) == sorted(ALL_BOARDS)
    for b in boards["boards"]:
        check(b, BOARD_ENTRY, f"boards.json[{b['id']}]")
        assert b["url"] == f"https://example.org/sota/b/{b['id']}/"
        assert b["api"] == f"https://example.org/sota/api/b/{b['id']}.json"
    timm = next(b for b in boards["boards"] if b["id"] == "imagenet-timm")
    assert timm["leader"]["model"] == "eva02_large_patch14_448.mim_m38m_ft_in22k_in1k"
    assert timm["leader"]["value"] == 90.056 and timm["entries"] == 1556
    assert timm["record"]["value"] == 90.056
    for board in ALL_BOARDS:
        doc = json.loads((site / "api" / "b" / f"{board}.json").read_text())
        check_board_doc(doc, f"api/b/{board}.json")
        rows = json.loads((site / "b" / board / "rows.json").read_text())
        check(rows, {**HEAD, "rows": list}, f"b/{board}/rows.json")
        assert rows["rows"] == doc["rows"]
        hist = json.loads((site / "b" / board / "history.json").read_text())
        check(hist, {**HEAD, "leaders": list, "records": list, "events": list}, f"b/{board}/history.json")
        for i, e in enumerate(hist["events"]):
            check(e, EVENT, f"b/{board}/history.json.events[{i}]")
    timm_doc = json.loads((site / "api" / "b" / "imagenet-timm.json").read_text())
    assert len(timm_doc["rows"]) == 1556 and len(timm_doc["records"]) == 8
    assert [r["model"] for r in timm_doc["leaders"]][-2:] == ["eva_giant_patch14_560.m30m_ft_in22k_in1k",
                                                               "eva02_large_patch14_448.mim_m38m_ft_in22k_in1k"]
    assert timm_doc["runners_up"][0]["model"] == "eva02_large_patch14_448.mim_in22k_ft_in22k_in1k"


# ---- links, escaping, files -------------------------------------------------------------------------------


class Links(HTMLParser):
    """Collects href/src values and element ids."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for k, v in attrs:
            if k in ("href", "src") and v is not None:
                self.links.append(v)
            if k == "id" and v:
                self.ids.add(v)


def test_every_relative_link_resolves_to_a_file(site: Path) -> None:
    pages = list(site.rglob("*.html"))
    assert len(pages) == 1 + len(ALL_BOARDS)
    checked = 0
    for page in pages:
        p = Links()
        p.feed(page.read_text())
        for link in p.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                assert parts.scheme in ("http", "https"), f"{page}: {link}"
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            assert target.is_file(), f"{page.relative_to(site)} links to {link}, which is not a file"
            assert site.resolve() in target.resolve().parents or target.resolve().parent == site.resolve()
            if parts.fragment and target == page:
                assert parts.fragment in p.ids, f"{page}: no id {parts.fragment!r}"
            checked += 1
    assert checked > 20


def test_hostile_names_are_escaped(site: Path) -> None:
    page = (site / "b" / "evil" / "index.html").read_text()
    index = (site / "index.html").read_text()
    for text in (page, index):
        assert "<script>alert" not in text and "<img src=x" not in text and "<b>board</b>" not in text
    assert html.escape(EVIL_NAME) in page and "&lt;/td&gt;&lt;/tr&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'href="javascript:' not in page and "javascript:alert(1)" in page           # shown, never a link
    assert '<a href="https://example.org/code?a=1&amp;b=2" rel="nofollow">' in page
    assert page.count("<script>") == 1                                                 # only the page's own
    feed = (site / "b" / "evil" / "feed.xml").read_text()
    assert "<script>" not in feed
    doc = json.loads((site / "api" / "b" / "evil.json").read_text())
    assert doc["leader"]["model"] == EVIL_NAME


def test_pages_are_self_contained(site: Path) -> None:
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
        assert "<style>" in text and "<link rel=\"stylesheet\"" not in text and " src=\"http" not in text
    timm = (site / "b" / "imagenet-timm" / "index.html").read_text()
    assert timm.count("<svg") == 1 and 'class="step"' in timm
    assert not list(site.rglob("*.tmp")) and not list(site.rglob(".*.tmp"))


# ---- headless Chromium ----------------------------------------------------------------------------------


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return path


def headless(args: list[str], tmp_path: Path) -> str:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={tmp_path / 'chromium-profile'}"]
    try:
        r = subprocess.run([chromium(), *flags, *args], capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail("chromium did not finish within 90 s")
    return r.stdout


def probe(page: Path, width: int, script: str, tmp_path: Path) -> str:
    """Load `page` in a `width`-px frame and run `script` on its document; return what it put in the title."""
    p = tmp_path / f"probe-{width}.html"
    p.write_text(f'<!doctype html><body style="margin:0"><iframe id="f" style="width:{width}px;height:900px;'
                 f'border:0" srcdoc="{html.escape(page.read_text())}"></iframe><script>'
                 'document.getElementById("f").onload = function() { const doc = this.contentDocument, '
                 f'win = this.contentWindow; {script} }};</script>')
    dom = headless(["--virtual-time-budget=10000", "--dump-dom", p.as_uri()], tmp_path)
    m = re.search(r"<title>(.*?)</title>", dom)
    assert m, dom[-500:]
    return html.unescape(m.group(1))


WIDTH = ('document.title = "width " + doc.documentElement.scrollWidth + " of " + win.innerWidth;')


def test_index_and_board_page_render_in_chromium(site: Path, tmp_path: Path) -> None:
    dom = headless(["--dump-dom", (site / "index.html").as_uri()], tmp_path)
    assert "eva02_large_patch14_448.mim_m38m_ft_in22k_in1k" in dom and "FPNet (ensemble)" in dom
    assert dom.count('<section class="group"') == 1 and len(re.findall(r"<tbody>.*?</tbody>", dom, re.S)) == 1
    dom = headless(["--dump-dom", (site / "b" / "imagenet-timm" / "index.html").as_uri()], tmp_path)
    assert ("eva02_large_patch14_448.mim_m38m_ft_in22k_in1k @448 leads with top1 90.056, +0.1 over "
            "eva02_large_patch14_448.mim_in22k_ft_in22k_in1k @448") in dom
    table = dom.split('<table class="rows">', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr") == 1 + 1556
    assert '<tr class="leader"><td class="num">1</td>' in table
    svg = dom.split('<svg class="chart"', 1)[1].split("</svg>", 1)[0]
    assert svg.count('class="step"') == 8 and 'id="record-8"' in svg      # the first best and 7 new records
    assert 'class="record"' in svg and 'class="dots"' in svg


@pytest.mark.parametrize("width", [1280, 420])
@pytest.mark.parametrize("page", ["index.html", "b/imagenet-timm/index.html", "b/squad/index.html",
                                  "b/evil/index.html"])
def test_no_horizontal_overflow(site: Path, tmp_path: Path, page: str, width: int) -> None:
    assert probe(site / page, width, WIDTH, tmp_path) == f"width {width} of {width}"
    shot = tmp_path / f"{width}.png"
    headless([f"--screenshot={shot}", f"--window-size={width},1200", (site / page).as_uri()], tmp_path)
    assert shot.exists(), "chromium wrote no screenshot"


def test_the_filter_box_narrows_the_index(site: Path, tmp_path: Path) -> None:
    count = ('const shown = () => [...doc.querySelectorAll("tbody tr")].filter(r => !r.hidden).length; '
             'const box = doc.getElementById("filter"); const before = shown(); '
             'box.value = "squad"; box.dispatchEvent(new Event("input")); const after = shown(); '
             'box.value = ""; box.dispatchEvent(new Event("input")); '
             'document.title = [before, after, shown(), box.hidden].join(" ");')
    assert probe(site / "index.html", 1280, count, tmp_path) == "3 1 3 false"


def test_columns_sort_on_click(site: Path, tmp_path: Path) -> None:
    sort = ('const th = [...doc.querySelectorAll("th")].find(t => t.textContent.startsWith("value")); '
            'th.click(); const a = [...doc.querySelectorAll("tbody tr td:nth-child(3)")].map(t => t.textContent); '
            'th.click(); const b = [...doc.querySelectorAll("tbody tr td:nth-child(3)")].map(t => t.textContent); '
            'document.title = a.join(",") + " | " + b.join(",");')
    assert probe(site / "index.html", 1280, sort, tmp_path) == "90,90.056,93.183 | 93.183,90.056,90"


# ---- incremental builds, --as-of, --board ---------------------------------------------------------------------


@pytest.fixture
def copy(real: Path, tmp_path: Path) -> Path:
    """A private copy of the real store and config (these tests write to it)."""
    shutil.copy(real.parent / "tracker.db", tmp_path / "tracker.db")
    cfg = tmp_path / "config.toml"
    cfg.write_text(real.read_text().replace(str(real.parent / "tracker.db"), str(tmp_path / "tracker.db"))
                   .replace(str(real.parent / "snapshots"), str(tmp_path / "snapshots")))
    return cfg


def stamps(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}


def test_unchanged_boards_are_not_rewritten(copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert tracker(copy, "site", "-o", str(out))[1].startswith(f"{out}: 3 boards, 3 built, 0 unchanged")
    before = stamps(out)
    assert tracker(copy, "site", "-o", str(out))[1].startswith(f"{out}: 3 boards, 0 built, 3 unchanged")
    after = stamps(out)
    assert {k for k in before if before[k] != after[k]} == {"index.html", "feed.xml", "api/boards.json",
                                                            ".tracker-site.json"}
    # a failed fetch (a source-health event) changes nothing a page shows: no rebuild
    store = Store(config.load(copy).storage_url)
    store.add_event("evil", Change(ChangeKind.SOURCE_FAILED, None, None, "evil: fetch failed"),
                    datetime.fromisoformat("2025-01-15T00:00:00+00:00"))
    store.close()
    assert tracker(copy, "site", "-o", str(out))[1].startswith(f"{out}: 3 boards, 0 built, 3 unchanged")
    after = stamps(out)
    # a new version of one board: only that board's files are written again
    code, _, err = tracker(copy, "import", "evil", str(evil_csv(tmp_path, [("newcomer", "99", ""), *EVIL_ROWS])),
                           "--observed-at", "2025-02-01")
    assert code == 0, err
    assert tracker(copy, "site", "-o", str(out))[1].startswith(f"{out}: 3 boards, 1 built, 2 unchanged")
    again = stamps(out)
    changed = {k for k in after if after[k] != again[k]}
    assert changed - {"index.html", "feed.xml", "api/boards.json", ".tracker-site.json"} == {
        f"b/evil/{n}" for n in ("index.html", "feed.xml", "rows.csv", "rows.json", "history.json")} | {
        "api/b/evil.json"}
    assert "newcomer" in (out / "index.html").read_text()
    # a new build format (template change) rebuilds everything
    manifest = json.loads((out / ".tracker-site.json").read_text())
    (out / ".tracker-site.json").write_text(json.dumps({**manifest, "format": 0}))
    assert tracker(copy, "site", "-o", str(out))[1].startswith(f"{out}: 3 boards, 3 built, 0 unchanged")
    # a configuration change of one board (its title) rebuilds that board
    copy.write_text(copy.read_text().replace('title = "SQuAD2.0 F1"', 'title = "SQuAD 2.0 F1"'))
    assert tracker(copy, "site", "-o", str(out))[1].startswith(f"{out}: 3 boards, 1 built, 2 unchanged")
    assert "SQuAD 2.0 F1" in (out / "b" / "squad" / "index.html").read_text()


def test_board_globs_and_removed_boards(copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    tracker(copy, "site", "-o", str(out))
    code, stdout, _ = tracker(copy, "site", "-o", str(out), "--board", "sq*", "--board", "imagenet-timm")
    assert code == 0 and stdout.startswith(f"{out}: 2 boards, 0 built, 2 unchanged, 1 removed")
    assert not (out / "b" / "evil").exists() and not (out / "api" / "b" / "evil.json").exists()
    assert "evil" not in (out / "index.html").read_text()
    code, _, err = tracker(copy, "site", "-o", str(out), "--board", "nope-*")
    assert code == 2 and "no board matches 'nope-*'" in err


def test_as_of_shows_the_past(copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    tracker(copy, "site", "-o", str(out))
    code, stdout, _ = tracker(copy, "site", "-o", str(out), "--as-of", "2021-12-31")
    assert code == 0 and stdout.startswith(f"{out}: 2 boards, 2 built, 0 unchanged, 1 removed in ")
    assert stdout.rstrip().endswith("; 1 without a snapshot (evil)")
    assert not (out / "b" / "evil").exists() and not (out / "api" / "b" / "evil.json").exists()
    boards = {b["id"]: b for b in json.loads((out / "api" / "boards.json").read_text())["boards"]}
    assert boards["imagenet-timm"]["leader"]["model"] == "beit_large_patch16_512"
    assert boards["imagenet-timm"]["as_of"] <= "2021-12-31T23:59:59Z"
    doc = json.loads((out / "api" / "b" / "imagenet-timm.json").read_text())
    assert all(r["when"] <= "2021-12-31T23:59:59Z" for r in doc["records"]) and doc["leaders"][-1]["until"] is None
    assert "as of 2021-12-31" in (out / "index.html").read_text()
    code, _, err = tracker(copy, "site", "-o", str(out), "--as-of", "someday")
    assert code == 2 and "cannot read 'someday' as a date" in err


def test_unwritable_output_is_one_clear_line(copy: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = tracker(copy, "site", "-o", str(blocker / "out"))
    assert code == 2 and err.startswith("Error: cannot write") and "-o DIR" in err


# ---- the SQL views -------------------------------------------------------------------------------------------


def test_sql_views_give_the_same_answers(ctx: Context) -> None:
    from sqlalchemy import text

    spec = config.parse({"board": [{"id": "imagenet-timm", "title": "t", "url": "https://example.org/r.csv",
                                    "format": "csv", "metric": "top1", "key": ["model", "img_size"],
                                    "fields": {"model": "model", "img_size": "img_size", "top1": "top1",
                                               "top5": "top5"}}]}, base=Path("/")).boards[0]
    replay(ctx, spec, "timm-imagenet", "committer_date")
    h = history(ctx.store, spec)
    latest = ctx.store.latest(spec.id)
    assert latest is not None
    with ctx.store.engine.connect() as conn:
        leaders = conn.execute(text("SELECT model, value, until FROM leaders WHERE board_id = :b ORDER BY reign"),
                               {"b": spec.id}).all()
        records = conn.execute(text("SELECT model, value FROM records WHERE board_id = :b "
                                    "ORDER BY observed_at, snapshot_id"), {"b": spec.id}).all()
        rows = conn.execute(text("SELECT model, key, numbers, leader, snapshot_id FROM latest_rows "
                                 "WHERE board_id = :b ORDER BY position"), {"b": spec.id}).all()
    assert [(r.model, r.value) for r in leaders] == [(r.model, r.value) for r in h.leaders]
    assert [r.until for r in leaders][-1] is None
    assert [(r.model, r.value) for r in records] == [(r.model, r.value) for r in h.records]
    assert len(rows) == 1556 and {r.snapshot_id for r in rows} == {latest.id}
    assert [r.model for r in rows] == [r.model for r in latest.rows]
    assert [json.loads(r.numbers) for r in rows[:50]] == [dict(r.values) for r in latest.rows[:50]]
    lead = [r for r in rows if r.leader]
    assert len(lead) == 1 and tuple(json.loads(lead[0].key)) == latest.leader_key


def test_migration_fills_latest_row_from_existing_snapshots(ctx: Context, db_url: str, tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from tracker.store import migrate

    spec = config.parse({"board": [{"id": "b", "title": "B", "url": "https://example.org/b.csv", "format": "csv",
                                    "metric": "top1", "fields": {"model": "model", "top1": "top1"}}]},
                        base=Path("/")).boards[0]
    for day, rows in (("2025-01-01", "a,1\nb,2\n"), ("2025-02-01", "a,3\nb,2\nc,1\n")):
        path = tmp_path / f"{day}.csv"
        path.write_text("model,top1\n" + rows)
        import_files(spec, [path], ctx, observed_at=datetime.fromisoformat(f"{day}T00:00:00+00:00"))
    ctx.store.close()
    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.SCRIPTS))
    engine = Store(db_url).engine
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0005"
        assert "latest_row" not in {r[0] for r in conn.execute(text(
            "SELECT table_name FROM information_schema.tables" if engine.dialect.name == "postgresql" else
            "SELECT name FROM sqlite_master"))}
    engine.dispose()
    store = Store(db_url)                                   # upgrades again, filling latest_row from the blobs
    with store.engine.connect() as conn:
        got = conn.execute(text("SELECT model, numbers, leader FROM latest_rows ORDER BY position")).all()
    store.close()
    assert [(m, json.loads(n), ld) for m, n, ld in got] == [("a", {"top1": 3.0}, 1), ("b", {"top1": 2.0}, 0),
                                                            ("c", {"top1": 1.0}, 0)]


def test_index_groups_boards_by_collection(real: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from tracker.site import build_site

    settings = config.load(real)
    groups = {"imagenet-timm": "vision <i>sets</i>", "squad": "nlp"}
    settings = replace(settings, boards=tuple(replace(b, collection=groups.get(b.id)) for b in settings.boards))
    store = Store(settings.storage_url)
    try:
        result = build_site(store, settings, tmp_path / "out")
    finally:
        store.close()
    assert (result.boards, result.built) == (3, 3)
    page = (tmp_path / "out" / "index.html").read_text()
    heads = re.findall(r'<section class="group" id="g-\d+"><h2>(.*?)</h2>', page)
    assert heads == ["nlp", "vision &lt;i&gt;sets&lt;/i&gt;", "Boards"]                # hand-written boards last
    boards = json.loads((tmp_path / "out" / "api" / "boards.json").read_text())["boards"]
    assert {b["id"]: b["collection"] for b in boards} == {**groups, "evil": None}
    hide = ('const box = doc.getElementById("filter"); box.value = "fpnet"; box.dispatchEvent(new Event("input")); '
            'document.title = [...doc.querySelectorAll("section.group")].map(s => s.hidden ? 0 : 1).join("");')
    assert probe(tmp_path / "out" / "index.html", 1280, hide, tmp_path) == "100"


def test_worker_processes_write_the_same_site(real: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.site import build_site, parallel

    settings = config.load(real)
    store = Store(settings.storage_url)
    try:
        one = build_site(store, settings, tmp_path / "one", workers=1)
        monkeypatch.setattr(parallel, "PARALLEL_FROM", 1)
        two = build_site(store, settings, tmp_path / "two", workers=2)
    finally:
        store.close()
    assert (one.built, two.built) == (3, 3)
    files = sorted(str(p.relative_to(tmp_path / "one")) for p in (tmp_path / "one").rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(tmp_path / "two")) for p in (tmp_path / "two").rglob("*") if p.is_file())
    for f in files:
        if f not in ("index.html", "api/boards.json", ".tracker-site.json"):      # these hold the build time
            assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes(), f
