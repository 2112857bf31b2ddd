"""Parsers are tested from recorded pages: each tests/fixtures/pages/<case>.<ext> with <case>.expected.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tracker import config
from tracker.config import BoardSpec
from tracker.errors import ParseError
from tracker.models import Page
from tracker.pipeline import parse_rows

from .conftest import PAGES

CASES = sorted(p for p in PAGES.glob("*.expected.json"))


def spec_for(board: dict[str, Any], url: str = "file:///case") -> BoardSpec:
    raw = {"id": "case", "title": "Case", "url": url, **board}
    return config.parse({"board": [raw]}, base=Path("/")).boards[0]


def page_for(path: Path) -> Page:
    return Page(url=f"file://{path}", content=path.read_bytes(), fetched_at=datetime.now(UTC))


@pytest.mark.parametrize("expected_path", CASES, ids=[p.name.split(".")[0] for p in CASES])
def test_recorded_page(expected_path: Path) -> None:
    expected = json.loads(expected_path.read_text())
    if expected["board"]["format"] == "parquet":
        pytest.importorskip("pyarrow", reason="format parquet needs the extra: pip install -e '.[parquet]'")
    case = expected_path.name.split(".")[0]
    doc = PAGES / expected["page"] if "page" in expected else next(
        p for p in PAGES.glob(f"{case}.*") if not p.name.endswith(".expected.json"))
    rows, warnings = parse_rows(page_for(doc), spec_for(expected["board"]))
    assert [r.model for r in rows] == [e["model"] for e in expected["rows"]]
    for row, exp in zip(rows, expected["rows"], strict=True):
        if "key" in exp:
            assert list(row.key) == exp["key"]
        for name, value in exp.get("values", {}).items():
            assert row.value(name) == (pytest.approx(value) if value is not None else None), (row.model, name)
        for name, value in exp.get("fields", {}).items():
            assert row.fields[name] == value, (row.model, name)
    assert len(warnings) == len(expected["warnings"])
    for got, want in zip(warnings, expected["warnings"], strict=True):
        assert got.startswith(want)


def test_cases_cover_every_format() -> None:
    formats = {json.loads(p.read_text())["board"]["format"] for p in CASES}
    assert formats == set(config.FORMAT_NAMES)


def test_sources_registry_matches_config() -> None:
    from tracker.sources import FORMATS

    assert tuple(FORMATS) == config.FORMAT_NAMES
    for name, cls in FORMATS.items():
        assert cls.kind == name and cls.__doc__


def test_missing_required_column_names_the_columns(tmp_path: Path) -> None:
    doc = tmp_path / "x.csv"
    doc.write_text("name,score\na,1\n")
    spec = spec_for({"format": "csv", "metric": "top1", "fields": {"model": "model", "top1": "top1"}})
    with pytest.raises(ParseError) as err:
        parse_rows(page_for(doc), spec)
    assert "'model'" in str(err.value) and "'name'" in str(err.value) and "'score'" in str(err.value)


def test_optional_column_missing_is_a_warning(tmp_path: Path) -> None:
    doc = tmp_path / "x.csv"
    doc.write_text("model,top1\na,1\n")
    spec = spec_for({"format": "csv", "metric": "top1",
                     "fields": {"model": "model", "top1": "top1", "top5": {"from": "top5", "type": "number"}}})
    rows, warnings = parse_rows(page_for(doc), spec)
    assert rows[0].value("top5") is None
    assert warnings == ["no column for optional field 'top5' (looked for top5)"]


def test_html_without_table_fails(tmp_path: Path) -> None:
    doc = tmp_path / "stub.html"
    doc.write_text('<html><head><meta http-equiv="refresh" content="0; url=/new"></head><body>moved</body></html>')
    spec = spec_for({"format": "html", "metric": "top1", "fields": {"model": "Model", "top1": "top1"}})
    with pytest.raises(ParseError, match="no <table>"):
        parse_rows(page_for(doc), spec)


def test_json_rows_not_a_list(tmp_path: Path) -> None:
    doc = tmp_path / "x.json"
    doc.write_text('{"data": {"a": 1}}')
    spec = spec_for({"format": "json", "metric": "s", "rows": "data", "fields": {"model": "m", "s": "s"}})
    with pytest.raises(ParseError, match="not a list of rows"):
        parse_rows(page_for(doc), spec)


def test_invalid_json_names_position(tmp_path: Path) -> None:
    doc = tmp_path / "x.json"
    doc.write_text('{"data": [1, 2,')
    spec = spec_for({"format": "json", "metric": "s", "rows": "data", "fields": {"model": "m", "s": "s"}})
    with pytest.raises(ParseError, match=r"not valid JSON.*line 1"):
        parse_rows(page_for(doc), spec)


def test_pwc_unknown_dataset_lists_datasets() -> None:
    spec = spec_for({"format": "pwc", "dataset": "CIFAR-10", "metric": "a",
                     "fields": {"model": "model_name", "a": "Accuracy"}})
    with pytest.raises(ParseError, match="ImageNet ReaL"):
        parse_rows(page_for(PAGES / "pwc_nested.json"), spec)


def test_latin1_document_is_detected(tmp_path: Path) -> None:
    doc = tmp_path / "x.csv"
    doc.write_bytes("model,top1\nNaïve Bäyes résumé modèle,71.5\n".encode("latin-1"))
    spec = spec_for({"format": "csv", "metric": "top1", "encoding": "latin-1",
                     "fields": {"model": "model", "top1": "top1"}})
    rows, _ = parse_rows(page_for(doc), spec)
    assert rows[0].model == "Naïve Bäyes résumé modèle"
