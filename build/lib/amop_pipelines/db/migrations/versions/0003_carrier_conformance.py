"""carrier conformance: unpriced rate plans, per-account carrier settings, no suspend-first

Prices are the operator's contract data (CARRIERS.md): a plan the carrier sync finds first is
stored unpriced (`is_priced` false) until a price book prices it; plans stored before this
revision were priced by their importer and stay priced. Settings that no source settles (a
ThingSpace account's MDN ZIP code and identifier service type) live per account in
`carrier_settings`. ThingSpace changes identifiers of active devices only, so the first edition's
suspend-before-identifier-change setting goes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("carrier_rate_plan") as table:
        table.add_column(sa.Column("is_priced", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("service_provider") as table:
        table.add_column(sa.Column("carrier_settings", sa.JSON(), nullable=True))
        table.drop_column("suspend_for_identifier_change")


def downgrade() -> None:
    with op.batch_alter_table("service_provider") as table:
        table.add_column(
            sa.Column(
                "suspend_for_identifier_change", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        table.drop_column("carrier_settings")
    with op.batch_alter_table("carrier_rate_plan") as table:
        table.drop_column("is_priced")
