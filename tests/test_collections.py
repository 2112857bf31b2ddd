"""[[collection]]: one document, many boards (pwc dump, board objects in JSON/YAML, zip members), on real histories."""

from __future__ import annotations

import gzip
import io
import json
import os
import tomllib
import zipfile
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker import config
from tracker.cli import cli
from tracker.collect import with_generated
from tracker.errors import ConfigError, ParseError
from tracker.models import Page
from tracker.sources.collection import expand
from tracker.store import Store

from .conftest import REAL, ROOT, LocalServer, Response, toml_value, versions

EFF = REAL / "pwc-taskdb" / "eff" / "2019-01-14_74a0bb4c.json"
SQUAD = REAL / "pwc-taskdb" / "squad"
LOWER = ["*error*", "*wer*", "*perplexity*", "fid*", "*loss*"]


def collection_toml(**kw: Any) -> str:
    """A [[collection]] table; a `fields` dict becomes [collection.fields]."""
    fields = kw.pop("fields", None)
    lines = ["[[collection]]", *(f"{k} = {toml_value(v)}" for k, v in kw.items())]
    if fields:
        lines += ["[collection.fields]", *(f"{k} = {toml_value(v)}" for k, v in fields.items())]
    return "\n".join(lines) + "\n"


@pytest.fixture
def tracker(runner: CliRunner, write_config: Callable[..., Path]) -> Callable[..., Any]:
    """tracker(table, *args): write a config holding the collection table, run `tracker ARGS --config it`."""
    def call(table: str, *args: str, code: int | None = 0, extra: str = "") -> Result:
        path = write_config(table, extra=extra)
        result = runner.invoke(cli, [*args, "--config", str(path)])
        if code is not None:
            assert result.exit_code == code, result.output + str(result.exception)
        return result
    return call


