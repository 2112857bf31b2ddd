"""The yaml format, objects keyed by name ("$key"), gzip and zip documents, and `tracker add` on YAML/keyed JSON."""

from __future__ import annotations

import gzip
import io
import re
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tracker import config
from tracker.config import BoardSpec
from tracker.errors import ConfigError, ParseError
from tracker.models import Page
from tracker.pipeline import parse_rows
from tracker.sources import containers

from .conftest import LocalServer, Response
from .test_add import PREVIOUS, assert_tracked, board, invoke

FORMATS = Path(__file__).resolve().parent / "fixtures" / "formats"
CSV_A = b"model,top1\nresnet50,80.4\nvit_base,84.5\n"
CSV_B = b"model,top1\nconvnext_tiny,82.1\n"


def spec(fmt: str = "csv", **board_keys: Any) -> BoardSpec:
    raw = {"id": "fmt", "url": "https://example.org/board", "format": fmt, "metric": "top1",
           "fields": {"model": "model", "top1": "top1"}, **board_keys}
    return config.parse({"board": [raw]}, base=Path("/")).boards[0]


def page(data: bytes) -> Page:
    return Page(url="https://example.org/board", content=data, fetched_at=datetime.now(UTC))


def models(data: bytes, s: BoardSpec) -> list[tuple[str, float | None]]:
    rows, _ = parse_rows(page(data), s)
    return [(r.model, r.value(s.metric)) for r in rows]


def fails(data: bytes, s: BoardSpec, *words: str) -> str:
    start = time.monotonic()
    with pytest.raises(ParseError) as err:
        parse_rows(page(data), s)
    assert time.monotonic() - start < 2.0
    msg = str(err.value)
    assert msg.startswith("fmt: ") and "\n" not in msg and "https://example.org/board" in msg, msg
    for w in words:
        assert w in msg, msg
    return msg


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# --- yaml -----------------------------------------------------------------------------------------------------

AIDER = spec("yaml", metric="pass_rate_2", fields={"model": "model", "pass_rate_2": "pass_rate_2",
                                                   "cost": {"from": "total_cost", "type": "number"}})


def test_yaml_list_of_objects_like_aider() -> None:
    data = (FORMATS / "polyglot_leaderboard.yml").read_bytes()
    rows, warnings = parse_rows(page(data), AIDER)
    assert [(r.model, r.value("pass_rate_2"), r.value("cost")) for r in rows] == [
        ("alpha-coder-large", 61.3, 12.4021), ("beta-chat-2025-01", 38.7, 0), ("gamma: reasoning (high)", 72.0, 43.9)]
    assert warnings == []


def test_yaml_uses_the_json_rules_rows_and_fields() -> None:
    doc = b"updated: 2025-01-10\nresults:\n  - {name: a, scores: {top1: 1.5}}\n  - {name: b, scores: {top1: 2}}\n"
    s = spec("yaml", rows="results", fields={"model": "name", "top1": "scores.top1"})
    assert models(doc, s) == [("a", 1.5), ("b", 2.0)]


