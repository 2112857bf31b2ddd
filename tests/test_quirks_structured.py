"""Structured-format quirks that used to store wrong data silently: JSON/YAML objects in number and key fields,
YAML 1.1 implicit typing (3.10 -> 3.1, no -> false, 0755 -> 493, 1:20 -> 80), and CSV `sep=` / title lines."""

from __future__ import annotations

import csv
import json
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from tracker import config
from tracker.config import BoardSpec
from tracker.errors import ParseError
from tracker.models import Page
from tracker.normalize import Normalized, normalize
from tracker.sources import Parsed, parse_document

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "tracker-hypothesis")
PROPERTY = settings(max_examples=50, deadline=None, database=None, suppress_health_check=[HealthCheck.filter_too_much])
URL = "https://example.org/board"
FIELDS = {"model": "model", "score": "score"}


def spec(fmt: str, fields: dict[str, Any] | None = None, **board: Any) -> BoardSpec:
    raw = {"id": "quirk", "url": URL, "format": fmt, "metric": "score", "fields": fields or FIELDS, **board}
    return config.parse({"board": [raw]}, base=Path("/")).boards[0]


def run(data: bytes | str, fmt: str, fields: dict[str, Any] | None = None, **board: Any) -> tuple[Parsed, Normalized]:
    s = spec(fmt, fields, **board)
    body = data.encode() if isinstance(data, str) else data
    parsed = parse_document(Page(url=URL, content=body, fetched_at=datetime.now(UTC)), s)
    return parsed, normalize(parsed.rows, s)


def stored(data: bytes | str, fmt: str, fields: dict[str, Any] | None = None, **board: Any) \
        -> tuple[list[tuple[str, dict[str, float | None]]], list[str]]:
    """(model, values) per stored row, and every warning of the fetch."""
    parsed, norm = run(data, fmt, fields, **board)
    return [(r.model, dict(r.values)) for r in norm.rows], [*parsed.warnings, *norm.warnings]


def fails(data: bytes | str, fmt: str, *words: str, fields: dict[str, Any] | None = None, **board: Any) -> str:
    with pytest.raises(ParseError) as err:
        run(data, fmt, fields, **board)
    msg = str(err.value)
    assert msg.startswith("quirk: ") and "\n" not in msg, msg
    for w in words:
        assert w in msg, msg
    return msg


# 1. JSON/YAML: an object or list where a number (or the key) belongs

SCORE_OBJECTS = ('[{"model":"A","score":{"mean":85.2,"ci":[84.0,86.1]}},'
                 '{"model":"B","score":{"mean":80.0,"ci":[79,81]}}]')


def test_score_object_is_no_value_with_one_warning() -> None:
    rows, warnings = stored(SCORE_OBJECTS, "json")
    assert rows == [("A", {"score": None}), ("B", {"score": None})]
    found = [w for w in warnings if "'score'" in w]
    assert len(found) == 1, warnings
    assert "2 row(s)" in found[0] and "object" in found[0] and "score.mean" in found[0], found[0]


def test_score_list_and_other_number_fields() -> None:
    doc = [{"model": "A", "score": [85.2, 1.1], "top5": {"v": 1}, "params": [7], "tags": ["a", "b"]},
           {"model": "B", "score": 80, "top5": 90, "params": 3, "tags": "c"}]
    fields = {**FIELDS, "top5": "top5", "params": {"from": "params", "type": "number"}, "tags": "tags"}
    parsed, norm = run(json.dumps(doc), "json", fields, metrics=["top5"])
    assert [dict(r.values) for r in norm.rows] == [{"score": None, "top5": None, "params": 7.0},  # [7] is 7
                                                   {"score": 80.0, "top5": 90.0, "params": 3.0}]
    assert norm.rows[0].fields["tags"] == '["a", "b"]'  # a text field keeps a list as JSON text
    for name in ("score", "top5"):
        assert sum(f"'{name}'" in w for w in parsed.warnings) == 1, parsed.warnings
    assert not any("'params'" in w for w in parsed.warnings)
    assert not any("'tags'" in w for w in parsed.warnings)
    assert any("score[0]" in w for w in parsed.warnings), parsed.warnings  # the fix fits a list


@pytest.mark.parametrize("model", ['{"name":"A","org":"X"}', '["A","B"]'])
def test_key_object_is_a_parse_error(model: str) -> None:
    fails(f'[{{"model":{model},"score":1}}]', "json", "'model'", "JMESPath", "row 1")


