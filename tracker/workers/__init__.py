"""Many workers on one PostgreSQL: `tracker schedule --workers`, and leases for the single-writer commands.

    loop.py       Worker: register, claim due boards (FOR UPDATE SKIP LOCKED), run them, give them back
    heartbeat.py  the thread that renews a holder's leases and notices a lost database
    writer.py     writing(): the store-wide lock, or in a pool store the boards' leases (run, import, backfill)
    guarded.py    guarded(): writes checked against the leases, fetch rows marked with the worker
    listing.py    what `tracker workers` and `tracker boards` print about the pool

The SQL lives in tracker.store (leases.py, pool.py, hostgate.py); the shared per-host gate plugs into
tracker.fetch.HostGate.
"""

from __future__ import annotations

from .listing import boards_with_workers, workers_table
from .loop import Worker, needs_postgres, serve
from .writer import Writing, holder_name, refuse_if_skipped, writing

__all__ = ["Worker", "Writing", "boards_with_workers", "holder_name", "needs_postgres", "refuse_if_skipped", "serve",
           "workers_table", "writing"]
