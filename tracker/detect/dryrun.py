"""What ingesting a document would do, stored nowhere: parse, guards and diff exactly as `pipeline.ingest` runs them.

This is `tracker check`. It repeats ingest's decision steps (parse_document, guards.check, content_hash, judge with
record_of) and could move into pipeline.py, where ingest would call it before storing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .. import guards, pipeline
from ..config import BoardSpec
from ..errors import ParseError
from ..judge import judge, record_of
from ..models import Change, ChangeKind, Page, Row, Snapshot
from ..numbers import fmt
from ..store import Store
from ..timeutil import short

_MARKS = {ChangeKind.NEW_SOTA: "*", ChangeKind.LEADER_CHANGED: "!"}
_ORDER = ("new_sota", "leader_changed", "entry_added", "entry_removed", "score_changed")


@dataclass(frozen=True)
class DryRun:
    """The outcome a document would have: status baseline | changed | unchanged | quarantined, and why."""

    board: BoardSpec
    status: str
    rows: int = 0
    leader: Row | None = None
    warnings: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()
    head: Snapshot | None = None
    error: str | None = None

    @property
    def quarantined(self) -> bool:
        """True when the document would be recorded as a failure instead of becoming a snapshot."""
        return self.status == "quarantined"

    def lines(self) -> list[str]:
        """The report for the terminal: what would be stored, the leader, warnings, the diff's headline lines."""
        spec = self.board
        if self.quarantined:
            return [f"{spec.id}: would be quarantined: {(self.error or '').removeprefix(f'{spec.id}: ')}"]
        lead = (f"; leader {self.leader.model} ({fmt(self.leader.value(spec.metric))})" if self.leader
                else f"; no row has a {spec.metric} value")
        what = {"baseline": "would store a baseline snapshot",
                "changed": "would store a new snapshot",
                "unchanged": f"unchanged since snapshot #{self.head.id if self.head else '?'}"}[self.status]
        out = [f"{spec.id}: {what} ({self.rows} rows){lead}"]
        out += [f"warning: {w}" for w in self.warnings]
        if self.status == "changed" and self.head is not None:
            counts: dict[str, int] = {}
            for c in self.changes:
                counts[c.kind.value] = counts.get(c.kind.value, 0) + 1
            listed = sorted(counts.items(), key=lambda kv: _ORDER.index(kv[0]) if kv[0] in _ORDER else 9)
            out.append(f"against snapshot #{self.head.id} ({short(self.head.observed_at)}): "
                       + (", ".join(f"{n} {k}" for k, n in listed) or "no tracked change"))
            out += [f"{_MARKS[c.kind]} {c.message.split(': ', 1)[-1]}" for c in self.changes if c.kind in _MARKS]
        return out


def dry_run(spec: BoardSpec, page: Page, store: Store, *, force: bool = False) -> DryRun:
    """Parse, normalize, guard and diff `page` against the board's latest snapshot; write nothing anywhere."""
    head = store.latest(spec.id)
    last = store.last_good_fetch(spec.id)
    page = replace(page, hint_encoding=last.encoding if last is not None else None)
    try:
        rows, warnings, _ = pipeline.parse_document(page, spec)
        guards.check(spec, rows, head, force)
    except ParseError as exc:
        return DryRun(spec, "quarantined", head=head, error=spec.mask(str(exc)))
    digest, _ = pipeline.content_hash(rows)
    base = DryRun(spec, "baseline", len(rows), None, tuple(spec.mask(w) for w in warnings), head=head)
    if head is not None and head.content_hash == digest:
        lead = next((r for r in rows if r.key == head.leader_key), None) if head.leader_key else None
        return replace(base, status="unchanged", leader=lead)
    verdict = judge(spec, head.rows if head else None, head.leader_key if head else None, rows,
                    record_of(store, spec) if head else None)
    return replace(base, status="changed" if head else "baseline", leader=verdict.leader, changes=verdict.changes)
