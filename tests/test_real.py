"""Replays of the real leaderboard histories in ../shared/fixtures/real, read in place (never copied)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tracker import config
from tracker.importing import import_files
from tracker.pipeline import Context, RunResult

from .conftest import REAL, versions

TIMM = {"id": "imagenet-timm", "title": "ImageNet-1k top-1 (timm)", "url": "https://example.org/r.csv",
        "format": "csv", "metric": "top1", "key": ["model", "img_size"], "metric_range": [0, 100],
        "fields": {"model": "model", "img_size": "img_size", "top1": "top1", "top5": "top5",
                   "param_count": {"from": "param_count", "type": "number"}}}
ARENA = {"url": "https://example.org/a.csv", "format": "csv", "metric": "arena_score",
         "fields": {"model": "model", "arena_score": ["arena_score", "arena_elo"], "votes": "votes",
                    "knowledge_cutoff": {"from": "knowledge_cutoff", "type": "date"}}}


def spec(board: dict[str, Any]) -> config.BoardSpec:
    return config.parse({"board": [board]}, base=Path("/")).boards[0]


def replay(ctx: Context, board: dict[str, Any], folder: str, date_col: str = "committer_date") -> list[RunResult]:
    s = spec(board)
    out = []
    for v in versions(folder):
        when = datetime.fromisoformat(v.get(date_col) or v["author_date"])
        out.extend(import_files(s, [REAL / folder / v["file"]], ctx, observed_at=when))
    return out


def count(ctx: Context, board: str, kind: str) -> int:
    return len(ctx.store.events(board, [kind]))


def test_timm_imagenet_history(ctx: Context) -> None:
    results = replay(ctx, TIMM, "timm-imagenet")
    truth = json.loads((REAL / "timm-imagenet" / "truth.json").read_text())
    assert len(results) == 35 and not any(r.failed for r in results)
    assert count(ctx, "imagenet-timm", "leader_changed") == 4 == truth["leader_changes"]
    assert count(ctx, "imagenet-timm", "new_sota") == 7
    # byte-identical versions and the reordered 2021-10-28 pair store no snapshot
    assert [r.status for r in results].count("unchanged") == 3
    leaders = [(e.model, e.value) for e in ctx.store.events("imagenet-timm", ["leader_changed"])]
    assert leaders == [("tf_efficientnet_l2_ns", 88.352), ("beit_large_patch16_512", 88.584),
                       ("eva_giant_patch14_560.m30m_ft_in22k_in1k", 89.796),
                       ("eva02_large_patch14_448.mim_m38m_ft_in22k_in1k", 90.052)]
    # every stored snapshot's leader matches the independent truth for that version
    stored = {s.observed_at: s for s in ctx.store.history("imagenet-timm")}
    by_file = {v["file"]: datetime.fromisoformat(v["committer_date"]) for v in versions("timm-imagenet")}
    for t in truth["snapshots"]:
        s = stored.get(by_file[t["file"]])
        if s is not None:
            assert (s.leader_model, s.leader_value) == (t["leader"], t["leader_value"]), t["file"]
    latest = ctx.store.latest("imagenet-timm")
    assert latest is not None and latest.row_count == 1556
    assert latest.leader_model == "eva02_large_patch14_448.mim_m38m_ft_in22k_in1k" and latest.leader_value == 90.056
    big = next(r for r in latest.rows if r.model == "eva_giant_patch14_560.m30m_ft_in22k_in1k")
    assert big.value("param_count") == 1014.45


def test_timm_reimport_changes_nothing(ctx: Context) -> None:
    replay(ctx, TIMM, "timm-imagenet")
    before = (len(ctx.store.history("imagenet-timm")), len(ctx.store.events("imagenet-timm")))
    newest = REAL / "timm-imagenet" / versions("timm-imagenet")[-1]["file"]
    again = import_files(spec(TIMM), [newest, newest], ctx)
    assert [r.status for r in again] == ["unchanged", "unchanged"]
    assert (len(ctx.store.history("imagenet-timm")), len(ctx.store.events("imagenet-timm"))) == before
    # replaying a 2019 version after the 2025 one is a collapse from 1556 to 82 rows: quarantined
    old = import_files(spec(TIMM), [REAL / "timm-imagenet" / versions("timm-imagenet")[0]["file"]], ctx)
    assert old[0].failed and "max_drop" in (old[0].error or "")
    assert len(ctx.store.history("imagenet-timm")) == before[0]


def test_lmarena_vision_flip_flop(ctx: Context) -> None:
    replay(ctx, {**ARENA, "id": "arena-vision", "title": "Vision"}, "lmarena-vision")
    changes = ctx.store.events("arena-vision", ["leader_changed"])
    assert [(e.model, e.previous_model) for e in changes] == [
        ("Gemini-2.5-Pro-Preview-05-06", "Gemini-2.5-Pro"), ("Gemini-2.5-Pro", "Gemini-2.5-Pro-Preview-05-06")]
    assert count(ctx, "arena-vision", "new_sota") == 0


def test_lmarena_text(ctx: Context) -> None:
    results = replay(ctx, {**ARENA, "id": "arena-text", "title": "Text"}, "lmarena-text")
    assert count(ctx, "arena-text", "leader_changed") == 0
    sota = ctx.store.events("arena-text", ["new_sota"])
    assert [(e.model, e.value, e.previous_value) for e in sota] == [("Gemini-2.5-Pro", 1474.0, 1472.0)]
    assert all(any("duplicate key" in w and "yi-34b-chat" in w for w in r.warnings) for r in results)


def test_timm_docs_html(ctx: Context) -> None:
    board = {"id": "timm-html", "title": "timm docs", "url": "https://example.org/results/", "format": "html",
             "selector": "table", "metric": "top1", "key": ["model", "img_size"],
             "fields": {"model": "Model", "top1": "Acc@1 (Err)", "top5": "Acc@5 (Err)",
                        "img_size": {"from": "Image Size", "regex": "^(\\d+)"}}}
    results = replay(ctx, board, "timm-docs-html", "author_date")
    assert [r.status for r in results][-1] == "failed"          # the 2023 redirect stub has no table
    assert "no <table>" in (results[-1].error or "")
    # 2020-08-05: two tables (41 + 120 rows); "*tfp" rows (TF-preprocessing re-evaluations) lose their marker
    # and collide with the plain rows on (model, img_size): the first occurrence wins, with a warning
    assert any("48 duplicate key(s)" in w for w in results[0].warnings)
    first = ctx.store.history("timm-html")[0]
    assert first.row_count == 161 - 48
    assert (first.leader_model, first.leader_value) == ("tf_efficientnet_l2_ns", 88.352)
    # 2020-10-30 dropped the ported-weights table (113 -> 51 rows): the max_drop guard quarantines it
    assert results[1].failed and "down from 113" in (results[1].error or "")
    assert all(r.failed or r.status == "unchanged" for r in results[1:])
    forced = import_files(spec(board), [REAL / "timm-docs-html" / "2022-04-22_a4adf732.html"], ctx, force=True)
    assert forced[0].status == "changed"
    latest = ctx.store.latest("timm-html")
    assert latest is not None and latest.row_count == 51 and all(" *" not in r.model for r in latest.rows)
    assert latest.rows[0].fields["img_size"] is not None


def test_pwc_squad(ctx: Context) -> None:
    board = {"title": "SQuAD2.0 F1", "url": "https://example.org/squad.json", "format": "pwc",
             "dataset": "SQuAD2.0", "metric": "f1", "metrics": ["em"],
             "fields": {"model": "model_name", "f1": "F1", "em": "EM",
                        "paper_date": {"from": "paper_date", "type": "date"}}}
    results = replay(ctx, {**board, "id": "squad-all"}, "pwc-taskdb/squad", "author_date")
    assert results[0].failed and "fewer than min_rows" in (results[0].error or "")   # the empty first scrape
    assert [e.model for e in ctx.store.events("squad-all", ["leader_changed"])] == [
        "BERT + DAE + AoA (ensemble)", "FPNet (ensemble)"]
    replay(ctx, {**board, "id": "squad-excl", "exclude": ["^Human Performance$"]}, "pwc-taskdb/squad",
           "author_date")
    assert [e.model for e in ctx.store.events("squad-excl", ["leader_changed"])] == [
        "BERT + Synthetic Self-Training (ensemble)", "BERT + DAE + AoA (ensemble)", "FPNet (ensemble)"]


def test_pwc_eff_imagenet_lower_is_better(ctx: Context) -> None:
    board = {"id": "eff-imagenet", "title": "ILSVRC error", "url": "https://example.org/eff.json", "format": "pwc",
             "dataset": "Imagenet Image Recognition", "metric": "error", "higher_is_better": False,
             "fields": {"model": "model_name", "error": "Error rate"}}
    results = replay(ctx, board, "pwc-taskdb/eff", "author_date")
    assert results[0].status == "baseline"
    latest = ctx.store.latest("eff-imagenet")
    assert latest is not None and latest.leader_model == "SE-ResNet152 / WMW"
    assert latest.leader_value == pytest.approx(0.02251)
