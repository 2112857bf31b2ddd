"""Value parsing and name cleaning, table-driven."""

from __future__ import annotations

import pytest

from tracker.normalize import canonical, clean_name, parse_date, parse_number


@pytest.mark.parametrize(("text", "value"), [
    ("91.0%", 91.0), ("90,98 %", 90.98), ("1,014.45", 1014.45), ("1,234", 1234.0), ("1.234,5", 1234.5),
    ("−3.5", -3.5), ("-0.25", -0.25), ("+0.25", 0.25), ("~1B", 1e9), ("2.1B", 2.1e9), ("660M", 6.6e8),
    ("12k", 12000.0), ("82.242 (17.758)", 82.242), ("320 (1.0 crop)", 320.0), ("\u00a088.6\u00a0", 88.6),
    ("1318", 1318.0), ("+5/-4", 5.0), ("0.02251", 0.02251),
])
def test_parse_number(text: str, value: float) -> None:
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "-", "—", "–", "N/A", "Unknown", "unknown", "~", "?", None, "none", "abc"])
def test_no_value(text: str | None) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize(("text", "iso"), [
    ("2024-4-2", "2024-04-02"), ("2023/10", "2023-10"), ("2019-01-14T15:03:28+00:00", "2019-01-14"),
    ("Oct 2023", "2023-10"), ("2 Apr 2024", "2024-04-02"), ("April 2, 2024", "2024-04-02"), ("2021", "2021"),
    ("12/31/2020", "2020-12-31"), ("Online", None), ("Unknown", None), ("", None), ("2023-13", None),
])
def test_parse_date(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso


@pytest.mark.parametrize(("text", "name"), [
    ("tf_efficientnet_l2_ns *tfp", "tf_efficientnet_l2_ns"), ("CoCa [1]", "CoCa"), ("Model soups †", "Model soups"),
    ("🥇 CoCa 🆕", "CoCa"), ("GPT-4o\u00a0(2024-05-13)", "GPT-4o (2024-05-13)"), ("BERT (ensemble)", "BERT (ensemble)"),
    ("C++ model", "C++ model"), ("ResNet-50*", "ResNet-50"), ("*", "*"),
])
def test_clean_name(text: str, name: str) -> None:
    assert clean_name(text) == name


def test_canonical_folds_case_and_space() -> None:
    assert canonical("Gemini-2.5-Pro ") == canonical("gemini-2.5-pro") == "gemini-2.5-pro"
    assert canonical("Ｆｕｌｌ  width") == "full width"
