"""The dated report: recent changes (leader changes and records listed, the rest counted), composite keys, HTML."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.store import Store

from .conftest import board_toml

BOARD = board_toml(id="lb", title="Image board", url="https://example.org/lb.csv", format="csv", metric="top1",
                   key=["model", "img_size"], fields={"model": "model", "img_size": "img_size", "top1": "top1"})
VERSIONS = {
    "2025-01-01": [("m1", 224, 80.0), ("m2", 224, 79.0), ("old", 224, 75.0)],
    # outside the 30-day window of the 2025-05-01 report: a leader change and a record
    "2025-03-01": [("m3", 224, 85.0), ("m1", 224, 80.0), ("m2", 224, 79.0), ("old", 224, 75.0)],
    # the day: twelve small entries and m3 at 384 px take the lead from m3 at 224 px; m1's score changes,
    # m2 is removed and "old" is renamed to "new" (same numbers)
    "2025-05-01": [("m3", 384, 86.0), ("m3", 224, 85.0), ("m1", 224, 80.5), ("new", 224, 75.0),
                   *[(f"small{i:02}", 224, 60.0 + i / 10) for i in range(12)]],
}


def tracker(runner: CliRunner, cfg: Path, *args: str) -> str:
    r = runner.invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    return r.stdout


@pytest.fixture
def board(runner: CliRunner, tmp_path: Path, write_config: Callable[..., Path]) -> Path:
    cfg = write_config(BOARD)
    for day, rows in VERSIONS.items():
        f = tmp_path / f"{day}.csv"
        f.write_text("model,img_size,top1\n" + "".join(f"{m},{s},{v}\n" for m, s, v in rows))
        tracker(runner, cfg, "import", "lb", str(f), "--observed-at", f"{day}T12:00:00+00:00")
    return cfg


def section(markdown: str, title: str) -> str:
    return markdown.split(f"## {title}", 1)[1].split("\n## ", 1)[0].split("\nSource: ", 1)[0]


def test_recent_changes_list_leader_changes_and_records_and_count_the_rest(runner: CliRunner, board: Path,
                                                                           store: Store) -> None:
    assert len(store.events("lb", ["entry_added"])) > 10                  # enough to crowd out the leader change
    out = tracker(runner, board, "report", "lb")
    recent = section(out, "Recent changes")
    assert recent.startswith(" (2025-04-01 to 2025-05-01)\n\n")
    items = [line for line in recent.splitlines() if line.startswith("- ")]
    assert items == [
        "- 2025-05-01: m3 @384 (86) takes the lead from m3 @224 (85), +1",
        "- 2025-05-01: new record top1 86 by m3 @384 (previous record 85 by m3)"]
    assert "Other changes: 13 entries added, 1 score change, 1 renamed, 1 removed." in recent
    assert "2025-03-01" not in recent and "small" not in recent


def test_recent_changes_end_at_the_reports_snapshot(runner: CliRunner, board: Path) -> None:
    recent = section(tracker(runner, board, "report", "lb", "--as-of", "2025-03-15"), "Recent changes")
    assert recent.startswith(" (2025-01-30 to 2025-03-01)\n\n")
    assert [line for line in recent.splitlines() if line.startswith("- ")] == [
        "- 2025-03-01: m3 @224 (85) takes the lead from m1 @224 (80), +5",
        "- 2025-03-01: new record top1 85 by m3 @224 (previous record 80 by m1)"]
    assert "Other changes: 1 entry added." in recent and "2025-05-01" not in recent


def test_a_quiet_window_says_so(runner: CliRunner, board: Path, write_config: Callable[..., Path],
                                tmp_path: Path) -> None:
    f = tmp_path / "later.csv"
    f.write_text("model,img_size,top1\n" + "".join(f"{m},{s},{v}\n" for m, s, v in VERSIONS["2025-05-01"])
                 + "extra,224,1\n")
    tracker(runner, board, "import", "lb", str(f), "--observed-at", "2025-07-01T12:00:00+00:00")
    recent = section(tracker(runner, board, "report", "lb"), "Recent changes")
    assert "- no leader change or new record" in recent and "Other changes: 1 entry added." in recent


def test_composite_keys_are_labelled_in_tables_and_sentence(runner: CliRunner, board: Path) -> None:
    out = tracker(runner, board, "report", "lb", "--top", "3")
    assert "| 1 | m3 @384 | 86 |" in out and "| 2 | m3 @224 | 85 |" in out and "| 3 | m1 @224 | 80.5 |" in out
    assert "the leader is m3 @384 with top1 86, ahead of m3 @224 by 1." in out


def test_html_report_is_made_for_phones_too(runner: CliRunner, board: Path, tmp_path: Path) -> None:
    tracker(runner, board, "report", "lb", "--format", "html", "-o", str(tmp_path / "r.html"))
    page = (tmp_path / "r.html").read_text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert '<td class="name">m3 @384</td>' in page and '<td class="num">86</td>' in page
    css = re.search(r"<style>(.*)</style>", page, re.S)
    assert css and "td.name" in css[1] and "overflow-wrap:anywhere" in css[1] and "max-width:100%" in css[1]
    assert "<li>2025-05-01: m3 @384 (86) takes the lead from m3 @224 (85), +1</li>" in page
    assert '<p class="counts">Other changes: 13 entries added, 1 score change, 1 renamed, 1 removed.</p>' in page