def rows_json(tracker: Callable[..., Result], table: str, board: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = json.loads(tracker(table, "show", board, "--format", "json").output)["rows"]
    return out


# ---- an independent reading of the pwc dump: nothing from tracker's parser --------------------------------

def _datasets(node: Any, task: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, list):
        for item in node:
            yield from _datasets(item, task)
    elif isinstance(node, dict):
        task = node.get("task", task)
        if "dataset" in node and isinstance(node.get("sota"), dict):
            yield task, node
        for key in ("datasets", "subdatasets", "subtasks"):
            yield from _datasets(node.get(key, []), task)


def _number(v: Any) -> float | None:
    try:
        return float(str(v).replace("%", "").replace(",", "").strip())
    except ValueError:
        return None


def expected_leaders(doc: Any) -> dict[str, tuple[str, float, bool]]:
    """(task on dataset) -> (leader model, value, higher is better), by the dataset's first listed metric."""
    out = {}
    for task, ds in _datasets(doc):
        metrics = ds["sota"].get("metrics") or []
        rows = ds["sota"].get("rows") or []
        if not metrics or not rows:
            continue
        metric = metrics[0]
        higher = not any(__import__("fnmatch").fnmatchcase(metric.lower(), g) for g in LOWER)
        scored = [(r["model_name"], _number(r.get("metrics", {}).get(metric))) for r in rows if r.get("model_name")]
        scored = [(m, v) for m, v in scored if v is not None]
        if scored:
            best = (max if higher else min)(v for _, v in scored)
            out[f"{task} on {ds['dataset']}"] = (next(m for m, v in scored if v == best), best, higher)
    return out


def test_pwc_collection_one_board_per_task_and_dataset_leaders_match_an_independent_reading(
        tracker: Any, write_config: Callable[..., Path], db_url: str) -> None:
    if not EFF.exists():
        pytest.skip(f"real fixtures not found at {REAL}")
    table = collection_toml(id="eff", title="EFF AI progress", url=f"file://{EFF}", format="pwc",
                            lower_is_better=LOWER, published="paper_date")
    out = tracker(table, "run").output
    assert "eff: " in out and "board(s)" in out
    want = expected_leaders(json.loads(EFF.read_text()))
    store = Store(db_url)
    try:
        specs = {s.title: s for s in with_generated(config.load(write_config(table)), store).boards if s.id != "eff"}
        assert len(want) >= 55 and set(specs) == set(want)  # 55 tasks, some with several datasets
        for title, (model, value, higher) in want.items():
            spec = specs[title]
            snap = store.latest(spec.id)
            assert snap is not None and spec.higher_is_better is higher, title
            assert snap.leader_value == pytest.approx(value), title
            tied = [r.model for r in snap.rows if r.value(spec.metric) == pytest.approx(value)]
            assert model in tied and snap.leader_model in tied, title
    finally:
        store.close()
    imagenet = json.loads(tracker(table, "show", "eff-image-classification-on-imagenet-image-recognition",
                                  "--format", "json").output)
    assert imagenet["rows"][0]["model"] == "SE-ResNet152 / WMW" and imagenet["higher_is_better"] is False
    assert imagenet["title"] == "Image Classification on Imagenet Image Recognition"
    again = tracker(table, "run").output
    assert "eff: unchanged" in again and "baseline" not in again


def test_pwc_squad_history_replays_to_the_truth(tracker: Any) -> None:
    """Seven real versions imported one by one: after each, every board's leader is the independent truth's."""
    truth = json.loads((REAL / "pwc-taskdb" / "truth_squad.json").read_text())
    by_file = {snap["file"]: snap["datasets"] for snap in truth["snapshots"]}
    files = [v["file"] for v in versions("pwc-taskdb/squad")]
    table = collection_toml(id="squad", url=f"file://{SQUAD / files[-1]}", format="pwc", metric="F1")
    boards = {"SQuAD2.0 [all]": "squad-question-answering-on-squad2-0",
              "SQuAD1.1 [all]": "squad-question-answering-on-squad1-1"}
    checked = 0
    for f in files:
        tracker(table, "import", "squad", str(SQUAD / f), "--observed-at", "name")
        for name, board in boards.items():
            want = by_file[f][name]
            if want["leader"] is None:
                continue  # an empty table: no board yet
            leader = rows_json(tracker, table, board)[0]
            assert leader["values"]["f1"] == pytest.approx(want["value"]), (f, name)
            assert leader["model"] in [want["leader"], *want.get("ties", [])], (f, name)
            checked += 1
    assert checked == 12
    events = json.loads(tracker(table, "events", "--type", "leader_changed", "--format", "json").output)
    got = sorted((e["board"], e["previous_model"], e["model"]) for e in events)
    want = sorted((boards[name], c["from"], c["to"]) for name in boards for c in truth["leader_changes"][name]
                  if c["from"] is not None)  # the first leader is the baseline, not a change
    assert got == want and len(got) == 3
    history = tracker(table, "history", boards["SQuAD2.0 [all]"]).output
    assert "Human Performance" in history and "FPNet (ensemble)" in history


def _swe(boards: list[tuple[str, list[tuple[str, float]]]]) -> bytes:
    return json.dumps({"leaderboards": [{"name": n, "results": [{"name": m, "resolved": v} for m, v in rows]}
                                        for n, rows in boards]}).encode()


SWE = dict(id="swe", format="json", boards="leaderboards[*]", name="name", rows="results", metric="resolved",
           fields={"model": "name", "resolved": "resolved"})


def test_json_collection_boards_ids_and_a_board_that_disappears(tracker: Any, server: LocalServer) -> None:
    one = _swe([("Verified", [("a", 50.0), ("b", 60.0)]), ("Lite", [("a", 30.0)]), ("lite", [("c", 9.0)])])
    two = _swe([("Verified", [("a", 70.0), ("b", 60.0)]), ("Lite", [("a", 30.0)])])
    url = server.route("/lb.json", Response(200, one), Response(200, one), Response(200, two), Response(200, two))
    alert = '[[alert]]\nboards = ["swe-v*"]\non = ["leader_changed"]\nnotify = ["console"]\n'
    table = collection_toml(url=url, **SWE) + alert
    first = tracker(table, "run").output
    assert "swe-verified: baseline" in first and "swe-lite: baseline" in first and "swe-lite-2: baseline" in first
    assert "swe: unchanged" in tracker(table, "run").output  # the same bytes: every board skipped at once
    third = tracker(table, "run", code=2).output  # a board failed: exit 2
    assert "swe-verified" in third and "leader_changed" in third and "swe-lite:" not in third
    assert "swe-lite-2: FAILED" in third and "no longer in the collection" in third
    assert "ALERT" in third and "a (70) takes the lead from b (60)" in third  # alert globs match generated ids
    past = tracker(table, "show", "swe-verified", "--as-of", "2000-01-01", code=None)
    assert "no snapshot" in past.output.lower() or past.exit_code != 0
    assert "swe-verified: " in tracker(table, "run", "swe-verified", code=0).output
    tracker(table, "run")
    failed = json.loads(tracker(table, "events", "--type", "source_failed", "--format", "json").output)
    assert [e["board"] for e in failed] == ["swe-lite-2"]  # once, not on every run
    assert rows_json(tracker, table, "swe-lite-2")[0]["model"] == "c"  # its snapshots stay
    assert len(server.hits_for("/lb.json")) == 5  # one request per run, whatever the number of boards


def test_include_exclude_and_alert_globs_over_generated_ids(tracker: Any, server: LocalServer) -> None:
    doc = _swe([("Verified", [("a", 50.0)]), ("Lite", [("a", 30.0)]), ("Multimodal", [("m", 1.0)])])
    url = server.route("/lb.json", Response(200, doc))
    table = collection_toml(url=url, include=["swe-*"], exclude=["*multimodal*"], **SWE) + \
        '[[alert]]\nboards = ["swe-v*"]\non = ["new_sota"]\nnotify = ["console"]\n'
    out = tracker(table, "run").output
    assert "swe-verified" in out and "swe-lite" in out and "multimodal" not in out
    ids = [b["id"] for b in json.loads(tracker(table, "boards", "--format", "json").output)]
    assert ids == ["swe", "swe-lite", "swe-verified"]


def test_zip_of_csv_members_one_board_each(tracker: Any, server: LocalServer) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("benchmarks/gpqa.csv", "model,score\nx,50\ny,60\n")
        zf.writestr("benchmarks/mmlu.csv", "model,score\nx,80\n")
        zf.writestr("README.md", "not a board")
    url = server.route("/epoch.zip", Response(200, buf.getvalue()))
    table = collection_toml(id="epoch", url=url, format="csv", members="benchmarks/*.csv", metric="score",
                            fields={"model": "model", "score": "score"})
    out = tracker(table, "run").output
    assert "epoch-gpqa: baseline" in out and "epoch-mmlu: baseline" in out and "readme" not in out.lower()
    assert rows_json(tracker, table, "epoch-gpqa")[0]["model"] == "y"


def test_yaml_collection_and_keyed_rows(tracker: Any, server: LocalServer) -> None:
    doc = b"suites:\n  - name: Polyglot\n    results:\n      gpt-4o: {pass: 45.3}\n      o1: {pass: 61.7}\n"
    url = server.route("/lb.yml", Response(200, doc))
    table = collection_toml(id="aider", url=url, format="yaml", boards="suites", name="name", rows="results",
                            metric="pass", fields={"model": "$key", "pass": "pass"})
    assert "aider-polyglot: baseline" in tracker(table, "run").output
    assert [r["model"] for r in rows_json(tracker, table, "aider-polyglot")] == ["o1", "gpt-4o"]


def test_collection_max_bytes_overrides_fetch_max_bytes(tracker: Any, server: LocalServer) -> None:
    doc = _swe([("Verified", [(f"model-{i}", float(i)) for i in range(400)])])
    url = server.route("/lb.json", Response(200, doc))
    fetch = "[fetch]\nper_host_delay = 0\nrobots = false\nmax_bytes = 1000\n"
    out = tracker(collection_toml(url=url, **SWE), "run", code=2, extra=fetch).output
    assert "swe: FAILED" in out and "max_bytes" in out
    big = collection_toml(url=url, max_bytes=len(doc), **SWE)
    assert "swe-verified: baseline" in tracker(big, "run", extra=fetch).output


@pytest.mark.parametrize(("table", "words"), [
    ({"id": "p", "url": "https://x.org/a.json", "format": "pwc", "fields": {"model": "m"}}, "generates 'fields'"),
    ({"id": "j", "url": "https://x.org/a.json", "format": "json", "metric": "s", "fields": {"model": "m", "s": "s"}},
     "needs 'boards'"),
    ({"id": "c", "url": "https://x.org/a.zip", "format": "csv", "metric": "s", "fields": {"model": "m", "s": "s"}},
     "needs 'members'"),
    ({"id": "Bad Id", "url": "https://x.org/a.json", "format": "pwc"}, "'id' must be a slug"),
    ({"id": "p", "url": "https://x.org/a.json", "format": "pwc", "duplicates": "most"}, "duplicates"),
])
def test_bad_collections_are_one_clear_config_error(table: Mapping[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        config.parse({"collection": [dict(table)]}, base=Path("/"))


def test_a_board_id_inside_a_collections_namespace_is_refused() -> None:
    board = {"id": "pwc-mine", "url": "https://x.org/a.csv", "format": "csv", "metric": "s",
             "fields": {"model": "m", "s": "s"}}
    with pytest.raises(ConfigError, match="belong to the boards collection 'pwc' generates"):
        config.parse({"board": [board], "collection": [{"id": "pwc", "url": "https://x.org/a.json",
                                                        "format": "pwc"}]}, base=Path("/"))


def _pwc_doc(n: int, rows: int = 3) -> list[dict[str, Any]]:
    return [{"task": "Image Classification", "datasets": [
        {"dataset": f"Set {i}", "sota": {"metrics": ["Top 1 Error", "Params"], "rows": [
            {"model_name": f"m{j}", "paper_date": "2021-02-03", "uses_additional_data": j == 0,
             "code_links": [{"url": f"https://github.com/x/{j}"}],
             "metrics": {"Top 1 Error": f"{10 + j}.5%", "Params": "25M"}} for j in range(rows)]},
         "subdatasets": [{"dataset": f"Set {i} ReaL", "sota": {"metrics": ["Accuracy"], "rows": [
             {"model_name": "r", "metrics": {"Accuracy": 90}}]}}]} for i in range(n)]}]


def test_pwc_gzip_document_is_streamed_and_fields_are_kept(tracker: Any, server: LocalServer) -> None:
    data = gzip.compress(json.dumps(_pwc_doc(3)).encode())
    url = server.route("/et.json.gz", Response(200, data))
    table = collection_toml(id="pwc", url=url, format="pwc", lower_is_better=["*error*"], published="paper_date",
                            exclude=["*-set-2*"])
    out = tracker(table, "run").output
    assert "pwc-image-classification-on-set-0: baseline" in out and "on-set-0-real: baseline" in out
    assert "set-2" not in out
    shown = json.loads(tracker(table, "show", "pwc-image-classification-on-set-1", "--format", "json").output)
    leader = shown["rows"][0]
    assert shown["metric"] == "top_1_error" and shown["higher_is_better"] is False and leader["model"] == "m0"
    assert leader["fields"]["extra_data"] == "yes" and leader["fields"]["code"] == "https://github.com/x/0"
    assert leader["values"]["params"] == 25_000_000  # "25M", a tracked second metric
    assert shown["rows"][1]["fields"]["extra_data"] == "no"


def test_pwc_gzip_bomb_and_broken_stream_fail_the_document_only(tracker: Any, server: LocalServer) -> None:
    bomb = gzip.compress(b"[" + b" " * 120_000_000 + b"]")
    url = server.route("/bomb.json.gz", Response(200, bomb))
    out = tracker(collection_toml(id="pwc", url=url, format="pwc"), "run", code=2).output
    assert "pwc: FAILED" in out and "decompresses to more than" in out
    cut = json.dumps(_pwc_doc(2)).encode()[:-30]
    url = server.route("/cut.json", Response(200, cut))
    out = tracker(collection_toml(id="pwc", url=url, format="pwc"), "run", code=2).output
    assert "pwc: FAILED" in out and "not valid JSON" in out


def test_parquet_board(tracker: Any, server: LocalServer) -> None:
    pa = pytest.importorskip("pyarrow", reason="pyarrow is the optional extra tracker[parquet]")
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table({"Model": ["gpt-4o", "o1"], "Arena Score": [1285.5, 1330.0]}), buf)
    url = server.route("/lb.parquet", Response(200, buf.getvalue()))
    table = ("[[board]]\nid = \"arena\"\nformat = \"parquet\"\nmetric = \"score\"\n"
             f"url = \"{url}\"\n[board.fields]\nmodel = \"model\"\nscore = \"arena score\"\n")
    assert "arena: baseline" in tracker(table, "run").output
    assert rows_json(tracker, table, "arena")[0]["model"] == "o1"
    server.route("/lb.parquet", Response(200, b"PAR1 not really PAR1"))
    assert "not a readable Parquet file" in tracker(table, "run", "--force", "arena", code=2).output


@settings(max_examples=150, deadline=None, derandomize=bool(os.environ.get("CI")),
          suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
                            st.sampled_from(["task", "dataset", "datasets", "subdatasets", "subtasks", "sota",
                                             "metrics", "rows", "model_name", "leaderboards", "name", "results",
                                             "x"]), kids, max_size=5), max_leaves=30),
       gz=st.booleans())
