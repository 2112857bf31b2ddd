"""The `tracker` command line: thin click commands over the library; the only place that sets up logging.

    app.py      the group, App, one-line errors, masked logging and output
    run.py      run, schedule, import, prune (the commands that write)
    read.py     diff, show, events, boards, formats
    alerts.py   alerts, alerts test, alerts retry
    history.py  backfill, history, plot, report, feed
"""

from __future__ import annotations

from . import alerts, history, read, run
from .app import cli

__all__ = ["alerts", "cli", "history", "read", "run"]
