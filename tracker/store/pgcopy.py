"""PostgreSQL bulk writes through COPY (psycopg 3), with ids taken from the table's sequence beforehand.

SQLAlchemy's insertmanyvalues sends a many-row INSERT ... VALUES ... RETURNING per 1,000 rows, and psycopg 3 scans
every such statement's text for its placeholders on the client: a 20,000-row changed import spent 3.5 of its 5.8 s
there. COPY sends the rows as data: nothing to scan, nothing for the server to plan. The ids a COPY cannot return
are drawn first, in one `nextval` query per chunk; the rows then carry them. Other sessions may draw ids of the
same sequence meanwhile, so a chunk's ids need not be consecutive, only increasing, which is all the store needs
(events are read back in id order).

Values are adapted by psycopg as for a query (text, numbers, booleans, None, aware datetimes); driver errors come
back as SQLAlchemy's DBAPIError, so the store's one error path (Store._run) reports them as it does any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError


def usable(conn: Connection) -> bool:
    """True on PostgreSQL through psycopg 3, whose cursors can COPY rows given as Python values."""
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


def new_ids(conn: Connection, table: str, count: int) -> list[int]:
    """`count` new ids of `table`'s id column, increasing, drawn from its sequence (never reused, never rolled
    back: a failed transaction leaves a gap, as a failed INSERT does)."""
    if count <= 0:
        return []
    rows = conn.exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence(%(t)s, 'id')) FROM generate_series(1, %(n)s)",
        {"t": table, "n": count}).scalars()
    return sorted(int(i) for i in rows)


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write `rows` (values in `columns` order) into `table` with one COPY, inside the connection's transaction;
    how many were written."""
    quote = conn.dialect.identifier_preparer.quote
    sql = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    dbapi = conn.dialect.loaded_dbapi
    count = 0
    try:
        cursor = conn.connection.cursor()
        try:
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        finally:
            cursor.close()
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, dbapi.Error, dialect=conn.dialect) from exc
    return count
