"""Atom feeds of the site: feed.xml (leader changes and new records of every board) and b/<id>/feed.xml.

Entry links point at the board's page when the site has a --base-url, else at the board's source."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from ..config import BoardSpec
from ..models import ChangeKind, Event
from ..timeutil import iso

ATOM = "http://www.w3.org/2005/Atom"
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 cannot hold


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        el.text = NOT_XML.sub("", text)
    return el


def atom(feed_id: str, title: str, events: Sequence[Event], boards: Mapping[str, BoardSpec], base_url: str | None,
         self_url: str | None = None) -> bytes:
    """An Atom document of the events (leader changes and new records), newest first."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "title", title)
    _sub(feed, "id", feed_id)
    newest = max((e.observed_at for e in events), default=datetime(1970, 1, 1, tzinfo=UTC))
    _sub(feed, "updated", iso(newest))
    _sub(_sub(feed, "author"), "name", "tracker")
    if self_url:
        _sub(feed, "link", rel="self", href=self_url)
    for ev in sorted(events, key=lambda x: (x.observed_at, x.id), reverse=True):
        spec = boards.get(ev.board)
        entry = _sub(feed, "entry")
        _sub(entry, "id", f"urn:tracker:event:{ev.board}:{ev.id}")
        what = "new record" if ev.type is ChangeKind.NEW_SOTA else "new leader"
        _sub(entry, "title", f"{spec.title if spec else ev.board}: {what}: {ev.model}")
        _sub(entry, "updated", iso(ev.observed_at))
        href = f"{base_url}b/{ev.board}/" if base_url else (spec.url if spec else None)
        if href:
            _sub(entry, "link", href=href)
        _sub(entry, "category", term=ev.type.value)
        _sub(entry, "summary", ev.message)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body + b"\n"


def board_feed(spec: BoardSpec, events: Sequence[Event], base_url: str | None) -> bytes:
    """b/<id>/feed.xml: the board's leader changes and new records (the newest 50)."""
    newest = sorted(events, key=lambda e: (e.observed_at, e.id))[-50:]
    return atom(f"urn:tracker:board:{spec.id}", f"{spec.title}: leader changes and records", newest,
                {spec.id: spec}, base_url, f"{base_url}b/{spec.id}/feed.xml" if base_url else None)


def site_feed(events: Sequence[Event], boards: Mapping[str, BoardSpec], base_url: str | None) -> bytes:
    """feed.xml: leader changes and new records across the site's boards."""
    return atom("urn:tracker:site", "tracker: leader changes and records", events, boards, base_url,
                f"{base_url}feed.xml" if base_url else None)
