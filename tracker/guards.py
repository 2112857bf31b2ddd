"""Quarantine rules: a parsed document that looks broken is recorded as a failure instead of becoming data."""

from __future__ import annotations

from collections.abc import Sequence

from .config import BoardSpec
from .errors import ParseError
from .models import Row, Snapshot


def check(spec: BoardSpec, rows: Sequence[Row], head: Snapshot | None, force: bool) -> None:
    """Raise ParseError when the rows look broken: too few, a large drop, or exactly a lost tail (truncation)."""
    if len(rows) < spec.min_rows:
        raise ParseError(f"{spec.id}: {len(rows)} rows parsed, fewer than min_rows ({spec.min_rows}); the page may "
                         f"have changed shape; check the board's url and [board.fields]")
    if head is None or force:
        return
    previous = head.row_count or len(head.rows)
    if previous and len(rows) < (1 - spec.max_drop) * previous:
        raise ParseError(f"{spec.id}: {len(rows)} rows, down from {previous} (more than max_drop = {spec.max_drop:g} "
                         f"lost); quarantined. If the board really shrank, run again with --force or raise max_drop")
    lost = lost_tail(head.rows, rows)
    if lost:
        raise ParseError(f"{spec.id}: looks truncated: the last {lost} of {len(head.rows)} rows are gone and nothing "
                         f"else changed; quarantined. If the board really dropped them, run again with --force")


def lost_tail(before: Sequence[Row], after: Sequence[Row]) -> int:
    """How many rows `after` lost from the end of `before` (in source order) when that is all that changed, else 0.

    A download cut at a row boundary looks exactly like this: the first rows unchanged, the rest missing.
    """
    if not before or len(after) >= len(before):
        return 0
    ordered = sorted(before, key=lambda r: r.position)
    kept = ordered[:len(after)]
    if {r.key for r in kept} != {r.key for r in after}:
        return 0
    by_key = {r.key: r for r in kept}
    if any(by_key[r.key].values != r.values or by_key[r.key].fields != r.fields for r in after):
        return 0
    return len(before) - len(after)
