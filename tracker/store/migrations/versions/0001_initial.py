"""The schema tracker 0.1.0 created with create_all: board, snapshot, fetch, event, delivery, state.

Revision ID: 0001
Revises: none
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the 0.1.0 tables and indexes."""
    op.create_table(
        "board",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False))
    op.create_table(
        "snapshot",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("board_id", sa.String(100), sa.ForeignKey("board.id"), nullable=False),
        sa.Column("observed_at", TS, nullable=False),
        sa.Column("stored_at", TS, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("raw_sha", sa.String(64)),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("leader_key", sa.Text()),
        sa.Column("leader_model", sa.Text()),
        sa.Column("leader_value", sa.Float()),
        sa.Column("backfilled", sa.Boolean(), nullable=False),
        sa.Column("rows_blob", sa.LargeBinary(), nullable=False))
    op.create_index("ix_snapshot_board", "snapshot", ["board_id", "id"])
    op.create_index("ix_snapshot_board_observed", "snapshot", ["board_id", "observed_at"])
    op.create_table(
        "fetch",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("board_id", sa.String(100), sa.ForeignKey("board.id"), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("http_status", sa.Integer()),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("raw_sha", sa.String(64)),
        sa.Column("parse_hash", sa.String(32)),
        sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id")),
        sa.Column("warnings", sa.Text()),
        sa.Column("etag", sa.Text()),
        sa.Column("last_modified", sa.Text()),
        sa.Column("ref", sa.String(300)))
    op.create_index("ix_fetch_board", "fetch", ["board_id", "id"])
    op.create_index("ix_fetch_ref", "fetch", ["board_id", "ref"])
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("board_id", sa.String(100), sa.ForeignKey("board.id"), nullable=False),
        sa.Column("type", sa.String(30), nullable=False),
        sa.Column("observed_at", TS, nullable=False),
        sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id")),
        sa.Column("fetch_id", sa.Integer(), sa.ForeignKey("fetch.id")),
        sa.Column("model", sa.Text()),
        sa.Column("key", sa.Text()),
        sa.Column("metric", sa.String(200)),
        sa.Column("value", sa.Float()),
        sa.Column("previous_model", sa.Text()),
        sa.Column("previous_value", sa.Float()),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("backfilled", sa.Boolean(), nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False))
    op.create_index("ix_event_board", "event", ["board_id", "id"])
    op.create_index("ix_event_type", "event", ["type", "id"])
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("event.id"), nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("target_key", sa.String(64), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS),
        sa.UniqueConstraint("event_id", "rule", "target_key", name="uq_delivery"))
    op.create_index("ix_delivery_status", "delivery", ["status", "next_attempt_at"])
    op.create_table(
        "state",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False))


def downgrade() -> None:
    """Drop every table."""
    for name in ("state", "delivery", "event", "fetch", "snapshot", "board"):
        op.drop_table(name)
