"""account currency: the report shows money in the account's own currency

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 01:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_provider") as table:
        table.add_column(sa.Column("currency", sa.String(3), nullable=False, server_default="USD"))


def downgrade() -> None:
    with op.batch_alter_table("service_provider") as table:
        table.drop_column("currency")