def test_any_document_gives_boards_or_one_parse_error(doc: Any, gz: bool) -> None:
    """Whatever a collection document holds: boards, or a ParseError; never another exception."""
    data = json.dumps(doc).encode()
    data = gzip.compress(data) if gz else data
    page = Page(url="https://x.org/doc", content=data, fetched_at=datetime.now(UTC))
    for table in ({"id": "p", "url": "https://x.org/doc", "format": "pwc"},
                  {"id": "j", "url": "https://x.org/doc", "format": "json", "boards": "leaderboards", "name": "name",
                   "rows": "results", "metric": "s", "fields": {"model": "name", "s": "s"}}):
        coll = config.parse({"collection": [table]}, base=Path("/")).collections[0]
        try:
            parts, _ = expand(page, coll)
        except ParseError:
            continue
        for part in parts:
            assert part.spec.id.startswith(f"{coll.id}-") and len(part.spec.id) <= 100


def test_the_shipped_pwc_collection_tracks_imagenet_only(tracker: Any, server: LocalServer) -> None:
    """config.toml's [[collection]], pointed at our own excerpt in the dump's shape (gzip, as the archive is)."""
    shipped = tomllib.loads((ROOT / "config.toml").read_text())["collection"][0]
    excerpt = (Path(__file__).parent / "fixtures" / "collections" / "pwc-imagenet-excerpt.json").read_bytes()
    url = server.route("/jul-28-evaluation-tables.json.gz", Response(200, gzip.compress(excerpt)))
    table = collection_toml(**{**shipped, "url": url})
    out = tracker(table, "run").output
    assert "pwc-image-classification-on-imagenet: baseline snapshot" in out
    assert "cifar" not in out and "segmentation" not in out  # `include` keeps the one board
    shown = json.loads(tracker(table, "show", "pwc-image-classification-on-imagenet", "--format", "json").output)
    top = [(r["model"], r["values"]["top_1_accuracy"]) for r in shown["rows"][:5]]
    assert top == [("CoCa (finetuned)", 91.0), ("Model soups (BASIC-L)", 90.98), ("Model soups (ViT-G/14)", 90.94),
                   ("DaViT-G", 90.4), ("ConvNeXt V2-Huge", 88.9)]
    assert shown["title"] == "Image Classification on ImageNet"
    text = tracker(table, "show", "pwc-image-classification-on-imagenet").output
    assert "leader CoCa (finetuned) (91)" in text.splitlines()[0]


