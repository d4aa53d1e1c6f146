"""sync progress: the page a paged device sync reads next, and the modifiedSince it started from

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_provider_id", sa.Integer(), nullable=False),
        sa.Column("modified_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_page", sa.Integer(), nullable=False),
        sa.Column("pages_done", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_provider_id"],
            ["service_provider.id"],
            name=op.f("fk_sync_progress_service_provider_id_service_provider"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_progress")),
        sa.UniqueConstraint("service_provider_id", name=op.f("uq_sync_progress_service_provider_id")),
    )


def downgrade() -> None:
    op.drop_table("sync_progress")
