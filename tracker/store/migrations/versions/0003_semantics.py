"""Leader-change semantics: whether a leader change is significant (confidence intervals), its margin, the
leader row's published date, and whether a new record was backdated.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add event.significant, margin, published and backdated (older events: unknown, none, none, false)."""
    op.add_column("event", sa.Column("significant", sa.Boolean()))
    op.add_column("event", sa.Column("margin", sa.Float()))
    op.add_column("event", sa.Column("published", sa.String(40)))
    op.add_column("event", sa.Column("backdated", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    """Remove the three columns."""
    with op.batch_alter_table("event") as batch:
        for name in ("backdated", "published", "margin", "significant"):
            batch.drop_column(name)
