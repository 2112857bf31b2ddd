"""The column-at-a-time cell functions give exactly what the cell functions give one cell at a time: numbers read
off a whole column by one regex pass, clean text and canonical keys per column, badges found once per name; and
normalize() what the row-by-row reference gives for keys cut out by a regex."""

from __future__ import annotations

import math
import tempfile
import unicodedata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from tracker import config
from tracker.normalize import canonical, clean_name, clean_text, normalize
from tracker.normalize.columns import _canonical_column, _clean_column, _numbers
from tracker.normalize.text import _number

from . import test_perf_normalize

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "tracker-hypothesis")

NUMBERISH = st.text(alphabet="0123456789..,,% ()-+−kKmMbBgGtTe_nainf\n\r\t\u00a0\u2009٣", max_size=12)
FORMS = st.sampled_from(["91.2", "91.2%", "91%", "82.242 (17.758)", "82.2 (", "660M", "1.5k", "12t", "-3", "+4.",
                         "007", "1" * 400, "1e999", "inf", "nan", "NaN", "-", "", " 5", "5 ", "5  (x)", "5 (x) ",
                         "1,234", "90,98 %", "−3", "~1B", "1_000", "٣", "5\r", "5\n6", "1.5e-7", "12.k"])
cells = st.one_of(st.none(), FORMS, NUMBERISH, st.text(max_size=6))


def same_numbers(a: list[float | None], b: list[float | None]) -> bool:
    return len(a) == len(b) and all(x is y is None or (x is not None and y is not None and (
        x == y or (math.isnan(x) and math.isnan(y)))) for x, y in zip(a, b, strict=True))


@settings(max_examples=500, deadline=None, database=None)
@given(st.lists(cells, max_size=12))
def test_numbers_of_a_column_equal_each_cell_read_alone(col: list[str | None]) -> None:
    assert same_numbers(_numbers(col), [None if v is None else _number(v) for v in col])


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(FORMS, min_size=1, max_size=8), st.sampled_from(["", "%", " (1.5)", "M", "k"]))
def test_columns_of_one_form_take_the_one_pass_paths(col: list[str], tail: str) -> None:
    col = [v + tail for v in col]
    assert same_numbers(_numbers([*col, None]), [*map(_number, col), None])


def old_clean_name_badges(text: str) -> str:
    """clean_name's previous badge filter: every character looked up."""
    def badge(ch: str) -> bool:
        cat = unicodedata.category(ch)
        return cat == "So" or cat == "Cs" or ch in "\ufe0f\u200d" or 0x1F000 <= ord(ch) <= 0x1FAFF
    return "".join(ch for ch in text if not badge(ch))


NAMES = st.one_of(st.text(max_size=12), st.sampled_from(["model †", "🏆 Top", "GPT-4 *tfp", "a\u200db", "x\ufe0f",
                                                          "Model [1]", "\ud800x", "é ★ 1"]))


@settings(max_examples=500, deadline=None, database=None)
@given(NAMES)
def test_clean_name_drops_badges_as_before(text: str) -> None:
    assert clean_name(text) == clean_name(old_clean_name_badges(text))
    assert not any(unicodedata.category(ch) == "So" for ch in clean_name(text))


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.one_of(st.none(), NAMES), max_size=8))
def test_clean_and_canonical_columns_equal_each_cell_alone(col: list[str | None]) -> None:
    cleaned, cut = _clean_column(col)
    assert cut == 0 and cleaned == [None if v is None else clean_text(v) for v in col]
    assert _canonical_column(col) == [canonical(v or "") for v in col]


MORE_SPECS = [  # keys cut out by a regex (which may leave only white space), and a model that is no key field
    {"metric": "score", "key": ["model", "size"],
     "fields": {"model": {"from": "model", "regex": "(.?.?)"}, "size": {"from": "size", "regex": "^(\\s?.?)"},
                "score": "score"}},
    {"metric": "score", "key": ["size"], "fields": {"model": "model", "size": "size", "score": "score"}},
]


@settings(max_examples=300, deadline=None, database=None)
@given(test_perf_normalize.raw_rows, st.integers(0, len(MORE_SPECS) - 1))
def test_normalize_with_regex_keys_equals_the_row_by_row_reference(rows: list[dict[str, str | None]], i: int) -> None:
    spec = config.parse({"board": [{"id": "b", "url": "https://example.org/b", "format": "csv", **MORE_SPECS[i]}]},
                        base=Path("/")).boards[0]
    assert test_perf_normalize.same(normalize(rows, spec), test_perf_normalize.reference(rows, spec))
