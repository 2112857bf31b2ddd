"""Fetch records written together: a run over many boards records its unchanged ones (a 304, the same bytes, the
same rows; no event) in one statement per few hundred boards instead of one transaction each.

Crash-safety: a record still in the batch when the process dies is lost, and nothing else is: the board has no
snapshot or event waiting on it, and `tracker run --due` fetches it again a little sooner than it would have.
"""

from __future__ import annotations

import threading

from .core import FetchInfo, Store
from .generated import record_fetches


class FetchBatch:
    """Unchanged-board fetch records kept until `size` are waiting (thread-safe); flush() writes the rest."""

    def __init__(self, store: Store, size: int = 500) -> None:
        self.store = store
        self.size = size
        self._waiting: list[tuple[str, FetchInfo]] = []
        self._lock = threading.Lock()

    def add(self, board: str, info: FetchInfo) -> None:
        """Keep one record; write the batch once it is full."""
        with self._lock:
            self._waiting.append((board, info))
            full = len(self._waiting) >= self.size
        if full:
            self.flush()

    def flush(self) -> None:
        """Write every waiting record (one statement; a StoreError if the store cannot be written)."""
        with self._lock:
            waiting, self._waiting = self._waiting, []
        record_fetches(self.store, waiting)
