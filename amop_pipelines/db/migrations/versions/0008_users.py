"""users: the people who act in AMOP, their roles and the hash of each one's token

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "amop_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("roles", sa.String(60), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_amop_user")),
        sa.UniqueConstraint("name", name=op.f("uq_amop_user_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_amop_user_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("amop_user")
