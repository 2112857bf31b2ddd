"""Formatting metric values for people: no trailing zeros, '-' for none."""

from __future__ import annotations

import math
from typing import Any


def fmt(value: float | None) -> str:
    """A metric value for messages: no trailing zeros, '-' for none."""
    if value is None:
        return "-"
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def strict(data: Any) -> Any:
    """JSON-ready data with NaN and ±infinity as null, so every JSON document tracker writes is strict JSON."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: strict(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [strict(v) for v in data]
    return data
