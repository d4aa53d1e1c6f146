"""realized savings: a period's final usage is marked, and each closed month priced three ways

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

MONEY = sa.Numeric(14, 4)
MEGABYTES = sa.Numeric(18, 6)

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("usage_staging") as table:
        table.add_column(sa.Column("period_closed", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("billing_period") as table:
        table.add_column(sa.Column("final_usage_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "realized_savings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "billing_period_id",
            sa.Integer(),
            sa.ForeignKey("billing_period.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "session_id",
            sa.Integer(),
            sa.ForeignKey("optimization_session.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("devices_left_out", sa.Integer(), nullable=False),
        sa.Column("devices_changed", sa.Integer(), nullable=False),
        sa.Column("cost_before", MONEY, nullable=False),
        sa.Column("cost_actual", MONEY, nullable=False),
        sa.Column("cost_hindsight", MONEY, nullable=False),
        sa.Column("projected_mb", MEGABYTES, nullable=False),
        sa.Column("actual_mb", MEGABYTES, nullable=False),
        sa.Column("absolute_error_mb", MEGABYTES, nullable=False),
        sa.Column("final_usage_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("billing_period_id", name="uq_realized_savings_billing_period_id"),
    )
    op.create_table(
        "realized_savings_device",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "realized_id",
            sa.Integer(),
            sa.ForeignKey("realized_savings.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("device.id", ondelete="CASCADE"), nullable=False),
        sa.Column("plan_before", sa.String(100), nullable=False),
        sa.Column("plan_recommended", sa.String(100), nullable=False),
        sa.Column("plan_actual", sa.String(100), nullable=False),
        sa.Column("plan_hindsight", sa.String(100), nullable=False),
        sa.Column("projected_mb", MEGABYTES, nullable=False),
        sa.Column("actual_mb", MEGABYTES, nullable=False),
    )
    op.create_index("ix_realized_savings_device_realized_id", "realized_savings_device", ["realized_id"])


def downgrade() -> None:
    op.drop_index("ix_realized_savings_device_realized_id", "realized_savings_device")
    op.drop_table("realized_savings_device")
    op.drop_table("realized_savings")
    with op.batch_alter_table("billing_period") as table:
        table.drop_column("final_usage_at")
    with op.batch_alter_table("usage_staging") as table:
        table.drop_column("period_closed")
