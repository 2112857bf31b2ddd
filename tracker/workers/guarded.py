"""guarded(): while a block runs, the store checks a LeaseGuard before every write and records who wrote."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..store import Store
from ..store.leases import LeaseGuard, install


@contextmanager
def guarded(store: Store, guard: LeaseGuard, holder: str) -> Iterator[None]:
    """Check `guard` before every write through `store`, and put `holder` on its fetch rows, for the block."""
    store.worker = holder
    try:
        with install(store, guard):
            yield
    finally:
        store.worker = None
