"""Formatting metric values for people: no trailing zeros, '-' for none."""

from __future__ import annotations


def fmt(value: float | None) -> str:
    """A metric value for messages: no trailing zeros, '-' for none."""
    if value is None:
        return "-"
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"
