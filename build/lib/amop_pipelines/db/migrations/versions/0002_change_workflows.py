"""change workflows: multi-step items, execution rounds, customer data allocation

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_provider") as table:
        table.add_column(
            sa.Column(
                "suspend_for_identifier_change", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("change_request") as table:
        table.add_column(sa.Column("rounds", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("change_item") as table:
        table.add_column(sa.Column("steps", sa.JSON(), nullable=True))
    with op.batch_alter_table("device") as table:
        table.add_column(
            sa.Column("customer_data_allocation_mb", sa.Numeric(precision=18, scale=6), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("device") as table:
        table.drop_column("customer_data_allocation_mb")
    with op.batch_alter_table("change_item") as table:
        table.drop_column("steps")
    with op.batch_alter_table("change_request") as table:
        table.drop_column("rounds")
    with op.batch_alter_table("service_provider") as table:
        table.drop_column("suspend_for_identifier_change")
