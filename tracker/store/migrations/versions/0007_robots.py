"""robots.txt kept between runs: `tracker run` from cron reads each host's robots.txt once a day, not once a run.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add robots_txt: an origin's robots.txt as read (NULL: it has none, everything is allowed) and when."""
    op.create_table(
        "robots_txt",
        sa.Column("origin", sa.String(300), primary_key=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text()),
    )


def downgrade() -> None:
    """Remove it again."""
    op.drop_table("robots_txt")
