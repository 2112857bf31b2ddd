"""Inline SVG drawn by hand (no matplotlib per board): the SOTA chart of a board page and the index's sparklines.

The chart puts the record as a red step line and every entry as a faint dot on one time axis: the entry's published
date when the board has one, else when it was first seen. Each record step is a `<circle class="step">`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from ..numbers import fmt
from .collect import BoardData

W, H = 800, 340
LEFT, RIGHT, TOP, BOTTOM = 62, 16, 16, 34
RECORD = "#d62728"
DOT = "#1f77b4"


def _ticks(low: float, high: float, n: int = 5) -> list[float]:
    """About n round numbers between low and high."""
    span = high - low or abs(high) or 1.0
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step) + 1)]


def _time_ticks(t0: float, t1: float) -> list[tuple[float, str]]:
    """Year (or month) boundaries between two POSIX times, labelled."""
    a, b = datetime.fromtimestamp(t0, UTC), datetime.fromtimestamp(t1, UTC)
    years = b.year - a.year
    if years >= 2:
        step = max(1, years // 6)
        return [(datetime(y, 1, 1, tzinfo=UTC).timestamp(), str(y)) for y in range(a.year + 1, b.year + 1, step)]
    months = (b.year - a.year) * 12 + b.month - a.month
    step = max(1, months // 6)
    out = []
    y, m = a.year, a.month
    for _ in range(0, months, step):
        m += step
        y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
        out.append((datetime(y, m, 1, tzinfo=UTC).timestamp(), f"{y}-{m:02d}"))
    return out


def chart(data: BoardData) -> str:
    """The board's SOTA chart as an inline <svg> (empty string when there is no record yet)."""
    recs = data.history.records
    if not recs:
        return ""
    metric = data.spec.metric
    dots = [(t.timestamp(), v) for s in data.ranked if (v := s.row.value(metric)) is not None
            and math.isfinite(v) and (t := data.entry_time(s)) is not None]
    end = max(data.snap.observed_at.timestamp(), *(r.when.timestamp() for r in recs), *(t for t, _ in dots))
    start = min(*(r.when.timestamp() for r in recs), *(t for t, _ in dots)) if dots else recs[0].when.timestamp()
    ys = [r.value for r in recs] + [v for _, v in dots]
    low, high = min(ys), max(ys)
    pad = (high - low) * 0.06 or 1.0
    low, high = low - pad, high + pad
    tspan = (end - start) or 86400.0
    start, end = start - 0.03 * tspan, end + 0.03 * tspan

    def x(t: float) -> float:
        return LEFT + (t - start) / (end - start) * (W - LEFT - RIGHT)

    def y(v: float) -> float:
        return TOP + (high - v) / (high - low) * (H - TOP - BOTTOM)

    out = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="chart-title" '
           f'xmlns="http://www.w3.org/2000/svg" font-size="12" font-family="system-ui,sans-serif">',
           f'<title id="chart-title">{escape(data.spec.title)}: {escape(metric)} record over time '
           f'({len(recs)} record steps, {len(dots)} entries)</title>']
    for v in _ticks(low, high):
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e4e4e4"/>'
                   f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end" fill="#555">{fmt(v)}</text>')
    for tick, text in _time_ticks(start, end):
        out.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#eee"/>'
                   f'<text x="{x(tick):.1f}" y="{H - BOTTOM + 18}" text-anchor="middle" fill="#555">{text}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" height="{H - TOP - BOTTOM}" fill="none" '
               f'stroke="#bbb"/>')
    if dots:
        path = "".join(f"M{x(t):.1f} {y(v):.1f}h0" for t, v in dots)
        out.append(f'<path class="dots" d="{path}" stroke="{DOT}" stroke-opacity=".35" stroke-width="5" '
                   f'stroke-linecap="round"/>')
    pts = [(x(r.when.timestamp()), y(r.value)) for r in recs]
    line = f"M{pts[0][0]:.1f} {pts[0][1]:.1f}" + "".join(f"H{px:.1f}V{py:.1f}" for px, py in pts[1:])
    line += f"H{x(max(end - 0.03 * tspan, recs[-1].when.timestamp())):.1f}"
    out.append(f'<path class="record" d="{line}" fill="none" stroke="{RECORD}" stroke-width="2.5"/>')
    for i, (r, (px, py)) in enumerate(zip(recs, pts, strict=True), start=1):
        out.append(f'<circle class="step" id="record-{i}" cx="{px:.1f}" cy="{py:.1f}" r="4.5" fill="{RECORD}">'
                   f'<title>{escape(r.model)}: {fmt(r.value)} ({r.when:%Y-%m-%d})</title></circle>')
    last = recs[-1]
    lx, ly = pts[-1]
    anchor = "end" if lx > W / 2 else "start"
    out.append(f'<text x="{lx + (-8 if anchor == "end" else 8):.1f}" y="{ly + (16 if ly < TOP + 20 else -8):.1f}" '
               f'text-anchor="{anchor}" fill="#333">{escape(last.model)} ({fmt(last.value)})</text>')
    out.append("</svg>")
    return "".join(out)


def sparkline(points: Sequence[tuple[float, float]]) -> str:
    """A 100x24 step line of (POSIX time, record value) points; empty when there are none."""
    if not points:
        return ""
    ts = [t for t, _ in points]
    vs = [v for _, v in points]
    t0, t1 = min(ts), max(ts)
    lo, hi = min(vs), max(vs)

    def x(t: float) -> float:
        return 2 + (t - t0) / ((t1 - t0) or 1.0) * 96

    def y(v: float) -> float:
        return 21 - (v - lo) / ((hi - lo) or 1.0) * 18 if hi > lo else 12

    d = f"M{x(ts[0]):.1f} {y(vs[0]):.1f}" + "".join(f"H{x(t):.1f}V{y(v):.1f}" for t, v in points[1:]) + "H98"
    return (f'<svg class="spark" viewBox="0 0 100 24" width="100" height="24" aria-hidden="true">'
            f'<path d="{d}" fill="none" stroke="{RECORD}" stroke-width="1.5"/></svg>')
