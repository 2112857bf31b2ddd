"""The `tracker` command line: thin click commands over the library; the only place that sets up logging.

    app.py      the group, App, one-line errors, masked logging and output
    run.py      run, schedule, import, prune (the commands that write)
    read.py     diff, show, events, boards, formats
    alerts.py   alerts, alerts test, alerts retry
    history.py  backfill, history, plot, report, feed
    add.py      add, check (set a board up from a document; a dry run of a board)
"""

from __future__ import annotations

from . import add, alerts, history, read, run
from .app import cli

__all__ = ["add", "alerts", "cli", "history", "read", "run"]
