"""The SOTA step chart (matplotlib, Agg): the record as a step line over time, each record annotated with its
model, and every entry's value as faint dots where the board has a date field, as the old Papers With Code charts."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
from matplotlib import rc_context
from matplotlib.figure import Figure

from .errors import TrackerError
from .history import History, date_of
from .models import Row
from .numbers import fmt

RECORD_COLOR = "#d62728"
DOT_COLOR = "#1f77b4"


@dataclass(frozen=True)
class Chart:
    """A rendered chart: its bytes, and what it shows (for checks and captions)."""

    data: bytes
    format: str
    steps: int
    dots: int


def sota_chart(hist: History, rows: Sequence[Row] = (), *, fmt_: str = "png", end: datetime | None = None,
               since: datetime | None = None) -> Chart:
    """Draw the record progression of a board (and its entries as dots when rows have a date field)."""
    spec = hist.board
    if fmt_ not in ("png", "svg"):
        raise TrackerError(f"cannot draw a chart as {fmt_!r}; use a .png or .svg file name")
    if not hist.records:
        raise TrackerError(f"{spec.id}: no snapshots with a {spec.metric} value yet; nothing to draw")
    date_field = spec.published or next((f.name for f in spec.fields if f.type == "date"), None)
    dots = [(d, v) for r in rows if date_field and (d := date_of(r.fields.get(date_field))) is not None
            and (v := r.value(spec.metric)) is not None and (since is None or d >= since)]
    with rc_context({"svg.hashsalt": "tracker", "svg.fonttype": "none", "font.size": 10}):
        fig = Figure(figsize=(10, 5.5), dpi=110)
        ax = fig.add_subplot()
        if dots:
            ax.scatter(mdates.date2num([d for d, _ in dots]),  # type: ignore[no-untyped-call]
                       [v for _, v in dots], s=10, color=DOT_COLOR,
                       alpha=0.25, label=f"entries (by {date_field})", zorder=1)
        whens = [r.when for r in hist.records]
        ys = [r.value for r in hist.records]
        last = max([end or whens[-1], whens[-1], *(d for d, _ in dots)])
        xs = mdates.date2num([*whens, last])  # type: ignore[no-untyped-call]
        ax.step(xs, [*ys, ys[-1]], where="post", color=RECORD_COLOR, linewidth=2, label="record", zorder=2)
        span = float(xs[-1] - xs[0]) or 1.0
        ax.set_xlim(float(xs[0]) - 0.03 * span, float(xs[-1]) + 0.03 * span)
        low, high = min(ys), max(ys)
        pad = (high - low) * 0.08 or 1.0
        ax.set_ylim(low - pad, high + pad)
        depth = 0
        for i, r in enumerate(hist.records):
            (marker,) = ax.plot([xs[i]], [r.value], "o", color=RECORD_COLOR, markersize=6, zorder=3)
            marker.set_gid(f"record-{i + 1}")
            same = i > 0 and hist.records[i - 1].model == r.model
            label = fmt(r.value) if same else f"{r.model} ({fmt(r.value)})"
            right = float(xs[i] - xs[0]) / span > 0.55
            edge = (r.value - low) / ((high - low) or 1.0)
            crowded = edge > 0.8 if spec.higher_is_better else edge < 0.2
            arrow = {"arrowstyle": "-", "color": "#999999", "linewidth": 0.6}
            style = {"fontsize": 8, "color": "#333333", "ha": "right" if right else "left", "arrowprops": arrow}
            if crowded:  # records bunch up at the frontier: stack their labels at fixed heights
                fx = (float(xs[i]) - float(xs[0]) + 0.03 * span) / (1.06 * span)
                fy = 0.86 - 0.07 * depth if spec.higher_is_better else 0.14 + 0.07 * depth
                depth += 1
                ax.annotate(label, (float(xs[i]), r.value), xytext=(fx - 0.01 if right else fx + 0.01, fy),
                            textcoords="axes fraction", **style)  # type: ignore[arg-type]
            else:
                ax.annotate(label, (float(xs[i]), r.value), xytext=(-6 if right else 6, 12 if i % 2 == 0 else -16),
                            textcoords="offset points", **style)  # type: ignore[arg-type]
        direction = "higher is better" if spec.higher_is_better else "lower is better"
        ax.set_title(f"{spec.title}: state of the art over time")
        ax.set_ylabel(f"{spec.metric} ({direction})")
        ax.set_xlabel("date (UTC)")
        locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right" if spec.higher_is_better else "upper right")
        fig.subplots_adjust(left=0.08, right=0.97, top=0.92, bottom=0.1)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt_)
    return Chart(buf.getvalue(), fmt_, len(hist.records), len(dots))
