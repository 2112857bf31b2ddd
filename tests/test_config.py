"""Config is checked once, at load: every mistake names the board, the key and the allowed values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tracker import config
from tracker.errors import ConfigError

from .conftest import ROOT

BASE: dict[str, Any] = {"id": "b", "url": "https://example.org/x.csv", "format": "csv", "metric": "top1",
                        "fields": {"model": "model", "top1": "top1"}}


def load(**changes: Any) -> config.Settings:
    board = {**BASE, **changes}
    board = {k: v for k, v in board.items() if v is not None}
    return config.parse({"board": [board]}, base=Path("/cfg"))


@pytest.mark.parametrize(("changes", "message"), [
    ({"colour": "red"}, "board 'b': unknown key(s) colour (allowed: id, title, url, format"),
    ({"format": "xml"}, "board 'b': unknown format 'xml' (allowed: csv, html, json, pwc, yaml, parquet)"),
    ({"metric": "top5"}, "board 'b': 'metric' names 'top5', which is not a field (fields: model, top1)"),
    ({"key": ["model", "size"]}, "board 'b': 'key' names 'size', which is not a field"),
    ({"format": "html", "selector": "table[["}, "board 'b': bad CSS selector 'table[['"),
    ({"format": "json", "rows": "a[?"}, "board 'b'.rows: bad JMESPath 'a[?'"),
    ({"format": "json", "fields": {"model": "name", "top1": "x[?"}}, "board 'b'.fields.top1: bad JMESPath"),
    ({"exclude": ["(unclosed"]}, "board 'b'.exclude: bad regular expression '(unclosed'"),
    ({"fields": {"model": {"from": "m", "regex": "[a-"}, "top1": "top1"}}, "board 'b'.fields.model.regex: bad regular"),
    ({"fields": {"model": {"from": "m", "type": "money"}, "top1": "top1"}},
     "board 'b'.fields.model: unknown type 'money' (allowed: text, number, date)"),
    ({"fields": {"model": {"from": "m", "colour": 1}, "top1": "top1"}},
     "board 'b'.fields.model: unknown key(s) colour (allowed: from, type, regex)"),
    ({"url": "ftp://x"}, "board 'b': 'url' must start with http://, https:// or file://"),
    ({"id": "Bad Id"}, "board #1: 'id' must be a slug"),
    ({"format": "pwc"}, "board 'b': format 'pwc' needs 'dataset'"),
    ({"max_drop": 1.5}, "board 'b': 'max_drop' = 1.5 is out of range; it must be between 0 and 1"),
    ({"metric_range": [100, 0]}, "board 'b': 'metric_range' must be [low, high] with low <= high"),
    ({"higher_is_better": "yes"}, "board 'b': 'higher_is_better' must be true or false"),
    ({"selector": "table"}, "board 'b': 'selector' applies to format 'html' only"),
    ({"fields": None}, "board 'b': needs a [board.fields] table"),
    # each of these was a newcomer's stumble: one line that names the board, the key and the fix
    ({"format": "json", "rows": "a[?"},
     "board 'b'.rows: bad JMESPath 'a[?': incomplete expression at character 4; see https://jmespath.org"),
    ({"fields": {"model": "model", "top1": []}}, "board 'b'.fields.top1: 'from' is an empty list; name at least one"),
    ({"encoding": "klingon"}, "board 'b': unknown encoding 'klingon'; use a Python codec name"),
    ({"min_rows": -3}, "board 'b': 'min_rows' = -3 is out of range; it must be at least 0"),
    ({"url": "https://x.org/${NOT_SET_ANYWHERE}"},
     "board 'b'.url: environment variable NOT_SET_ANYWHERE is not set; export it"),
])
def test_refused_at_load(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(**changes)
    assert "\n" not in str(err.value)
    assert message in str(err.value)


def test_unknown_top_level_and_section_keys() -> None:
    with pytest.raises(ConfigError, match=r"unknown key\(s\) boards \(allowed: storage, fetch, schedule, board"):
        config.parse({"boards": []}, base=Path("/"))
    with pytest.raises(ConfigError, match=r"\[storage\]: unknown key\(s\) path"):
        config.parse({"storage": {"path": "x"}}, base=Path("/"))


def test_duplicate_ids() -> None:
    with pytest.raises(ConfigError, match="board 'b': duplicate id"):
        config.parse({"board": [BASE, BASE]}, base=Path("/"))


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('[[board]]\nid="b"\nurl="file://data/x.csv"\nformat="csv"\nmetric="top1"\n'
                                     '[board.fields]\nmodel="model"\ntop1="top1"\n')
    s = config.load(tmp_path / "c.toml")
    b = s.boards[0]
    assert s.storage_url == f"sqlite:///{tmp_path / 'tracker.db'}"
    assert s.snapshots_dir == tmp_path / "snapshots"
    assert b.url == f"file://{tmp_path / 'data/x.csv'}"
    assert (b.title, b.key, b.higher_is_better, b.min_rows, b.max_drop) == ("b", ("model",), True, 1, 0.5)
    assert b.tracked == ("top1",)


def test_env_overrides_and_expansion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", "sqlite:////tmp/other.db")
    monkeypatch.setenv("BOARD_HOST", "example.net")
    s = config.parse({"board": [{**BASE, "url": "https://${BOARD_HOST}/x.csv"}]}, base=Path("/"))
    assert s.storage_url == "sqlite:////tmp/other.db"
    b = s.boards[0]
    assert b.fetch_url == "https://example.net/x.csv"
    assert b.url == "https://${BOARD_HOST}/x.csv"  # kept as written: shown and stored without the value
    assert b.mask("GET https://example.net/x.csv failed on example.net") == \
        "GET https://${BOARD_HOST}/x.csv failed on ${BOARD_HOST}"
    assert "example.net" in s.secrets


def test_missing_env_var_is_named() -> None:
    with pytest.raises(ConfigError, match="environment variable NOPE_NOT_SET is not set"):
        config.parse({"board": [{**BASE, "url": "https://${NOPE_NOT_SET}/x"}]}, base=Path("/"))


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found; pass --config PATH, set TRACKER_CONFIG"):
        config.load(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("[[board]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(tmp_path / "bad.toml")


def test_config_path_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.config_path(None) == Path("config.toml")
    monkeypatch.setenv("TRACKER_CONFIG", "/etc/tracker.toml")
    assert config.config_path(None) == Path("/etc/tracker.toml")
    assert config.config_path("x.toml") == Path("x.toml")


def test_shipped_config_loads_with_real_boards() -> None:
    s = config.load(ROOT / "config.toml")
    ids = {b.id: b for b in s.boards}
    assert ids["imagenet-timm"].format == "csv" and ids["imagenet-timm"].key == ("model", "img_size")
    assert any(b.format == "json" for b in s.boards)
    assert all(b.url.startswith("https://") for b in s.boards)


def test_an_alert_glob_that_matches_no_board_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"alert #1: 'boards' pattern 'imagenet-\*' matches no board \(boards: b\)"):
        config.parse({"board": [BASE], "alert": [{"boards": ["imagenet-*"]}]}, base=Path("/"))
    assert config.parse({"board": [BASE], "alert": [{"boards": ["b*"]}]}, base=Path("/")).alerts[0].covers("b")
