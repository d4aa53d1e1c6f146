"""notification retries: what a failed mail needs to be sent again, and when to try

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification") as table:
        table.add_column(sa.Column("bcc", sa.Text(), nullable=True))
        table.add_column(sa.Column("attachments", sa.JSON(), nullable=True))
        table.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"))
        table.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        table.create_index("ix_notification_status", ["status"])


def downgrade() -> None:
    with op.batch_alter_table("notification") as table:
        table.drop_index("ix_notification_status")
        table.drop_column("next_attempt_at")
        table.drop_column("attempts")
        table.drop_column("attachments")
        table.drop_column("bcc")
