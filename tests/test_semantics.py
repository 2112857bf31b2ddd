"""Leader changes people believe: aliases, renames, duplicates, tolerance, where, confidence intervals, published
dates. Table-driven through the real pipeline (import of small documents into a temporary store), plus the
LMArena vision history with its confidence intervals."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tracker import alerts, config
from tracker.cli import cli
from tracker.diff import parse_interval
from tracker.errors import ConfigError
from tracker.history import history
from tracker.importing import import_files
from tracker.pipeline import Context

from .conftest import REAL, LocalServer, Response, board_toml, versions

T0 = datetime(2025, 1, 1, tzinfo=UTC)
BASE: dict[str, Any] = {"id": "b", "title": "B", "url": "https://example.org/b.csv", "format": "csv",
                        "metric": "score", "fields": {"model": "model", "score": "score"}}


def spec_of(board: dict[str, Any], top: dict[str, Any] | None = None) -> config.BoardSpec:
    return config.parse({**(top or {}), "board": [{**BASE, **board}]}, base=Path("/")).boards[0]


def replay(ctx: Context, tmp_path: Path, docs: list[str], board: dict[str, Any] | None = None,
           boards: list[dict[str, Any]] | None = None) -> list[tuple[str, str | None, str | None]]:
    """Import each CSV text in order (a day apart), with `boards[i]` as the config for doc i if given."""
    for i, doc in enumerate(docs):
        path = tmp_path / f"v{i}.csv"
        path.write_text(doc)
        spec = spec_of((boards[i] if boards else board) or {})
        import_files(spec, [path], ctx, observed_at=T0 + timedelta(days=i))
    return [(e.type.value, e.model, e.previous_model) for e in ctx.store.events("b")
            if e.type.value != "score_changed"]


def csv(*rows: tuple[str, float | str], extra: str = "") -> str:
    head = "model,score" + (f",{extra}" if extra else "")
    return head + "\n" + "".join(",".join(str(x) for x in r) + "\n" for r in rows)


@pytest.mark.parametrize(("case", "docs", "board", "expected"), [
    ("rename of the leader: one entry_renamed, no leader change, no record",
     [csv(("Gemini-2.5-Pro-Exp-03-25", 1440), ("B", 1400)), csv(("Gemini-2.5-Pro-Preview-03-25", 1440), ("B", 1400))],
     {}, [("entry_renamed", "Gemini-2.5-Pro-Preview-03-25", "Gemini-2.5-Pro-Exp-03-25")]),
    ("renames = false: a removal, an addition and a leader change",
     [csv(("A", 90), ("B", 80)), csv(("A2", 90), ("B", 80))], {"renames": False},
     [("leader_changed", "A2", "A"), ("entry_added", "A2", None), ("entry_removed", "A", "A")]),
    ("an ambiguous two-for-two is not paired; the clear pair in the same snapshot still is",
     [csv(("A", 50), ("B", 50), ("C", 90)), csv(("X", 50), ("Y", 50), ("C2", 90))], {},
     [("entry_added", "X", None), ("entry_added", "Y", None), ("entry_renamed", "C2", "C"),
      ("entry_removed", "A", "A"), ("entry_removed", "B", "B")]),
    ("different numbers are no rename",
     [csv(("A", 90), ("B", 80)), csv(("A", 90), ("B2", 81))], {},
     [("entry_added", "B2", None), ("entry_removed", "B", "B")]),
    ("tolerance: a challenger ahead by exactly the tolerance does not take the lead, nor set a record",
     [csv(("A", 90.0), ("B", 89.0)), csv(("A", 90.0), ("B", 90.5))], {"tolerance": 0.5}, []),
    ("tolerance: ahead by more takes the lead and sets a record",
     [csv(("A", 90.0), ("B", 89.0)), csv(("A", 90.0), ("B", 90.51))], {"tolerance": 0.5},
     [("new_sota", "B", "A"), ("leader_changed", "B", "A")]),
    ("where with a list: rows with extra training data are left out before the leader is chosen",
     [csv(("A", 91, "yes"), ("B", 90, "no"), ("C", 89, "")), csv(("A", 92, "yes"), ("B", 90, "no"), ("C", 90.5, ""))],
     {"where": {"extra": ["no", ""]}, "fields": {"model": "model", "score": "score", "extra": "extra"}},
     [("new_sota", "C", "B"), ("leader_changed", "C", "B")]),
])
def test_rules(case: str, docs: list[str], board: dict[str, Any], expected: list[tuple[str, str | None, str | None]],
               ctx: Context, tmp_path: Path) -> None:
    if "where" in board:
        docs = [d.replace("model,score\n", "model,score,extra\n", 1) for d in docs]
    assert replay(ctx, tmp_path, docs, board) == expected, case


def test_tolerance_hides_small_score_changes(ctx: Context, tmp_path: Path) -> None:
    replay(ctx, tmp_path, [csv(("A", 90.0), ("B", 80.0)), csv(("A", 90.25), ("B", 80.5))], {"tolerance": 0.25})
    assert [(e.model, e.value) for e in ctx.store.events("b", ["score_changed"])] == [("B", 80.5)]


def test_alias_added_mid_history_creates_no_event_and_applies_to_both_sides(ctx: Context, tmp_path: Path) -> None:
    docs = [csv(("Gemini-2.5-Pro-Exp-03-25", 1440), ("B", 1400)),
            csv(("gemini-2.5-pro-exp-03-25", 1440), ("B", 1400), ("C", 1300)),
            csv(("Gemini-2.5-Pro", 1441), ("B", 1400), ("C", 1300))]
    alias = {"aliases": {"Gemini-2.5-Pro-Exp-03-25": "Gemini-2.5-Pro"}}
    got = replay(ctx, tmp_path, docs, boards=[{}, alias, alias])
    # the alias (case-insensitive) arrives with version 2: no event for the name change itself, then a record
    assert got == [("entry_added", "C", None), ("new_sota", "Gemini-2.5-Pro", "Gemini-2.5-Pro")]
    assert ctx.store.latest("b").leader_model == "Gemini-2.5-Pro"  # type: ignore[union-attr]
    # past snapshots are shown under today's aliases: one reign, not two
    hist = history(ctx.store, spec_of(alias))
    assert [r.model for r in hist.leaders] == ["Gemini-2.5-Pro"]
    assert [r.model for r in hist.records] == ["Gemini-2.5-Pro", "Gemini-2.5-Pro"]


def test_global_aliases_and_board_aliases_win(tmp_path: Path) -> None:
    spec = spec_of({"aliases": {"x": "Board wins"}}, {"aliases": {"X": "Global", "Y": "Global Y"}})
    assert dict(spec.aliases) == {"x": "Board wins", "y": "Global Y"}
    with pytest.raises(ConfigError, match="alias chain"):
        spec_of({"aliases": {"a": "b", "B": "c"}})


@pytest.mark.parametrize(("mode", "kept"), [("first", 80.0), ("best", 85.0), ("last", 70.0)])
def test_duplicates(mode: str, kept: float, ctx: Context, tmp_path: Path) -> None:
    doc = csv(("A", 80), ("Top", 99), ("a", 85), ("A ", 85), ("A", 70))
    replay(ctx, tmp_path, [doc], {"duplicates": mode})
    snap = ctx.store.latest("b")
    assert snap is not None and [r.value("score") for r in snap.rows if r.model.lower() == "a"] == [kept]
    fetch = ctx.store.fetches("b")[0]
    assert any(f"1 duplicate key(s), {mode} row kept: a (3 dropped)" in w for w in fetch.warnings)
    if mode == "best":  # a tie (85 twice) keeps the first of the best
        assert next(r for r in snap.rows if r.model.lower() == "a").model == "a"


@pytest.mark.parametrize(("text", "value", "bounds"), [
    ("+5/-4", 100.0, (96.0, 105.0)), ("-4/+5", 100.0, (96.0, 105.0)), ("±5", 100.0, (95.0, 105.0)),
    ("5", 100.0, (95.0, 105.0)), ("+9/-9", 1317.0, (1308.0, 1326.0)), ("n/a", 1.0, None), (None, 1.0, None)])
def test_interval_texts(text: str | None, value: float, bounds: tuple[float, float] | None) -> None:
    assert parse_interval(text, value) == bounds


@pytest.mark.parametrize(("new_value", "ci_new", "ci_old", "significant"), [
    (109, "+5/-4", "+5/-4", False),   # new lower 105 is not above old upper 105: overlap at the edge
    (110, "+5/-6", "+5/-4", False),   # new lower 104 <= old upper 105
    (110, "+5/-4", "+4/-4", True),    # new lower 106 > old upper 104: asymmetric +5/-4 read correctly
    (110, "-4/+5", "±4", True),       # the same, written the other way round, against a ± interval
])
def test_asymmetric_intervals_decide_significance(new_value: float, ci_new: str, ci_old: str, significant: bool,
                                                   ctx: Context, tmp_path: Path) -> None:
    board = {"fields": {"model": "model", "score": "score", "ci": "ci"}}
    docs = [csv(("Old", 100, ci_old), ("New", 90, ci_new), extra="ci"),
            csv(("Old", 100, ci_old), ("New", new_value, ci_new), extra="ci")]
    replay(ctx, tmp_path, docs, board)
    change = ctx.store.events("b", ["leader_changed"])[0]
    assert change.model == "New" and change.significant is significant
    assert ("statistical tie" in change.message) is not significant


def test_published_dates_label_a_backdated_record(ctx: Context, tmp_path: Path) -> None:
    board = {"published": "date", "fields": {"model": "model", "score": "score",
                                             "date": {"from": "date", "type": "date"}}}
    docs = [csv(("A", 90, "2024-05-01"), extra="date"),
            csv(("A", 90, "2024-05-01"), ("B", 91, "2024-06-01"), extra="date"),
            csv(("A", 90, "2024-05-01"), ("B", 91, "2024-06-01"), ("C", 92, "2023-01-15"), extra="date")]
    replay(ctx, tmp_path, docs, board)
    records = ctx.store.events("b", ["new_sota"])
    assert [(e.model, e.published, e.backdated) for e in records] == [("B", "2024-06-01", False),
                                                                      ("C", "2023-01-15", True)]
    assert "backdated: published 2023-01-15, before the previous record (2024-06-01)" in records[1].message
    assert [e.published for e in ctx.store.events("b", ["leader_changed"])] == ["2024-06-01", "2023-01-15"]
    # on the published-date axis C (published 2023-01-15) held the record all along; the chart agrees
    hist = history(ctx.store, spec_of(board))
    assert [(r.model, r.value, r.when.date().isoformat()) for r in hist.records] == [("C", 92.0, "2023-01-15")]


def test_config_refuses_bad_semantics() -> None:
    for board, message in [({"duplicates": "max"}, "'duplicates' must be one of first, best, last"),
                           ({"tolerance": -1}, "'tolerance' = -1 is out of range"),
                           ({"where": {"nope": "x"}}, "'nope' is not a field"),
                           ({"published": "score"}, "'published' must name a field of type \"date\""),
                           ({"fields": {"model": "m", "score": "s", "ci": "c", "ci_lower": "l"}}, "not both"),
                           ({"fields": {"model": "m", "score": "s", "ci_lower": "l"}}, "go together")]:
        with pytest.raises(ConfigError, match=message):
            spec_of(board)


ARENA: dict[str, Any] = {"id": "b", "title": "LMArena vision", "url": "https://example.org/v.csv", "format": "csv",
                         "metric": "arena_score",
                         "fields": {"model": "model", "arena_score": ["arena_score", "arena_elo"], "ci": "95_pct_ci"}}


@pytest.mark.parametrize(("ties", "sent"), [(False, 0), (True, 2)])
def test_lmarena_vision_flips_are_statistical_ties(ties: bool, sent: int, ctx: Context,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    rule: dict[str, Any] = {"on": ["leader_changed"], "notify": ["console"]}
    if ties:
        rule["ties"] = True
    settings = config.parse({"board": [ARENA], "alert": [rule]}, base=Path("/"))
    for v in versions("lmarena-vision"):
        import_files(settings.boards[0], [REAL / "lmarena-vision" / v["file"]], ctx, alert=True,
                     observed_at=datetime.fromisoformat(v["committer_date"]))
    flips = ctx.store.events("b", ["leader_changed"])
    assert [(e.model, e.significant) for e in flips] == [("Gemini-2.5-Pro-Preview-05-06", False),
                                                         ("Gemini-2.5-Pro", False)]
    result = alerts.dispatch(settings, ctx.store)
    assert result.sent == sent and capsys.readouterr().out.count("ALERT") == sent
    if not ties:
        assert {d.status for d in alerts.deliveries(ctx.store)} == {"suppressed"}
        assert all("statistical tie" in (d.last_error or "") for d in alerts.deliveries(ctx.store))


def test_lmarena_vision_without_intervals_counts_both_flips_as_significant(ctx: Context) -> None:
    board = {**ARENA, "fields": {k: v for k, v in ARENA["fields"].items() if k != "ci"}}
    spec = config.parse({"board": [board]}, base=Path("/")).boards[0]
    for v in versions("lmarena-vision"):
        import_files(spec, [REAL / "lmarena-vision" / v["file"]], ctx)
    assert [e.significant for e in ctx.store.events("b", ["leader_changed"])] == [True, True]


def test_two_boards_on_one_url_fetch_it_once(runner: CliRunner, server: LocalServer,
                                             write_config: Callable[..., Path]) -> None:
    body = csv(("A", 91, "yes"), ("B", 90, "no"), ("C", 89, "")).replace("model,score", "model,score,extra")
    url = server.route("/pwc.csv", Response(body=body.encode()))
    fields = {"model": "model", "score": "score", "extra": "extra"}
    cfg = write_config(board_toml(id="all", url=url, format="csv", metric="score", fields=fields),
                       board_toml(id="no-extra", url=url, format="csv", metric="score", fields=fields,
                                  where={"extra": ["no", "false", ""]}))
    result = runner.invoke(cli, ["--config", str(cfg), "run"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert len(server.hits_for("/pwc.csv")) == 1
    leaders = {}
    for board in ("all", "no-extra"):
        out = runner.invoke(cli, ["--config", str(cfg), "show", board, "--format", "json"]).stdout
        leaders[board] = json.loads(out)["leader"]["model"]
    assert leaders == {"all": "A", "no-extra": "B"}
