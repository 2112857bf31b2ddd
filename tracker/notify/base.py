"""The Notifier plugin base, the Alert it sends, and the human renderings of alerts (text, subject, HTML)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..models import ChangeKind, Event
from ..numbers import fmt, strict
from ..timeutil import iso, short


@dataclass(frozen=True)
class Alert:
    """An event with what a person needs to read it: the board's title and URL, and the margin."""

    event: Event
    board_title: str
    board_url: str
    higher_is_better: bool = True

    @property
    def margin(self) -> float | None:
        """How far the new value beats the previous one (positive is better), for leader changes and records."""
        e = self.event
        if e.margin is not None:
            return e.margin
        if e.type not in (ChangeKind.LEADER_CHANGED, ChangeKind.NEW_SOTA) or e.value is None \
                or e.previous_value is None:
            return None
        delta = e.value - e.previous_value
        return round(delta if self.higher_is_better else -delta, 10)

    def payload(self) -> dict[str, Any]:
        """The webhook body of one alert."""
        e = self.event
        data: dict[str, Any] = strict({
            "event_id": e.id, "type": e.type.value, "board": e.board, "board_title": self.board_title,
            "observed_at": iso(e.observed_at), "model": e.model, "value": e.value,
            "previous_model": e.previous_model, "previous_value": e.previous_value, "margin": self.margin,
            "url": self.board_url, "message": text(self), "significant": e.significant, "published": e.published,
            "backdated": e.backdated})
        return data


class Notifier:
    """Base of the alert channels; subclasses set `kind` and implement send()."""

    kind = ""

    def __init__(self, target: str, secret: str | None = None) -> None:
        self.target = target
        self.secret = secret

    def send(self, alerts: Sequence[Alert], *, digest: bool = False) -> None:
        """Deliver alerts (one message, or one digest listing all); raise NotifyError when it fails."""
        raise NotImplementedError


def text(alert: Alert) -> str:
    """One line a person understands at a glance: what happened, the source, when it was seen."""
    return f"{alert.event.message}; source {alert.board_url}; seen {short(alert.event.observed_at)}"


def subject(alerts: Sequence[Alert]) -> str:
    """An e-mail subject (or message title) for one alert or a digest."""
    if len(alerts) != 1:
        boards = sorted({a.board_title for a in alerts})
        return f"tracker: {len(alerts)} leaderboard events ({', '.join(boards)[:120]})"
    a = alerts[0]
    e = a.event
    what = {ChangeKind.LEADER_CHANGED: f"{e.model} takes the lead",
            ChangeKind.NEW_SOTA: f"new record {fmt(e.value)} by {e.model}",
            ChangeKind.SOURCE_FAILED: "source failing", ChangeKind.SOURCE_RECOVERED: "source recovered",
            ChangeKind.SOURCE_STALE: "source stale"}.get(e.type, e.type.value.replace("_", " "))
    return f"{a.board_title}: {what}"


def body_text(alerts: Sequence[Alert]) -> str:
    """Plain-text body for chat channels and the console: one line per alert."""
    return "\n".join(text(a) for a in alerts)


COLUMNS = ("Board", "Event", "Model", "Value", "Previous", "Margin", "Seen")


def cells(alert: Alert) -> tuple[str, ...]:
    """One alert as the cells of the e-mail table (see COLUMNS)."""
    e = alert.event
    return (alert.board_title, e.type.value.replace("_", " "), e.model or "-", fmt(e.value),
            f"{e.previous_model or '-'} ({fmt(e.previous_value)})",
            "-" if alert.margin is None else f"{alert.margin:+g}", short(e.observed_at))


def text_table(alerts: Sequence[Alert]) -> str:
    """The e-mail table as aligned plain text: a header, a rule, one row per alert, columns padded with spaces."""
    rows = [COLUMNS, *(cells(a) for a in alerts)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def _sources(alerts: Sequence[Alert]) -> list[str]:
    return sorted({a.board_url for a in alerts})


def body_plain(alerts: Sequence[Alert]) -> str:
    """The e-mail's text/plain part: the sentence lines, the aligned table, the sources."""
    return f"{body_text(alerts)}\n\n{text_table(alerts)}\n\nSources: {', '.join(_sources(alerts))}\n"


def body_html(alerts: Sequence[Alert]) -> str:
    """An HTML body with a small table, for e-mail."""
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells(a)) + "</tr>" for a in alerts)
    head = "".join(f"<th>{h}</th>" for h in COLUMNS)
    lines = "".join(f"<p>{html.escape(text(a))}</p>" for a in alerts)
    return (f"<html><body>{lines}<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\"><tr>{head}</tr>{rows}"
            f"</table><p>Sources: {', '.join(html.escape(u) for u in _sources(alerts))}</p></body></html>")
