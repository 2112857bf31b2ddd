"""Hostile documents: whatever a document holds, parse + normalize end in rows or a ParseError, in linear time."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tracker import config
from tracker.config import BoardSpec
from tracker.errors import ParseError
from tracker.models import Page
from tracker.normalize import MAX_CELL, Normalized, clean_name, normalize, parse_number
from tracker.sources import FORMATS, Parsed, Source, parse_document
from tracker.sources.html_table import table_grid

MB = 1_000_000
HANG_GUARD = 5.0  # seconds; the real figures are well under one second


def spec(fmt: str, **board: Any) -> BoardSpec:
    raw = {"id": "hostile", "title": "Hostile", "url": "https://example.org/board", "format": fmt, "metric": "score",
           "fields": {"model": "model", "score": "score"}, **board}
    if fmt == "json":
        raw.setdefault("rows", "rows")
    if fmt == "pwc":
        raw.setdefault("dataset", "d")
    return config.parse({"board": [raw]}, base=Path("/")).boards[0]


def page(data: bytes, **kw: Any) -> Page:
    return Page(url="https://example.org/board", content=data, fetched_at=datetime.now(UTC), **kw)


def run(data: bytes, fmt: str, page_kw: dict[str, Any] | None = None, **board: Any) -> tuple[Parsed, Normalized]:
    s = spec(fmt, **board)
    parsed = parse_document(page(data, **(page_kw or {})), s)
    return parsed, normalize(parsed.rows, s)


def fails(data: bytes, fmt: str, *words: str, **board: Any) -> str:
    with pytest.raises(ParseError) as err:
        run(data, fmt, **board)
    msg = str(err.value)
    assert msg.startswith("hostile: ") and "\n" not in msg, msg
    for w in words:
        assert w in msg, msg
    return msg


def pwc_doc(dataset: Any = "d", sota: Any = None, rows: Any = None) -> bytes:
    if sota is None:
        sota = {"rows": rows if rows is not None else [{"model": "a", "metrics": {"score": "1"}}]}
    return json.dumps([{"task": "t", "datasets": [{"dataset": dataset, "sota": sota}]}]).encode()


# 1. crashes become ParseErrors naming the board, the URL and what failed


@pytest.mark.parametrize("fmt", ["csv", "html", "json", "pwc"])
@pytest.mark.parametrize("body", [b"", b"  \n\t \r\n", b"\xef\xbb\xbf  "])
def test_empty_body(fmt: str, body: bytes) -> None:
    fails(body, fmt, "https://example.org/board is empty", "will try again on the next run")


def test_html_without_elements() -> None:
    fails(b"<!-- only a comment -->", "html", "no HTML elements")


@pytest.mark.parametrize("fmt", ["json", "pwc"])
def test_deep_nesting(fmt: str) -> None:
    fails(b"[" * 1000 + b"]" * 1000, fmt, "nested too deeply")
    fails(b'{"a":' * 5000 + b"1" + b"}" * 5000, fmt, "nested too deeply")


@pytest.mark.parametrize("bom", [b"\xff\xfe", b"\xfe\xff"])
def test_utf16_bom_with_odd_length(bom: bytes) -> None:
    body = bom + "model,score\na,1\n".encode("utf-16-le" if bom == b"\xff\xfe" else "utf-16-be") + b"x"
    fails(body, "csv", "UTF-16 byte-order mark", "odd number of bytes")


def test_utf16_bom_with_lone_surrogate() -> None:
    fails(b"\xff\xfe" + "model,score\n".encode("utf-16-le") + b"\x00\xd8a\x00", "csv", "not valid UTF-16")


def test_pwc_metrics_list_is_ignored_with_a_warning() -> None:
    parsed, norm = run(pwc_doc(rows=[{"model": "a", "metrics": [{"score": 1}]},
                                     {"model": "b", "metrics": {"score": "2"}}]), "pwc")
    assert [r.value("score") for r in norm.rows] == [None, 2.0]
    assert parsed.warnings == ["1 row(s) have 'metrics' that is not an object; their metrics were ignored"]


def test_pwc_metrics_that_are_never_an_object_fail() -> None:
    fails(pwc_doc(rows=[{"model": "a", "metrics": [1, 2]}]), "pwc", "no row of dataset 'd'", "value for score",
          "1 row(s) have 'metrics' that is not an object")


@pytest.mark.parametrize(("sota", "got"), [([1], "a list"), ("x", "a str"), (3, "a int")])
def test_pwc_sota_of_the_wrong_type(sota: Any, got: str) -> None:
    fails(pwc_doc(sota=sota), "pwc", "'sota' that is " + got, "format changed")


@pytest.mark.parametrize(("rows", "got"), [({"a": 1}, "a dict"), (7, "a int"), ("abc", "a str")])
def test_pwc_rows_of_the_wrong_type(rows: Any, got: str) -> None:
    fails(pwc_doc(rows=rows), "pwc", "'sota.rows'", f"is {got}, not a list")


def test_pwc_rows_that_are_not_objects_are_skipped_with_a_warning() -> None:
    parsed, norm = run(pwc_doc(rows=[1, "x", None, {"model": "a", "metrics": {"score": 3}}]), "pwc")
    assert [r.model for r in norm.rows] == ["a"]
    assert parsed.warnings == ["3 item(s) of 'sota.rows' are not objects and were skipped"]


@pytest.mark.parametrize("name", [{"x": 1}, ["d"], None, True])
def test_pwc_dataset_that_is_not_a_string(name: Any) -> None:
    fails(pwc_doc(dataset=name), "pwc", "dataset 'd' not found", "datasets: none")


def test_pwc_numeric_dataset_name_still_matches() -> None:
    _, norm = run(pwc_doc(dataset=2012), "pwc", dataset="2012")
    assert [r.model for r in norm.rows] == ["a"]


def test_json_rows_selecting_non_objects() -> None:
    fails(b'{"rows": [1, "two", null, [3]]}', "json", "no row of", "has a value for model, score")


def test_json_field_expression_failing_on_the_data() -> None:
    body = b'{"rows": [{"model": "a", "score": 1}, {"model": 5, "score": 2}]}'
    fails(body, "json", "JMESPath [board.fields] model", "length(model)", "invalid type",
          fields={"model": "length(model)", "score": "score"})


def test_json_huge_integer() -> None:
    fails(b'{"rows": [{"model": "a", "score": ' + b"9" * 5000 + b"}]}", "json", "not usable JSON")


def test_nul_bytes_and_control_characters_are_cleaned() -> None:
    _, norm = run(b"model,score\nRes\x00Net\x07-50,1\n", "csv")
    assert [r.model for r in norm.rows] == ["Res Net -50"]
    _, norm = run(b"<table><tr><th>model</th><th>score</th></tr><tr><td>a\x00b</td><td>1</td></tr>"
                  b"<tr><td>c<br>\x0fd<b>e</b></td><td>2</td></tr></table>", "html")
    assert [r.model for r in norm.rows] == ["ab", "c de"]


def test_lone_surrogates_are_dropped_from_names_and_replaced_in_text() -> None:
    _, norm = run(b'{"rows": [{"model": "GPT\\ud800-4 \\udfff", "org": "Open\\udc00AI", "score": 1}]}', "json",
                  fields={"model": "model", "score": "score", "org": "org"})
    assert (norm.rows[0].model, norm.rows[0].fields["org"]) == ("GPT-4", "Open\ufffdAI")
    assert all(v is None or v.encode("utf-8") for v in norm.rows[0].fields.values())


def test_safety_net_turns_a_parser_bug_into_a_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Buggy(Source):
        """Raises what a parser bug would."""

        kind = "csv"

        def parse(self, page: Page, spec: BoardSpec) -> Parsed:
            raise RecursionError("maximum recursion depth exceeded\nwith a second line")

    monkeypatch.setitem(FORMATS, "csv", Buggy)
    msg = fails(b"model,score\n", "csv")
    assert msg == ("hostile: https://example.org/board: could not parse the document "
                   "(RecursionError: maximum recursion depth exceeded)")


# 4. parse time is linear: spans clamped, footnotes stripped in one pass, cells capped


def _timed(data: bytes, fmt: str, **board: Any) -> tuple[float, Normalized | ParseError]:
    start = time.monotonic()
    try:
        out: Normalized | ParseError = run(data, fmt, **board)[1]
    except ParseError as exc:
        out = exc
    took = time.monotonic() - start
    assert len(data) > 0.85 * MB and took < HANG_GUARD, (took, len(data))
    return took, out


def fill(unit: str, size: int = MB) -> str:
    return unit * (size // len(unit))


HEAD = "<table><tr><th>model</th><th>score</th></tr>"
FOOTNOTES = "x" + "[1]*" * 2400  # 9.6 KB; before the rewrite one 100 KB cell took 35 s


@pytest.mark.parametrize(("fmt", "doc"), [
    ("html", HEAD + fill("<tr><td rowspan=999 colspan=999>a</td></tr>")),
    ("html", HEAD[:-5] + fill("<td colspan=99999>x</td>", MB // 2) + "</tr>" + fill("<tr><td rowspan=99999>m</td></tr>",
                                                                                    MB // 2)),
    ("html", HEAD + fill("<tr><td rowspan=40 colspan=2>a</td></tr><tr><td>b</td><td>1</td></tr>")),
    ("html", HEAD + fill(f"<tr><td>{FOOTNOTES}</td><td>1</td></tr>")),
    ("csv", "model,score\n" + fill("x" + "[1]*" * 25_000 + ",1\n")),
    ("csv", "model,score\n" + fill("*" * 100_000 + "x *,1\n")),
    ("csv", "model,score\n" + fill('"\n')),
    ("csv", "model,score\n" + fill("m,1" + "0" * 500 + "\n")),
    ("json", json.dumps({"rows": [{"model": FOOTNOTES, "score": 1}] * 98})),
    ("json", "[" * (MB // 2) + "]" * (MB // 2)),
    ("pwc", pwc_doc(rows=[{"model": FOOTNOTES, "metrics": {"score": "1"}}] * 98).decode()),
    ("pwc", json.dumps([{"dataset": f"e{i}", "sota": {}, "subdatasets": [{"dataset": "e"}]} for i in range(20_000)])),
], ids=["html-spans", "html-wide-spans", "html-spans-in-budget", "html-footnotes", "csv-footnotes", "csv-stars",
        "csv-sniffer-quotes", "csv-digits", "json-footnotes", "json-deep", "pwc-footnotes", "pwc-many-datasets"])
def test_one_megabyte_adversarial_document(fmt: str, doc: str) -> None:
    _timed(doc.encode(), fmt)


def test_spans_are_clamped() -> None:
    import lxml.etree

    table = lxml.etree.fromstring("<table><tr><th>model</th><th>score</th></tr>"
                                  "<tr><td colspan=500 rowspan=90000>a</td></tr><tr></tr></table>",
                                  lxml.etree.HTMLParser())
    grid = table_grid(table.find(".//table"))
    assert [len(r) for r in grid] == [2, 2, 2]  # colspan -> widest plain row; rowspan -> rows left


def test_oversized_span_expansion_is_a_parse_error() -> None:
    _, out = _timed((HEAD + fill("<tr><td rowspan=999 colspan=999>a</td></tr>")).encode(), "html")
    assert isinstance(out, ParseError) and "colspan/rowspan expand it past" in str(out)
    assert "hostile: table #1 of https://example.org/board" in str(out)


def test_footnote_stripping_is_linear() -> None:
    start = time.monotonic()
    assert clean_name("x" + "[1]*" * 25_000) == "x"
    assert clean_name("*" * 100_000 + "x *") == "*" * 100_000 + "x"
    assert time.monotonic() - start < 1.0


def test_long_cells_are_cut_with_one_warning() -> None:
    _, norm = run(("model,score\n" + f"{'m' * 30_000},1\n" + f"b,{'2' * 20_000}\n" + "c,3\n").encode(), "csv")
    assert [len(r.model) for r in norm.rows] == [MAX_CELL, 1, 1]
    assert "2 cell(s) longer than 10000 characters were cut to that length" in norm.warnings


# 6. a cut-off CSV is a ParseError, not a smaller board


def test_truncated_csv() -> None:
    fails(b"model,score,extra\na,1,x\nb,2", "csv",
          "https://example.org/board looks truncated: the last line has 2 of 3 fields and no final newline; "
          "will try again on the next run")


@pytest.mark.parametrize("body", [b"model,score,extra\na,1,x\nb,2\n", b"model,score,extra\na,1,x\nb,2,y"])
def test_short_last_line_with_newline_or_complete_line_is_fine(body: bytes) -> None:
    assert [r.model for r in run(body, "csv")[1].rows] == ["a", "b"]


# 7. decoding: a fixed order, and the encoding used is reported


LATIN1 = "model,score\nNaïve-Bayes,71.5\nRésumé-Net,70.1\n".encode("latin-1")


def test_hint_encoding_keeps_a_latin1_board_stable() -> None:
    parsed, norm = run(LATIN1, "csv", page_kw={"hint_encoding": "latin-1"})
    assert [r.model for r in norm.rows] == ["Naïve-Bayes", "Résumé-Net"]
    assert parsed.encoding == "iso8859-1"


@pytest.mark.parametrize(("data", "page_kw", "board", "encoding"), [
    (LATIN1, {"encoding": "utf-8", "hint_encoding": "cp1250"}, {"encoding": "cp1252"}, "cp1252"),  # board first
    (LATIN1, {"encoding": "latin-1", "hint_encoding": "cp1250"}, {}, "iso8859-1"),  # then the declared charset
    (LATIN1, {"encoding": "no-such-charset", "hint_encoding": "cp1250"}, {}, "cp1250"),  # unknown: skipped
    (LATIN1, {"encoding": "punycode", "hint_encoding": "cp1250"}, {}, "cp1250"),  # no document encoding: skipped
    (b"\xef\xbb\xbfmodel,score\na,1\n", {"hint_encoding": "cp1250"}, {}, "utf-8"),  # BOM
    ("\ufeffmodel,score\na,1\n".encode("utf-16"), {"hint_encoding": "cp1250"}, {}, "utf-16"),
    ("model,score\nNaïve,1\n".encode(), {"hint_encoding": "cp1250"}, {}, "utf-8"),  # UTF-8 before the hint
])
def test_decoding_order(data: bytes, page_kw: dict[str, Any], board: dict[str, Any], encoding: str) -> None:
    assert run(data, "csv", page_kw, **board)[0].encoding == encoding


@pytest.mark.parametrize(("fmt", "data"), [
    ("csv", b"model,score\na,1\n"), ("html", f"{HEAD}<tr><td>a</td><td>1</td></tr></table>".encode()),
    ("json", b'{"rows": [{"model": "a", "score": 1}]}'), ("pwc", pwc_doc()),
])
def test_every_source_reports_its_encoding(fmt: str, data: bytes) -> None:
    assert run(data, fmt)[0].encoding == "utf-8"
    assert run(data.decode().encode("utf-16"), fmt)[0].encoding == "utf-16"


# 9. numbers are finite or no value


@pytest.mark.parametrize("text", ["1" * 400, "-" + "9" * 400, "1e999", "inf", "-Infinity", "9" * 300 + "T", "nan"])
def test_parse_number_is_never_infinite_or_nan(text: str) -> None:
    assert parse_number(text) is None


def test_non_finite_values_are_dropped_with_a_warning() -> None:
    doc = f"model,score,other\na,{'1' * 400},1e999\nb,2,3\nc,inf,4\n".encode()
    _, norm = run(doc, "csv", metrics=["other"], fields={"model": "model", "score": "score", "other": "other"})
    assert [r.value("score") for r in norm.rows] == [None, 2.0, None]
    assert [r.value("other") for r in norm.rows] == [None, 3.0, 4.0]
    assert "2 score value(s) too large for a number (or infinite) count as no value" in norm.warnings
    assert "1 other value(s) too large for a number (or infinite) count as no value" in norm.warnings