@pytest.mark.parametrize("section", ["### Formats, one example board each",
                                     "### Collections: one document, many boards"])
def test_readme_examples_load(section: str) -> None:
    """The README's example boards and collections are valid configuration."""
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index(section):]
    toml_text = block[block.index("```toml\n") + 8:block.index("```\n", block.index("```toml\n") + 8)]
    loaded = config.parse(tomllib.loads(toml_text), base=ROOT)
    assert len(loaded.boards) + len(loaded.collections) >= 3


def test_a_generated_large_document_ids_are_stable_when_the_document_is_reordered(
        tracker: Any, server: LocalServer) -> None:
    doc = _pwc_doc(150, rows=5)
    first = json.dumps(doc).encode()
    doc[0]["datasets"].reverse()
    doc[0]["datasets"][0]["sota"]["rows"][0]["metrics"]["Top 1 Error"] = "1.0%"  # a new record on Set 149
    second = json.dumps(doc).encode()
    url = server.route("/et.json", Response(200, first), Response(200, second))
    table = collection_toml(id="pwc", url=url, format="pwc", lower_is_better=["*error*"])
    out = tracker(table, "run").output
    assert out.count(": baseline snapshot") == 300  # 150 datasets and their 150 subdatasets
    out = tracker(table, "run").output
    assert "pwc: 300 board(s): 1 changed, 299 unchanged" in out
    assert "pwc-image-classification-on-set-149: snapshot" in out and "new_sota" in out
    ids = [b["id"] for b in json.loads(tracker(table, "boards", "--format", "json").output)]
    assert len(ids) == len(set(ids)) == 301
