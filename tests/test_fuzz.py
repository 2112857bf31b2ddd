"""Property-based fuzzing: random bytes and mutated real documents end in rows or a ParseError, quickly."""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from tracker import config
from tracker.config import BoardSpec
from tracker.errors import ParseError
from tracker.models import Page
from tracker.normalize import normalize
from tracker.sources import parse_document

from .conftest import PAGES, REAL

FORMATS = PAGES.parent / "formats"

# no database (database=None) and Hypothesis' other caches (its "constants") outside the repository
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "tracker-hypothesis")
# CI replays a fixed set of examples (derandomize), so a red CI always means a change broke something; locally
# every run explores new ones (raise TRACKER_FUZZ_EXAMPLES for a longer campaign)
FUZZ = settings(max_examples=int(os.environ.get("TRACKER_FUZZ_EXAMPLES", "60")), deadline=None, database=None,
                derandomize=bool(os.environ.get("CI")),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PER_EXAMPLE = 2.0  # seconds: a hang guard; examples take milliseconds

BOARDS: dict[str, dict[str, Any]] = {
    "csv": {"format": "csv", "metric": "score", "key": ["model"],
            "fields": {"model": "model", "score": ["arena_score", "top1", "score", "Top 1 Accuracy"], "votes": "votes",
                       "released": {"from": ["knowledge_cutoff", "released"], "type": "date"}}},
    "html": {"format": "html", "selector": "table", "metric": "top1",
             "fields": {"model": "Model", "top1": ["Acc@1 (Err)", "Top 1 Accuracy"],
                        "img_size": {"from": "Image Size", "regex": "^(\\d+)"}}},
    "json": {"format": "json", "metric": "resolved", "rows": "leaderboards[?name=='Verified'] | [0].results",
             "fields": {"model": "name", "resolved": "resolved", "date": {"from": "date", "type": "date"},
                        "org": "tags[0]"}},
    "pwc": {"format": "pwc", "dataset": "SQuAD2.0", "metric": "f1",
            "fields": {"model": "model_name", "f1": ["F1", "Accuracy"], "em": {"from": "EM", "type": "number"},
                       "paper_date": {"from": "paper_date", "type": "date"}}},
    "yaml": {"format": "yaml", "metric": "pass_rate_2",
             "fields": {"model": ["model", "$key"], "pass_rate_2": ["pass_rate_2", '"pass@1"'],
                        "cost": {"from": "total_cost", "type": "number"}, "date": {"from": "date", "type": "date"}}},
    "csv-gz": {"format": "csv", "metric": "top1", "fields": {"model": "model", "top1": "top1"}},
}
SEEDS = {
    "csv": [PAGES / "csv_values.csv", PAGES / "csv_bom_semicolon.csv", REAL / "lmarena-vision/2025-07-27_283321b9.csv",
            REAL / "timm-imagenet/2019-07-03_2a1d09b4.csv"],
    "html": [PAGES / "html_multiheader.html", PAGES / "html_first_matching.html",
             REAL / "timm-docs-html/2021-03-14_acb81357.html"],
    "json": [PAGES / "json_swebench.json"],
    "pwc": [PAGES / "pwc_nested.json", REAL / "pwc-taskdb/squad/2019-01-09_b5cc443e.json"],
    "yaml": [FORMATS / "polyglot_leaderboard.yml", FORMATS / "keyed_models.json"],  # JSON is YAML too
    "csv-gz": [FORMATS / "results.csv.gz"],
}
HOSTILE = [b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\xed\xa0\x80", b"\\ud800", b'"', b"\n", b"\r", b",", b";", b"\t",
           b"1" * 400, b"1e999", b"NaN", b"[1]*" * 50, b"*" * 200, b"\xe2\x80\xa0" * 30,
           b"<td colspan=999 rowspan=999>", b"<br>\x07", b"<tr>", b"</table>", b"<table>", b"<!--", b"<th>Model</th>",
           b'{"metrics": [1]}', b'"sota": []', b'"rows": 7', b'"dataset": {}', b"null", b"[]", b"{}", b"]", b"}",
           b"&a [*a, *a]", b"*a", b"<<: *a", b"!!python/object:os.system", b"!!binary", b"---\n", b"- ", b": ",
           b"\x1f\x8b", b"PK\x03\x04"]
DEEP = [b"[" * 1200, b'{"a":' * 1200, b'{"tasks":[' * 600, b"<div>" * 3000, b"<table><tr><td>" * 300,
        b"- " * 1200, b"a:\n " * 600]


def spec_for(fmt: str) -> BoardSpec:
    raw = {"id": "fuzz", "title": "Fuzz", "url": "https://example.org/fuzz", **BOARDS[fmt]}
    return config.parse({"board": [raw]}, base=Path("/")).boards[0]


SPECS = {fmt: spec_for(fmt) for fmt in BOARDS}
PWC_REAL = replace(SPECS["pwc"], dataset="ImageNet ReaL")  # the dataset of the recorded page pwc_nested.json
DOCS = {fmt: [p.read_bytes() for p in paths if p.exists()] for fmt, paths in SEEDS.items()}


def check(fmt: str, data: bytes, **page: Any) -> None:
    """Parse + normalize through the safety net: rows or a one-line ParseError, within the time bound."""
    spec = SPECS[fmt] if fmt != "pwc" or b"SQuAD" in data else PWC_REAL
    start = time.monotonic()
    try:
        parsed = parse_document(Page(url="https://example.org/fuzz", content=data, fetched_at=datetime.now(UTC),
                                     **page), spec)
        norm = normalize(parsed.rows, spec)
        for row in norm.rows:
            row.model.encode("utf-8")
            assert all(v is None or math.isfinite(v) for v in row.values.values())
        event("rows" if norm.rows else "no rows")
    except ParseError as exc:
        assert str(exc).startswith("fuzz: ") and "\n" not in str(exc), str(exc)
        assert "could not parse the document" not in str(exc), "the safety net caught a parser bug: fix its cause"
        event("ParseError: " + " ".join(str(exc).split()[2:5]))
    took = time.monotonic() - start
    assert took < PER_EXAMPLE, f"{fmt}: {len(data)} bytes took {took:.2f} s"


@st.composite
def mutated(draw: st.DrawFn, fmt: str) -> bytes:
    """A seed document with 1-4 mutations: byte flips, truncation, splices, duplicated spans, deep nesting."""
    doc = bytearray(draw(st.sampled_from(DOCS[fmt])))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(doc)))
        kind = draw(st.sampled_from(["flip", "truncate", "splice", "duplicate", "hostile", "deep"]))
        if kind == "flip" and doc:
            for _ in range(draw(st.integers(1, 8))):
                i = draw(st.integers(0, len(doc) - 1))
                doc[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del doc[at:]
        elif kind == "splice":
            other = draw(st.sampled_from([d for docs in DOCS.values() for d in docs]))
            i = draw(st.integers(0, len(other)))
            doc[at:at] = other[i:i + draw(st.integers(1, 2000))]
        elif kind == "duplicate":
            span = bytes(doc[at:at + draw(st.integers(1, 300))])
            doc[at:at] = span * draw(st.integers(1, 40))
        elif kind == "hostile":
            doc[at:at] = draw(st.sampled_from(HOSTILE)) * draw(st.integers(1, 5))
        else:
            doc[at:at] = draw(st.sampled_from(DEEP))
    return bytes(doc)


KEYS = ["dataset", "sota", "rows", "metrics", "model_name", "F1", "EM", "tasks", "datasets", "subdatasets",
        "subtasks", "paper_date", "name", "resolved", "results", "leaderboards", "tags", "date"]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.sampled_from(KEYS),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), kids,
                                                             max_size=4),
    max_leaves=12)


