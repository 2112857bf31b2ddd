"""Context: the I/O a run needs (store, archive, fetcher), in a module light enough for the CLI to import before
it knows whether anything will be fetched or parsed. pipeline re-exports it as pipeline.Context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .fetch import Fetcher
    from .store import Archive, Store
    from .store.batch import FetchBatch


@dataclass
class Context:
    """The I/O a run needs, passed in so tests can swap it."""

    store: Store
    archive: Archive
    fetcher: Fetcher | None = None
    keep_failed: int = 20  # raw documents of failed fetches kept per board ([storage] keep_failed)
    batch: FetchBatch | None = None  # during a run over many boards: where unchanged boards' fetches wait
