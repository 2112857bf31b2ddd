"""SQL views for Datasette and any SQL client: `leaders` (the leader timeline), `records` (the record
progression) and `latest_rows` (every board's newest rows), plus the `latest_row` table behind the last one.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# One row per reign: consecutive snapshots (in storage order) with the same leader key, as `tracker history` shows.
LEADERS = """
CREATE VIEW leaders AS
WITH marked AS (
  SELECT board_id, id, observed_at, leader_key,
         CASE WHEN leader_key = LAG(leader_key) OVER (PARTITION BY board_id ORDER BY id) THEN 0 ELSE 1 END AS starts
  FROM snapshot WHERE leader_key IS NOT NULL),
numbered AS (
  SELECT board_id, id, observed_at,
         SUM(starts) OVER (PARTITION BY board_id ORDER BY id ROWS UNBOUNDED PRECEDING) AS reign
  FROM marked),
reigns AS (
  SELECT board_id, reign, MIN(id) AS first_snapshot_id, MAX(id) AS last_snapshot_id, MIN(observed_at) AS since
  FROM numbered GROUP BY board_id, reign)
SELECT r.board_id, r.reign, f.leader_model AS model, f.leader_key AS key, l.leader_value AS value, r.since,
       LEAD(r.since) OVER (PARTITION BY r.board_id ORDER BY r.reign) AS until,
       r.first_snapshot_id, r.last_snapshot_id
FROM reigns r JOIN snapshot f ON f.id = r.first_snapshot_id JOIN snapshot l ON l.id = r.last_snapshot_id
"""

# The first snapshot's best value, then every new_sota event (as stored: observed time, names as recorded).
RECORDS = """
CREATE VIEW records AS
SELECT s.board_id, s.id AS snapshot_id, NULL AS event_id, s.observed_at, s.leader_model AS model,
       s.leader_value AS value, NULL AS previous_value, NULL AS margin, NULL AS published
FROM snapshot s
WHERE s.id = (SELECT MIN(x.id) FROM snapshot x WHERE x.board_id = s.board_id AND x.leader_value IS NOT NULL)
UNION ALL
SELECT e.board_id, e.snapshot_id, e.id, e.observed_at, e.model, e.value, e.previous_value, e.margin, e.published
FROM event e WHERE e.type = 'new_sota' AND e.value IS NOT NULL
"""

LATEST_ROWS = """
CREATE VIEW latest_rows AS
SELECT r.board_id, r.snapshot_id, s.observed_at, r.position, r.model, r.key, r.leader, r.fields, r.numbers
FROM latest_row r JOIN snapshot s ON s.id = r.snapshot_id
"""

VIEWS = ("latest_rows", "records", "leaders")


def upgrade() -> None:
    """Create latest_row, fill it from every board's newest snapshot, and create the three views."""
    op.create_table(
        "latest_row",
        sa.Column("board_id", sa.String(100), sa.ForeignKey("board.id"), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id"), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("numbers", sa.Text(), nullable=False),
        sa.Column("leader", sa.Integer(), nullable=False),
    )
    _fill()
    conn = op.get_bind()
    for name in VIEWS:
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")  # a store emptied table by table may keep old views
    for sql in (LEADERS, RECORDS, LATEST_ROWS):
        conn.exec_driver_sql(sql)


def _fill() -> None:
    import json

    from tracker.store.codec import unpack_rows
    from tracker.store.latest import COLUMNS, latest_values

    conn = op.get_bind()
    newest = conn.execute(sa.text("SELECT id, board_id, leader_key, rows_blob FROM snapshot WHERE id IN "
                                  "(SELECT MAX(id) FROM snapshot GROUP BY board_id)"))
    table = sa.table("latest_row", *(sa.column(c) for c in COLUMNS))
    for sid, board, leader_key, blob in newest.all():
        values = latest_values(board, sid, unpack_rows(blob), json.loads(leader_key) if leader_key else None)
        if values:
            conn.execute(sa.insert(table), [dict(zip(COLUMNS, v, strict=True)) for v in values])


def downgrade() -> None:
    """Drop the views and the table."""
    conn = op.get_bind()
    for name in VIEWS:
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")
    op.drop_table("latest_row")
