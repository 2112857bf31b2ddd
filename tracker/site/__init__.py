"""The static website and JSON API of `tracker site`, built from the store.

    build.py     build_site(): which boards changed (manifest), write their files, redraw index/boards.json/feed
    collect.py   one board's data as of the site's time: snapshot, standings, timeline, records, key events
    pages.py     a board's page;  index.py the front page;  style.py the shared CSS, JavaScript and page shell
    svg.py       the inline SVG SOTA chart and sparklines
    api.py       the JSON documents ("schema": 1) and rows.csv
    feed.py      the Atom feeds
    manifest.py  atomic writes and the build manifest (incremental builds)
"""

from __future__ import annotations

from .api import SCHEMA
from .build import SiteResult, build_site

__all__ = ["SCHEMA", "SiteResult", "build_site"]
