"""Database errors in one line: the driver's first line (no SQL text, parameters or links), and the fix when
tracker knows it."""

from __future__ import annotations

import re

from sqlalchemy.engine import make_url


def describe(exc: BaseException) -> str:
    """A database error in one line: the driver's first line, without SQL text, parameters or links."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    line = text.splitlines()[0].strip() if text else type(exc).__name__
    line = re.sub(r"^\([\w.]+\)\s*", "", line)  # "(sqlite3.OperationalError) ..."
    line = re.split(r"\s*\[SQL: |\s*\(Background on this error at", line)[0]
    return line or type(exc).__name__


def fix(where: str, line: str) -> str | None:
    """What to do about a database error, when tracker knows: an SQLite file that cannot be opened or written."""
    low = line.lower()
    if not where.startswith("sqlite") or not any(s in low for s in (
            "readonly database", "read-only", "unable to open database file", "disk i/o error")):
        return None
    try:
        path = (make_url(where).database or where).removeprefix("file:")
    except Exception:
        path = where
    return f"check that {path} and its folder exist and are writable, or set [storage] url"


def error_text(what: str, where: str, exc: BaseException) -> str:
    """The one-line message of a database error while doing `what` on the store at `where`."""
    line = describe(exc)
    hint = fix(where, line)
    return f"database error while {what} ({where}): {line}" + (f"; {hint}" if hint else "")
