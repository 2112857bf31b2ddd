"""Worker pools (`tracker schedule --workers`): the worker table, board leases, the per-host gate shared by the
pool, the worker that made each fetch, and claims on alert deliveries.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add worker, lease and host_gate; fetch.worker; delivery.claimed_by and claimed_until."""
    op.create_table(
        "worker",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("heartbeat_at", TS, nullable=False),
        sa.Column("stopped_at", TS),
    )
    op.create_table(
        "lease",
        sa.Column("job", sa.String(200), primary_key=True),
        sa.Column("holder", sa.String(100)),
        sa.Column("expires_at", TS),
        sa.Column("claimed_at", TS),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("plan", sa.String(200)),
    )
    op.create_index("ix_lease_due", "lease", ["due_at"])
    op.create_table(
        "host_gate",
        sa.Column("host", sa.String(300), primary_key=True),
        sa.Column("last_at", TS),
        sa.Column("started_at", TS),
    )
    op.add_column("fetch", sa.Column("worker", sa.String(100)))
    op.create_index("ix_fetch_worker", "fetch", ["worker", "status"])
    op.add_column("delivery", sa.Column("claimed_by", sa.String(100)))
    op.add_column("delivery", sa.Column("claimed_until", TS))


def downgrade() -> None:
    """Remove them again."""
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
    op.drop_index("ix_fetch_worker", "fetch")
    with op.batch_alter_table("fetch") as batch:
        batch.drop_column("worker")
    op.drop_table("host_gate")
    op.drop_index("ix_lease_due", "lease")
    op.drop_table("lease")
    op.drop_table("worker")
