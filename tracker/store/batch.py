"""Fetch records written together: a run over many boards records its unchanged ones (a 304, the same bytes, the
same rows; no event) in one statement per few hundred boards instead of one transaction each.

Crash-safety: a record still in the batch when the process dies is lost, and nothing else is: the board has no
snapshot or event waiting on it, and `tracker run --due` fetches it again a little sooner than it would have.
"""

from __future__ import annotations

import logging
import threading

from ..errors import TrackerError
from .core import FetchInfo, Store
from .generated import record_fetches

logger = logging.getLogger(__name__)


class FetchBatch:
    """Unchanged-board fetch records kept until `size` are waiting (thread-safe); flush() writes the rest."""

    def __init__(self, store: Store, size: int = 500) -> None:
        self.store = store
        self.size = size
        self._waiting: list[tuple[str, FetchInfo]] = []
        self._lock = threading.Lock()

    def add(self, board: str, info: FetchInfo) -> None:
        """Keep one record; write the batch once it is full (a failure to write is logged and the records wait
        for the next try: the board whose record filled the batch did nothing wrong)."""
        with self._lock:
            self._waiting.append((board, info))
            full = len(self._waiting) >= self.size
        if full:
            self.close()

    def flush(self) -> None:
        """Write every waiting record (one statement); a StoreError if the store cannot be written, and then the
        records are still waiting (a later flush tries again)."""
        with self._lock:
            waiting, self._waiting = self._waiting, []
        try:
            record_fetches(self.store, waiting)
        except BaseException:
            with self._lock:
                self._waiting[:0] = waiting
            raise

    def close(self) -> bool:
        """Flush, logging a failure instead of raising it (the run's results stand; the boards whose records
        could not be written are fetched again a little sooner); whether everything was written."""
        try:
            self.flush()
        except TrackerError as exc:
            logger.warning("could not record %d unchanged fetch(es): %s; those boards will be fetched again "
                           "sooner", len(self._waiting), exc)
            return False
        return True
