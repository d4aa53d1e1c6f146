"""session device counts: each progress milestone records how many devices it covers

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("optimization_session") as table:
        table.add_column(sa.Column("devices", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("optimization_session") as table:
        table.drop_column("devices")
