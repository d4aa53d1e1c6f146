"""account mail: who hears about one carrier account's optimizations, alerts and Go / No Go

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_provider") as table:
        table.add_column(sa.Column("mail_to", sa.String(1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_provider") as table:
        table.drop_column("mail_to")