def _nodes(doc: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every value inside a JSON document, in document order."""
    out: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        items = list(node.items()) if isinstance(node, dict) else list(enumerate(node)) if isinstance(
            node, list) else []
        for key, value in reversed(items):
            out.append((node, key))
            stack.append(value)
    return out


@st.composite
def json_mutated(draw: st.DrawFn, fmt: str) -> bytes:
    """A seed JSON document with 1-6 values replaced by random JSON of any type (lists for objects, ...)."""
    seed = draw(st.sampled_from(DOCS[fmt]))
    doc = yaml.safe_load(seed) if fmt == "yaml" else json.loads(seed)
    for _ in range(draw(st.integers(1, 6))):
        nodes = _nodes(doc)
        if not nodes:
            break
        parent, key = nodes[draw(st.integers(0, len(nodes) - 1))]
        kind = draw(st.sampled_from(["replace", "delete", "wrap"]))
        if kind == "delete":
            del parent[key]
        elif kind == "wrap":
            parent[key] = draw(st.sampled_from([[parent[key]], {"metrics": parent[key]}, {"rows": parent[key]}]))
        else:
            parent[key] = draw(JSON_VALUES)
    if fmt == "yaml":
        return yaml.safe_dump(doc, allow_unicode=draw(st.booleans())).encode()
    return json.dumps(doc, ensure_ascii=draw(st.booleans())).encode()


@pytest.mark.parametrize("fmt", ["json", "pwc", "yaml"])
@FUZZ
@given(st.data())
def test_mutated_json_trees(fmt: str, data: st.DataObject) -> None:
    check(fmt, data.draw(json_mutated(fmt)))


@pytest.mark.parametrize("fmt", sorted(BOARDS))
@FUZZ
@given(data=st.binary(max_size=4000), encoding=st.sampled_from([None, "utf-8", "utf-16", "latin-1", "bogus"]))
def test_random_bytes(fmt: str, data: bytes, encoding: str | None) -> None:
    check(fmt, data, encoding=encoding)


@pytest.mark.parametrize("fmt", sorted(BOARDS))
@FUZZ
@given(st.data())
def test_mutated_documents(fmt: str, data: st.DataObject) -> None:
    check(fmt, data.draw(mutated(fmt)), hint_encoding=data.draw(st.sampled_from([None, "cp1252", "utf-16"])))


def test_seeds_parse_cleanly() -> None:
    """The unmutated seeds are real boards: each yields rows (so mutations start from a working document)."""
    for fmt, docs in DOCS.items():
        for doc in docs:
            spec = SPECS[fmt] if fmt != "pwc" or b"SQuAD" in doc else PWC_REAL
            assert normalize(parse_document(Page("x", doc, datetime.now(UTC)), spec).rows, spec).rows
