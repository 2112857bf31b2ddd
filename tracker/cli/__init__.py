"""The `tracker` command line: thin click commands over the library; the only place that sets up logging.

    app.py      the group, App, one-line errors, masked logging and output
    run.py      run, schedule, import, prune (the commands that write)
    read.py     diff, show, events, boards, formats
    alerts.py   alerts, alerts test, alerts retry
    history.py  backfill, history, plot, report, feed
    add.py      add, check (set a board up from a document; a dry run of a board)
    site.py     site (the static website and JSON API)
    workers.py  workers (the store's worker pool: `tracker schedule --workers`)
"""

from __future__ import annotations

import importlib

from .app import cli

# command -> (its module here, its one-line help). `tracker --help` lists commands from this table and imports no
# command module (so not the library, SQLAlchemy or lxml: issue 10); a command's module is imported when it runs.
# tests/test_layout.py checks the table against the commands themselves.
COMMANDS: dict[str, tuple[str, str]] = {
    "add": ("add", "Add a board from a URL or local file: find its tables, propose the model and "
        "metric columns, append a commented [[board]] to the config (created if missing), "
        "and store the baseline snapshot."),
    "alerts": ("alerts", "List alert deliveries (the outbox): waiting, pending, sent, dead or suppressed, "
        "with the last error."),
    "backfill": ("history", "Import a board's past versions, oldest first: archive captures (--wayback) or a "
        "file's git history (--git)."),
    "boards": ("read", "List configured boards with their counters and health (in a worker pool's store: "
        "which worker ran each last)."),
    "check": ("add", "Fetch BOARD's url (or read FILE) and show what `tracker run` would store, "
        "storing nothing."),
    "diff": ("read", "Show what changed between two snapshots of a board (default: the last two, for "
        "every board)."),
    "events": ("read", "List recorded events, oldest first."),
    "feed": ("history", "Write an Atom feed of leader changes and new records across all boards, for feed "
        "readers."),
    "formats": ("read", "List the document formats a board can use, with what each expects."),
    "history": ("history", "Show who led the board when (the leader timeline) and how the record progressed."),
    "import": ("run", "Ingest saved documents of BOARD, in the order given (for backfills and tests)."),
    "plot": ("history", "Draw the state-of-the-art step chart of a board (records over time, entries as "
        "dots when dated)."),
    "prune": ("run", "Remove raw documents no snapshot needs (failed, superseded, orphaned), stale "
        "temp files; vacuum the database."),
    "report": ("history", "Write a dated report: the leader and margin, a top-N table, the record chart, "
        "recent changes, the source."),
    "run": ("run", "Fetch boards (all, or those named), store new snapshots and record events."),
    "schedule": ("run", "Run every board on its schedule, in the foreground, until SIGINT or SIGTERM."),
    "show": ("read", "Show a board's standings from its latest snapshot (or as of a past time)."),
    "site": ("site", "Write a static website of every board: index.html, a page per board with its "
        "SOTA chart, ranked table and history, JSON API files (api/), CSV/JSON downloads "
        "and Atom feeds."),
    "snapshots": ("read", "List a board's stored snapshots, oldest first: id, when observed, rows, leader "
        "and value, events recorded."),
    "workers": ("workers", "List the store's worker pool: each worker's host, pid, heartbeat age, boards "
        "running, runs and failures."),
}
cli.lazy = COMMANDS


def load_all() -> None:
    """Import every command module (for tools that walk all commands, such as the layout test)."""
    for module in sorted({m for m, _ in COMMANDS.values()}):
        importlib.import_module(f"{__name__}.{module}")


__all__ = ["COMMANDS", "cli", "load_all"]