def test_key_object_in_a_second_key_field() -> None:
    doc = '[{"model":"A","size":224,"score":1},{"model":"A","size":{"w":384},"score":2}]'
    fails(doc, "json", "'size'", "row 2", fields={**FIELDS, "size": "size"}, key=["model", "size"])


def test_yaml_object_in_number_field() -> None:
    rows, warnings = stored("- model: A\n  score: {mean: 85.2, ci: [84.0, 86.1]}\n- model: B\n  score: 3\n", "yaml")
    assert rows == [("A", {"score": None}), ("B", {"score": 3.0})]
    assert sum("'score'" in w for w in warnings) == 1, warnings


def test_objects_in_number_field_of_a_keyed_document() -> None:
    rows, warnings = stored('{"A": {"score": {"mean": 1}}, "B": {"score": 2}}', "json",
                            {"model": "$key", "score": "score"})
    assert rows == [("A", {"score": None}), ("B", {"score": 2.0})]
    assert sum("'score'" in w and "1 row(s)" in w for w in warnings) == 1, warnings


json_scalars = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                         st.none(), st.text(max_size=5))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)), max_leaves=8)


@PROPERTY
@given(st.lists(st.one_of(st.lists(json_values, min_size=0, max_size=3).filter(  # one scalar in a list is that
                          lambda v: not (len(v) == 1 and not isinstance(v[0], dict | list))),  # scalar: see above
                          st.dictionaries(st.text(max_size=4), json_values, max_size=3)), min_size=1, max_size=5))
def test_containers_in_number_fields_never_give_a_number(scores: list[Any]) -> None:
    doc = [{"model": f"m{i}", "score": s} for i, s in enumerate(scores)] + [{"model": "ok", "score": 1.5}]
    rows, warnings = stored(json.dumps(doc), "json")
    assert rows[:-1] == [(f"m{i}", {"score": None}) for i in range(len(scores))]
    assert rows[-1] == ("ok", {"score": 1.5})
    assert sum(f"{len(scores)} row(s)" in w and "'score'" in w for w in warnings) == 1, warnings


# 2. YAML: plain scalars are text as written (no YAML 1.1 implicit bool/int/float)

@pytest.mark.parametrize("written", ["3.10", "1.0", "Y", "0755", "0x1F", "0b101", "1_000", "1:20", "190:20:30.15",
                                     "+1", "-0", "2024-05-01", "=", "1e3", "12345678901234567890", "0o17",
                                     "Null-model"])
def test_yaml_plain_scalar_is_text_as_written(written: str) -> None:
    parsed, _ = run(f"- model: {written}\n  score: 1\n  note: {written}\n", "yaml", {**FIELDS, "note": "note"})
    assert parsed.rows == [{"model": written, "score": "1", "note": written}]


@pytest.mark.parametrize("written", ["~", "null", "Null", "NULL", ""])
def test_yaml_null_stays_none(written: str) -> None:
    parsed, _ = run(f"- model: A\n  score: 1\n  note: {written}\n", "yaml", {**FIELDS, "note": "note"})
    assert parsed.rows == [{"model": "A", "score": "1", "note": None}]


def test_yaml_sexagesimal_score_is_not_eighty() -> None:
    parsed, norm = run("- model: A\n  score: 1:20\n", "yaml")
    assert parsed.rows == [{"model": "A", "score": "1:20"}]
    assert norm.rows[0].value("score") != 80.0


@pytest.mark.parametrize(("written", "text"), [("no", "false"), ("yes", "true"), ("on", "true"), ("off", "false"),
                                               ("NO", "false"), ("true", "true"), ("False", "false")])
def test_yaml_booleans_stay_booleans_for_filters(written: str, text: str) -> None:
    """YAML 1.1's yes/no/on/off are booleans, as before: `rows` filters such as [?open] rely on them."""
    parsed, _ = run(f"- model: A\n  score: 1\n  note: {written}\n", "yaml", {**FIELDS, "note": "note"})
    assert parsed.rows == [{"model": "A", "score": "1", "note": text}]


def test_yaml_keys_are_text_as_written() -> None:
    doc = "3.10: {score: 1}\nv2: {score: 2}\n0755: {score: 3}\n"
    rows, _ = stored(doc, "yaml", {"model": "$key", "score": "score"})
    assert [m for m, _ in rows] == ["3.10", "v2", "0755"]


