"""Writing the site safely and incrementally: every file goes to a temporary name and is renamed into place (a
reader never sees half a file), and the manifest (.tracker-site.json) records what each board's pages were built
from, so a board with no new snapshot or event is not rewritten."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import BoardSpec
from ..errors import TrackerError


@functools.cache
def build_format() -> str:
    """The build format: a fingerprint of this package's code, so any template or shape change rebuilds every page."""
    h = hashlib.sha256(__version__.encode())
    for src in sorted(Path(__file__).resolve().parent.glob("*.py")):
        h.update(src.name.encode() + b"\0" + src.read_bytes())
    return h.hexdigest()[:16]


NAME = ".tracker-site.json"
BOARD_FILES = ("index.html", "feed.xml", "rows.csv", "rows.json", "history.json")


@dataclass
class Manifest:
    """What the last build wrote: the options it ran with and, per board, the store state its pages show."""

    options: dict[str, Any] = field(default_factory=dict)
    boards: dict[str, dict[str, Any]] = field(default_factory=dict)
    valid: bool = False  # built by this code with these options: its boards' files can be kept

    def fresh(self, board: str, built_from: dict[str, Any]) -> dict[str, Any] | None:
        """The board's stored summary when its pages were built from exactly this state, else None."""
        entry = self.boards.get(board) if self.valid else None
        if entry is None or {k: entry.get(k) for k in built_from} != built_from:
            return None
        summary: dict[str, Any] | None = entry.get("summary")
        return summary


def load(out: Path, options: dict[str, Any]) -> Manifest:
    """The manifest of the site in `out` (empty when missing or unreadable); one built by other code or with other
    options is not valid, so every board is rebuilt, but still names the boards whose files it wrote."""
    try:
        doc = json.loads((out / NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Manifest(options)
    if not isinstance(doc, dict):
        return Manifest(options)
    boards = doc.get("boards")
    valid = doc.get("format") == build_format() and doc.get("options") == options
    return Manifest(options, boards if isinstance(boards, dict) else {}, valid)


def save(out: Path, manifest: Manifest) -> None:
    """Write the manifest (last, after every page it describes)."""
    doc = {"format": build_format(), "options": manifest.options, "boards": manifest.boards}
    write(out / NAME, json.dumps(doc, separators=(",", ":")).encode())


def spec_hash(spec: BoardSpec) -> str:
    """A fingerprint of the board's configuration (title, fields, aliases...): a config edit rebuilds the board."""
    return hashlib.sha256(repr(spec).encode()).hexdigest()[:16]


def write(path: Path, data: bytes) -> None:
    """Write a file atomically: a temporary file in the same folder, then a rename over the old one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except FileNotFoundError:  # the folder is new (checking first would cost a system call per file)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise TrackerError(f"cannot write {path}: {exc.strerror or exc}; check that -o DIR is a writable "
                           f"folder") from exc


def remove_board(out: Path, board: str) -> None:
    """Remove the files a previous build wrote for a board that is no longer on the site."""
    if not board or "/" in board or "\\" in board or board.startswith("."):
        return  # not a name this code writes (a hand-edited manifest): touch nothing
    folder = out / "b" / board
    for name in BOARD_FILES:
        with contextlib.suppress(OSError):
            (folder / name).unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()
    with contextlib.suppress(OSError):
        (out / "api" / "b" / f"{board}.json").unlink()
