"""Hardening: the encoding each fetch was decoded with, and an explicit 'not yet queued for alerts' flag.

The alert outbox used to walk events by id from a cursor; on PostgreSQL with concurrent writers an event can
commit after one with a higher id and be skipped. Events now carry `alert_pending` until the outbox has queued
their deliveries. Existing events at or below the old cursor (or never alerted) are marked done.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add fetch.encoding and event.alert_pending (backfilled from the old cursor)."""
    # plain ADD COLUMN (SQLite does it in place; a batch copy would trip the foreign keys of `event`)
    op.add_column("fetch", sa.Column("encoding", sa.String(40)))
    op.add_column("event", sa.Column("alert_pending", sa.Boolean(), nullable=False, server_default=sa.false()))
    conn = op.get_bind()
    cursor = conn.execute(sa.text("SELECT value FROM state WHERE key = 'alerts.cursor'")).scalar()
    after = int(cursor) if cursor and str(cursor).isdigit() else 0
    conn.execute(sa.text("UPDATE event SET alert_pending = :t WHERE notify = :t AND id > :after"),
                 {"t": True, "after": after})
    conn.execute(sa.text("DELETE FROM state WHERE key = 'alerts.cursor'"))
    op.create_index("ix_event_alert_pending", "event", ["alert_pending", "id"])


def downgrade() -> None:
    """Remove the two columns (the cursor is not restored: every event counts as queued)."""
    op.drop_index("ix_event_alert_pending", "event")
    with op.batch_alter_table("event") as batch:
        batch.drop_column("alert_pending")
    with op.batch_alter_table("fetch") as batch:
        batch.drop_column("encoding")