def test_yaml_explicit_tags_stay_typed() -> None:
    parsed, _ = run("- model: !!str 3.10\n  score: !!int 0x10\n- model: B\n  score: !!float 1.5\n", "yaml")
    assert parsed.rows == [{"model": "3.10", "score": "16"}, {"model": "B", "score": "1.5"}]


def test_yaml_rows_filters_see_numbers_and_booleans() -> None:
    doc = ("- model: A\n  score: 85\n  open: true\n  runs: 10.2\n- model: B\n  score: 40\n  open: no\n  runs: 9.5\n"
           "- model: '3.10'\n  score: 60.50\n  open: off\n  runs: 1\n")
    assert stored(doc, "yaml", rows="[?score > `50`]")[0] == [("A", {"score": 85.0}), ("3.10", {"score": 60.5})]
    assert stored(doc, "yaml", rows="[?open]")[0] == [("A", {"score": 85.0})]
    assert stored(doc, "yaml", rows="[?!open]")[0] == [("B", {"score": 40.0}), ("3.10", {"score": 60.5})]
    assert stored(doc, "yaml", rows="reverse(sort_by(@, &score))[:1]")[0] == [("A", {"score": 85.0})]
    assert stored(doc, "yaml", rows="[max_by(@, &runs)]")[0] == [("A", {"score": 85.0})]  # 10.2 > 9.5, not as text


NUMBERS = ["85", "85.20", "-1.5e-3", ".inf", "-.inf", ".Inf", ".nan", ".NaN", "1_000", "+3.5", "0", "0.0", "1e3",
           "1.0e+400", "123456789012345678901234567890", "-7", "99.999"]


def _typed_oracle(doc: str) -> tuple[list[tuple[str, dict[str, float | None]]], list[str]]:
    """What tracker stored before: PyYAML's typed values, read by the json rules (json.dumps keeps inf/nan)."""
    return stored(json.dumps(yaml.safe_load(doc)), "json")


@pytest.mark.parametrize("written", NUMBERS)
def test_yaml_numbers_store_what_they_stored_before(written: str) -> None:
    doc = f"- model: A\n  score: {written}\n- model: B\n  score: 2\n"
    assert stored(doc, "yaml") == _typed_oracle(doc)


@PROPERTY
@given(st.lists(st.one_of(st.integers(-10**12, 10**12).map(str),
                          st.floats(allow_nan=False, allow_infinity=False).map(repr),
                          st.sampled_from(NUMBERS)), min_size=1, max_size=6))
def test_yaml_number_columns_store_what_they_stored_before(scores: list[str]) -> None:
    doc = "".join(f"- model: m{i}\n  score: {s}\n" for i, s in enumerate(scores))
    assert stored(doc, "yaml") == _typed_oracle(doc)


SPECIAL_FLOAT = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
BOOL_WORDS = ["yes", "no", "true", "false", "on", "off", "y", "n"]
plain_scalars = st.one_of(  # what YAML 1.1 would type: numbers in every base, sexagesimal, bools; and look-alikes
    st.from_regex(r"\A[-+]?[0-9][0-9_]{0,6}(\.[0-9_]{0,4})?([eE][-+][0-9]{1,3})?\Z"),
    st.from_regex(r"\A[-+]?(0x[0-9a-fA-F_]{1,5}|0b[01_]{1,6}|0[0-7_]{1,5}|[0-9]{1,3}(:[0-5]?[0-9]){1,3}(\.[0-9]*)?)\Z"),
    st.from_regex(r"\A[0-9]{1,2}(\.[0-9]{1,2}){1,3}\Z"),
    st.sampled_from(BOOL_WORDS + [w.upper() for w in BOOL_WORDS] + [w.title() for w in BOOL_WORDS]),
    st.text(st.sampled_from("0123456789.:+-_eExXoObBnNyYtTfFaslu ~"), min_size=1, max_size=10))


@PROPERTY
@given(plain_scalars)
def test_yaml_plain_scalars_round_trip_as_text(written: str) -> None:
    doc = f"- model: {written}\n  score: 1\n"
    try:
        as_read = yaml.load(doc, Loader=yaml.BaseLoader)  # the scanner's text, no typing at all
    except yaml.YAMLError:
        assume(False)
    assume(as_read == [{"model": written, "score": "1"}])
    assume(written not in ("~", "null", "Null", "NULL"))
    assume(written.lower() not in ("yes", "no", "true", "false", "on", "off"))  # YAML 1.1 booleans stay booleans
    assume(SPECIAL_FLOAT.fullmatch(written) is None)  # infinity and not-a-number stay floats (see yaml_doc)
    parsed, _ = run(doc, "yaml")
    assert parsed.rows == [{"model": written, "score": "1"}]


