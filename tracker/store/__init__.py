"""The store: snapshots, fetch attempts, events and the alert outbox in a database, raw documents in an archive.

    core.py      Store(url): reads and writes; returns models, never ORM objects
    schema.py    the SQLAlchemy tables (private to this folder)
    migrate.py   Alembic migrations, run under the store lock when the schema is behind
    lock.py      the single-writer lock: a lock file beside SQLite, a session advisory lock on PostgreSQL
    outbox.py    alert deliveries and small named state values
    codec.py     the canonical row encoding (content hash) and the compressed row blob
    archive.py   raw documents, content-addressed and compressed
    prune.py     what `tracker prune` removes
"""

from __future__ import annotations

from . import migrate, prune
from .archive import Archive, sha256
from .codec import Encoded, encode_rows, pack_rows, unpack_rows
from .core import FetchInfo, NewSnapshot, Store

__all__ = ["Archive", "Encoded", "FetchInfo", "NewSnapshot", "Store", "encode_rows", "migrate", "pack_rows", "prune",
           "sha256", "unpack_rows"]
