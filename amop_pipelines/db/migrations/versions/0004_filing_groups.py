"""filing groups: requests filed together (a Go run's batches of 250) report as one

A Go run files its plan changes as several requests of at most 250 devices; they share a
`filing_group`, and the summary mail goes once, when the last of them finishes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("change_request") as table:
        table.add_column(sa.Column("filing_group", sa.String(64), nullable=True))
        table.create_index("ix_change_request_filing_group", ["filing_group"])


def downgrade() -> None:
    with op.batch_alter_table("change_request") as table:
        table.drop_index("ix_change_request_filing_group")
        table.drop_column("filing_group")