# 3. CSV: Excel's `sep=` line, and title/comment lines before the header

@pytest.mark.parametrize("sep", [";", ",", "\t", "|"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_csv_sep_line_sets_the_delimiter(sep: str, newline: str) -> None:
    notes = "x" + " y".join(d for d in ",;|" if d != sep)  # the other delimiters are text
    doc = newline.join([f"sep={sep}", f"model{sep}score{sep}notes", f"A{sep}1{sep}{notes}", f"B{sep}2{sep}"]) + newline
    _, norm = run(doc, "csv", {**FIELDS, "notes": "notes"})
    assert [(r.model, r.value("score"), r.fields["notes"]) for r in norm.rows] == [("A", 1.0, notes), ("B", 2.0, "")]


def test_csv_sep_line_after_bom() -> None:
    rows, warnings = stored(b"\xef\xbb\xbfSEP=;\r\nmodel;score\r\nA;91,5\r\n", "csv")
    assert rows == [("A", {"score": 91.5})] and warnings == []


def test_csv_sep_line_wins_over_the_sniffer() -> None:
    # the data alone sniffs as ','-separated; the sep line says ';'
    doc = "model, name;score\nA, x;1\nB, y;2\nC, z;3\n"
    fails(doc, "csv", "columns: 'model', 'name;score'", fields={"model": "model, name", "score": "score"})
    rows, _ = stored("sep=;\n" + doc, "csv", {"model": "model, name", "score": "score"})
    assert rows == [("A, x", {"score": 1.0}), ("B, y", {"score": 2.0}), ("C, z", {"score": 3.0})]


@pytest.mark.parametrize("titles", [["Leaderboard (updated 2024-05-01)"],
                                    ["# generated by eval.py", "# 2024-05-01", ""],
                                    ["Results, updated daily", "Note: higher is better"]])
def test_csv_title_lines_before_the_header(titles: list[str]) -> None:
    rows, _ = stored("\n".join([*titles, "model,score", "A,1", "B,2"]) + "\n", "csv")
    assert rows == [("A", {"score": 1.0}), ("B", {"score": 2.0})]


def test_csv_sep_line_and_title_line() -> None:
    rows, _ = stored("sep=;\nMy board\nModel ;  Score\nA;1\n", "csv")
    assert rows == [("A", {"score": 1.0})]


def test_csv_header_too_far_down_is_todays_error() -> None:
    doc = "".join(f"comment {i}\n" for i in range(21)) + "model,score\nA,1\n"
    fails(doc, "csv", "no column for field 'model'", "columns: 'comment 0'", "fix [board.fields]")
    rows, _ = stored("".join(f"comment {i}\n" for i in range(20)) + "model,score\nA,1\n", "csv")
    assert rows == [("A", {"score": 1.0})]


def test_csv_no_header_anywhere_names_the_first_line() -> None:
    fails("Leaderboard\nname,acc\nA,1\n", "csv", "columns: 'Leaderboard'", "fix [board.fields]")


def test_csv_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = csv.reader

    def counting(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(csv, "reader", counting)
    body = "sep=,\nTitle\n# note\nmodel,score\n" + "".join(f"m{i},{i}\n" for i in range(5000))
    parsed, _ = run(body, "csv")
    assert len(parsed.rows) == 5000 and len(calls) == 1


title_lines = st.lists(st.text(st.sampled_from('abcdefghij XYZ0123456789()-.:,;|\t#"'), max_size=40), max_size=5)


@PROPERTY
@given(title_lines, st.sampled_from([",", ";", "\t", "|"]), st.booleans())
def test_csv_header_found_after_any_title_lines(titles: list[str], sep: str, sep_line: bool) -> None:
    # no title can name the columns: its letters cannot spell "model" or "score"
    lines = ([f"sep={sep}"] if sep_line else []) + titles + [f"model{sep}score", f"A{sep}1", f"B{sep}2"]
    rows, _ = stored("\n".join(lines) + "\n", "csv")
    assert rows == [("A", {"score": 1.0}), ("B", {"score": 2.0})]
