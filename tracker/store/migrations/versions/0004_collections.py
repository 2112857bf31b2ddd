"""Collections: a board generated from a [[collection]] remembers the collection and what it was generated as.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add board.collection (the collection id; none for a [[board]]) and board.spec (the generated board as JSON)."""
    op.add_column("board", sa.Column("collection", sa.String(100)))
    op.add_column("board", sa.Column("spec", sa.Text()))


def downgrade() -> None:
    """Remove the two columns."""
    with op.batch_alter_table("board") as batch:
        batch.drop_column("spec")
        batch.drop_column("collection")
