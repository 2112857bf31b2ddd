"""What a board's run returns (RunResult), and what ingest can be handed instead of parsing or reading itself
(Prepared rows of a shared document, the UNREAD marker); pipeline re-exports them."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ParseError
from .models import Event, Row


@dataclass(frozen=True)
class RunResult:
    """What one board's run did: status is baseline | changed | unchanged | failed."""

    board: str
    status: str
    snapshot_id: int | None = None
    rows: int = 0
    events: tuple[Event, ...] = ()
    error: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    detail: str | None = None  # a collection's document: what happened to its boards

    @property
    def failed(self) -> bool:
        """True when the board failed (fetch, parse or a guard)."""
        return self.status == "failed"

    def summary(self) -> str:
        """One line for the terminal."""
        if self.failed:
            error = (self.error or "").removeprefix(f"{self.board}: ")
            return f"{self.board}: FAILED {error}"
        if self.detail is not None:
            return f"{self.board}: {self.detail}"
        if self.status == "unchanged":
            return f"{self.board}: unchanged"
        if self.status == "baseline":
            return f"{self.board}: baseline snapshot #{self.snapshot_id} ({self.rows} rows)"
        counts: dict[str, int] = {}
        for e in self.events:
            counts[e.type.value] = counts.get(e.type.value, 0) + 1
        parts = ", ".join(f"{n} {t}" for t, n in counts.items()) or "no tracked change"
        return f"{self.board}: snapshot #{self.snapshot_id} ({self.rows} rows): {parts}"


@dataclass(frozen=True)
class Prepared:
    """One board's rows already parsed and normalized out of a document many boards share (a [[collection]]),
    whose raw digest is computed and raw bytes archived once; or the ParseError that board's part gave."""

    raw_sha: str
    rows: tuple[Row, ...] = ()
    warnings: tuple[str, ...] = ()
    encoding: str | None = None
    error: str | None = None

    def result(self) -> tuple[tuple[Row, ...], list[str], str | None]:
        """What parse_document would have returned, or its ParseError."""
        if self.error is not None:
            raise ParseError(self.error)
        return self.rows, list(self.warnings), self.encoding


class Unread:
    """The default of ingest's `last`: the caller has not read the board's last good fetch."""


UNREAD = Unread()