def test_yaml_bomb_ends_in_a_parse_error_quickly() -> None:
    laughs = [b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    laughs += [b"%c: &%c [%s]" % (98 + i, 98 + i, b",".join([b"*%c" % (97 + i)] * 9)) for i in range(8)]
    fails(b"\n".join(laughs) + b"\n", spec("yaml"), "aliases expand to more than 50,000 extra nodes")


@pytest.mark.parametrize(("doc", "words"), [
    (b"&a [*a]\n", ("alias inside its own anchor",)),
    (b"[" * 5000, ("nested too deeply",)),
    (b"- model: a\n  top1: [1, 2\n- model: b\n", ("not valid YAML (line ", "fix the document")),
    (b"- 1\n---\n- 2\n", ("not valid YAML (line 2", "single document")),
])
def test_hostile_or_broken_yaml(doc: bytes, words: tuple[str, ...]) -> None:
    fails(doc, spec("yaml"), *words)


def test_yaml_python_tag_is_refused_by_safe_loading(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    doc = f'- model: !!python/object/apply:os.system ["touch {marker}"]\n  top1: 1\n'.encode()
    fails(doc, spec("yaml"), "line 1", "python/object/apply:os.system", "plain data only")
    assert not marker.exists()


def test_yaml_keys_and_dates_become_text() -> None:
    doc = b"2024-05-01: {top1: 1}\n7: {top1: 2}\ntrue: {top1: 3}\n"
    assert models(doc, spec("yaml", fields={"model": "$key", "top1": "top1"})) == [
        ("2024-05-01", 1.0), ("7", 2.0), ("true", 3.0)]


# --- objects keyed by name --------------------------------------------------------------------------------------

KEYED = spec("json", metric="pass_1", fields={"model": "$key", "pass_1": '"pass@1"'})


def test_keyed_json_object_members_are_rows() -> None:
    doc = b'{"gpt-4o": {"pass@1": 0.87}, "claude": {"pass@1": 0.91}, "broken": "failed"}'
    rows, _ = parse_rows(page(doc), KEYED)
    assert [(r.model, r.value("pass_1")) for r in rows] == [("gpt-4o", 0.87), ("claude", 0.91), ("broken", None)]


def test_keyed_yaml_under_rows_with_key_as_a_fallback_candidate() -> None:
    doc = b"results:\n  gpt-4o: {pass@1: 0.87}\n  claude: {name: Claude 3.5, pass@1: 0.91}\n"
    s = spec("yaml", rows="results", metric="pass_1", fields={"model": ["name", "$key"], "pass_1": '"pass@1"'})
    assert models(doc, s) == [("gpt-4o", 0.87), ("Claude 3.5", 0.91)]


def test_keyed_object_without_key_field_says_how_to_name_entries() -> None:
    doc = (FORMATS / "keyed_models.json").read_bytes()
    s = spec("json", metric="pass_1", fields={"model": "model", "pass_1": '"pass@1"'})
    fails(doc, s, "selected an object, not a list of rows", 'model = "$key"')


@pytest.mark.parametrize(("board_keys", "message"), [
    ({"format": "csv", "fields": {"model": "$key", "top1": "top1"}}, "applies to formats 'json' and 'yaml' only"),
    ({"format": "html", "rows": "x"}, "'rows' (a JMESPath) applies to formats 'json' and 'yaml' only"),
    ({"format": "yaml", "rows": "a["}, "bad JMESPath"),
    ({"member": 3}, "'member' must be the name"),
    ({"member": ""}, "'member' must be the name"),
])
def test_config_checks_the_new_keys(board_keys: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        spec(**board_keys)


# --- gzip and zip -------------------------------------------------------------------------------------------------

def test_gzip_by_content_any_format() -> None:
    assert models((FORMATS / "results.csv.gz").read_bytes(), spec())[0] == ("resnet50", 80.4)
    yml = gzip.compress((FORMATS / "polyglot_leaderboard.yml").read_bytes())
    assert len(parse_rows(page(yml), AIDER)[0]) == 3


def test_zip_member_chosen_by_name_or_glob() -> None:
    data = zipped({"README.txt": b"see the csv files", "v1/a.csv": CSV_A, "v1/b.csv": CSV_B})
    assert models(data, spec(member="v1/b.csv")) == [("convnext_tiny", 82.1)]
    assert models(data, spec(member="*a.csv")) == [("resnet50", 80.4), ("vit_base", 84.5)]
    assert models(zipped({"only.csv": CSV_B}), spec()) == [("convnext_tiny", 82.1)]


def test_member_on_a_plain_document_is_a_warning() -> None:
    _, warnings = parse_rows(page(CSV_A), spec(member="*.csv"))
    assert warnings == ["'member' (*.csv) is set but https://example.org/board is not a zip archive; read it as it is"]


@pytest.mark.parametrize(("member", "words"), [
    ("*.tsv", ("'member' (*.tsv) matches no member", "members: README.txt, a.csv, b.csv")),
    ("*.csv", ("matches 2 members (a.csv, b.csv)", "exactly one must match")),
    (None, ("zip archive of 3 members (README.txt, a.csv, b.csv)", "set 'member'")),
])
def test_zip_member_must_match_exactly_one(member: str | None, words: tuple[str, ...]) -> None:
    data = zipped({"README.txt": b"x", "a.csv": CSV_A, "b.csv": CSV_B})
    fails(data, spec(**({"member": member} if member else {})), *words)


def mangled(data: bytes, at: int) -> bytes:
    return data[:at] + b"\xff" * 8 + data[at + 8:]


@pytest.mark.parametrize("data", [b"PK\x03\x04" + b"\x00" * 40, zipped({"a.csv": CSV_A})[:60],
                                  mangled(zipped({"a.csv": CSV_A * 50}), 40)])
def test_corrupt_zip(data: bytes) -> None:
    fails(data, spec(), "corrupt or unsupported zip archive")


def test_corrupt_zip_crc() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.csv", CSV_A)
    fails(buf.getvalue().replace(b"resnet50", b"resnet51"), spec(), "corrupt or unsupported zip archive", "CRC")


def test_encrypted_zip_member_is_refused() -> None:
    data = bytearray(zipped({"a.csv": CSV_A}))
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # the general purpose flag: bit 0 = encrypted
        at = data.index(sig) + (6 if sig == b"PK\x03\x04" else 8)
        data[at] |= 1
    fails(bytes(data), spec(), "zip member 'a.csv' is encrypted")


def test_bombs_are_refused_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(containers, "MAX_UNPACKED", 1000)
    big = b"model,top1\n" + b"x,1\n" * 1000
    fails(gzip.compress(big), spec(), "decompresses to more than 1,000 bytes")
    fails(zipped({"a.csv": big}), spec(), "declares 4,011 bytes, more than the 1,000 read")
    data = bytearray(zipped({"a.csv": big}))  # a member that lies about its size: the bytes read are counted
    at = data.index(b"PK\x01\x02") + 24
    data[at:at + 4] = (10).to_bytes(4, "little")
    fails(bytes(data), spec(), "corrupt or unsupported zip archive", "Bad CRC-32")


@pytest.mark.parametrize("data", [b"\x1f\x8b" + b"\x00" * 30, gzip.compress(CSV_A)[:-12]])
def test_corrupt_gzip(data: bytes) -> None:
    fails(data, spec(), "corrupt or truncated gzip file")


# --- tracker add --------------------------------------------------------------------------------------------------

@pytest.fixture
def cfg(write_config: Any) -> Path:
    path: Path = write_config(extra=PREVIOUS)
    return path


def test_add_yaml_like_aider(runner: CliRunner, server: LocalServer, cfg: Path) -> None:
    url = server.route("/polyglot_leaderboard.yml",
                       Response(body=(FORMATS / "polyglot_leaderboard.yml").read_bytes()))
    before = cfg.read_bytes()
    code, out, err = invoke(runner, cfg, "add", url, "--yes")
    assert code == 0, out + err
    assert "YAML list of 3 objects" in out
    b = board(cfg, "polyglot_leaderboard")
    assert (b["format"], b["metric"], b["fields"]) == ("yaml", "pass_rate_1",
                                                       {"model": "model", "pass_rate_1": "pass_rate_1"})
    assert "# pass_rate_2 = { from = \"pass_rate_2\", type = \"number\" }" in cfg.read_text()
    assert "polyglot_leaderboard: baseline snapshot #1 (3 rows)" in out
    assert_tracked(runner, cfg, "polyglot_leaderboard", before)


def test_add_json_keyed_by_model_name(runner: CliRunner, server: LocalServer, cfg: Path) -> None:
    url = server.route("/keyed_models.json", Response(body=(FORMATS / "keyed_models.json").read_bytes(),
                                                      headers={"Content-Type": "application/json"}))
    before = cfg.read_bytes()
    code, out, err = invoke(runner, cfg, "add", url, "--yes")
    assert code == 0, out + err
    assert "JSON object of 3 objects keyed by name" in out
    b = board(cfg, "keyed_models")
    assert "rows" not in b
    assert (b["format"], b["metric"], b["fields"]) == ("json", "pass_1", {"model": "$key", "pass_1": '"pass@1"'})
    assert_tracked(runner, cfg, "keyed_models", before)
    code, out, _ = invoke(runner, cfg, "show", "keyed_models")
    assert "leader claude-3.5-sonnet (0.91)" in out
