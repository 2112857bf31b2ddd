"""Schema migrations with Alembic: a store is upgraded in place, under the writer lock, when it is behind.

A store made by tracker 0.1.0 (tables but no `alembic_version`) is stamped as revision 0001 first. A store at a
revision this tracker does not know (made by a newer tracker) is refused. The up-to-date case costs one query and
does not import Alembic.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from ..errors import StoreError
from .dberror import describe, error_text, fix
from .lock import store_lock

logger = logging.getLogger(__name__)
HEAD = "0007"  # the newest revision in migrations/versions (a test checks they agree)
SCRIPTS = Path(__file__).resolve().parent / "migrations"


def revision(conn: Connection) -> tuple[str | None, bool]:
    """The store's schema revision (None when unversioned) and whether it has any tracker tables."""
    names = set(inspect(conn).get_table_names())
    if "alembic_version" not in names:
        return None, "board" in names
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar(), True


def ensure(engine: Engine, where: str, wait: float) -> None:
    """Bring the store's schema to HEAD (creating it when empty), taking the writer lock only when needed."""
    try:
        with engine.connect() as conn:
            current, _ = revision(conn)
        if current == HEAD:
            return
        known = known_revisions()
        if current is not None and current not in known:
            raise StoreError(newer(where, current))
        with store_lock(engine, where, wait, "tracker (upgrading the store schema)"), engine.begin() as conn:
            current, has_tables = revision(conn)
            if current == HEAD:
                return
            if current is not None and current not in known:
                raise StoreError(newer(where, current))
            _upgrade(conn, stamp_first=current is None and has_tables)
            logger.info("upgraded the store schema of %s from %s to %s", where, current or "(none)", HEAD)
    except SQLAlchemyError as exc:
        line = describe(exc)
        raise StoreError(f"cannot prepare the database {where}: {line}; "
                         f"{fix(where, line) or 'check [storage] url or TRACKER_DATABASE_URL'}") from exc


def newer(where: str, current: str) -> str:
    """The message for a store made by a newer tracker."""
    return (f"the store {where} has schema revision {current}, newer than this tracker knows (up to {HEAD}); "
            f"upgrade tracker (pip install -U tracker), or point [storage] url at another database")


def known_revisions() -> set[str]:
    """Every revision id in migrations/versions."""
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory(str(SCRIPTS)).walk_revisions()}


def _upgrade(conn: Connection, *, stamp_first: bool) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = conn
    if stamp_first:
        command.stamp(cfg, "0001")
    command.upgrade(cfg, "head")


__all__ = ["HEAD", "SCRIPTS", "describe", "ensure", "error_text", "fix", "known_revisions", "newer", "revision"]
