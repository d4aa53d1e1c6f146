"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 16:49:43.269146
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_request_id"), ["request_id"], unique=False)

    op.create_table(
        "carrier_callback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("carrier_request_id", sa.String(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_callback")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_carrier_callback_dedupe_key")),
    )
    with op.batch_alter_table("carrier_callback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carrier_callback_carrier_request_id"),
            ["carrier_request_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_carrier_callback_processed_at"),
            ["processed_at"],
            unique=False,
        )

    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer")),
        sa.UniqueConstraint("external_id", name=op.f("uq_customer_external_id")),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("outbox_path", sa.String(length=1000), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    op.create_table(
        "service_provider",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("integration", sa.String(length=20), nullable=False),
        sa.Column("account_name", sa.String(length=100), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=True),
        sa.Column("billing_cycle_end_day", sa.Integer(), nullable=False),
        sa.Column("billing_cycle_end_hour", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("optimization_start_hour", sa.Integer(), nullable=False),
        sa.Column("rate_limit_per_second", sa.Integer(), nullable=False),
        sa.Column("auto_update_rate_plans", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("last_device_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_provider")),
        sa.UniqueConstraint("name", name=op.f("uq_service_provider_name")),
    )
    op.create_table(
        "billing_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_provider_id", sa.Integer(), nullable=False),
        sa.Column("billing_month", sa.String(length=7), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_provider_id"],
            ["service_provider.id"],
            name=op.f("fk_billing_period_service_provider_id_service_provider"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_period")),
        sa.UniqueConstraint(
            "service_provider_id",
            "billing_month",
            name=op.f("uq_billing_period_service_provider_id"),
        ),
    )
    with op.batch_alter_table("billing_period", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_period_service_provider_id"),
            ["service_provider_id"],
            unique=False,
        )

    op.create_table(
        "change_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("change_type", sa.String(length=40), nullable=False),
        sa.Column("service_provider_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("approvals_required", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=True),
        sa.Column("dagster_run_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_provider_id"],
            ["service_provider.id"],
            name=op.f("fk_change_request_service_provider_id_service_provider"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_request")),
        sa.UniqueConstraint("request_id", name=op.f("uq_change_request_request_id")),
    )
    with op.batch_alter_table("change_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_change_request_service_provider_id"),
            ["service_provider_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_change_request_state"), ["state"], unique=False)

    op.create_table(
        "communication_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_provider_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("alias", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_provider_id"],
            ["service_provider.id"],
            name=op.f("fk_communication_plan_service_provider_id_service_provider"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communication_plan")),
        sa.UniqueConstraint(
            "service_provider_id",
            "name",
            name=op.f("uq_communication_plan_service_provider_id"),
        ),
    )
    with op.batch_alter_table("communication_plan", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_communication_plan_service_provider_id"),
            ["service_provider_id"],
            unique=False,
        )

    op.create_table(
        "customer_rate_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("plan_code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("monthly_charge", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("allowance_mb", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("overage_rate", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("overage_unit_mb", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("sms_rate", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("is_pooled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_customer_rate_plan_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_rate_plan")),
        sa.UniqueConstraint("customer_id", "plan_code", name=op.f("uq_customer_rate_plan_customer_id")),
    )
    with op.batch_alter_table("customer_rate_plan", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_rate_plan_customer_id"),
            ["customer_id"],
            unique=False,
        )

    op.create_table(
        "device_staging",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_provider_id", sa.Integer(), nullable=False),
        sa.Column("iccid", sa.String(length=32), nullable=False),
        sa.Column("imei", sa.String(length=32), nullable=True),
        sa.Column("msisdn", sa.String(length=32), nullable=True),
        sa.Column("imsi", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("rate_plan", sa.String(length=100), nullable=True),
        sa.Column("communication_plan", sa.String(length=100), nullable=True),
        sa.Column("customer", sa.String(length=200), nullable=True),
        sa.Column("date_activated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("date_updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_provider_id"],
            ["service_provider.id"],
            name=op.f("fk_device_staging_service_provider_id_service_provider"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_staging")),
    )
    with op.batch_alter_table("device_staging", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_staging_service_provider_id"),
            ["service_provider_id"],
            unique=False,
        )

    op.create_table(
        "optimization_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_provider_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_provider_id"],
            ["service_provider.id"],
            name=op.f("fk_optimization_group_service_provider_id_service_provider"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optimization_group")),
        sa.UniqueConstraint(
            "service_provider_id",
            "name",
            name=op.f("uq_optimization_group_service_provider_id"),
        ),
    )
    with op.batch_alter_table("optimization_group", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_optimization_group_service_provider_id"),
            ["service_provider_id"],
            unique=False,
        )

    op.create_table(
        "site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_site_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
        sa.UniqueConstraint("customer_id", "name", name=op.f("uq_site_customer_id")),
    )
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "carrier_rate_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_provider_id", sa.Integer(), nullable=False),
        sa.Column("plan_code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("plan_type", sa.String(length=10), nullable=False),
        sa.Column("monthly_charge", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("allowance_mb", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("overage_rate", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("overage_unit_mb", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("sms_rate", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("is_pooled", sa.Boolean(), nullable=False),
        sa.Column("optimization_group_id", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["optimization_group_id"],
            ["optimization_group.id"],
            name=op.f("fk_carrier_rate_plan_optimization_group_id_optimization_group"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_provider_id"],
            ["service_provider.id"],
            name=op.f("fk_carrier_rate_plan_service_provider_id_service_provider"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_rate_plan")),
        sa.UniqueConstraint(
            "service_provider_id",
            "plan_code",
            name=op.f("uq_carrier_rate_plan_service_provider_id"),
        ),
    )
    with op.batch_alter_table("carrier_rate_plan", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carrier_rate_plan_optimization_group_id"),
            ["optimization_group_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_carrier_rate_plan_service_provider_id"),
            ["service_provider_id"],
            unique=False,
        )

    op.create_table(
        "change_approval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_request_id", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_request_id"],
            ["change_request.id"],
            name=op.f("fk_change_approval_change_request_id_change_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_approval")),
        sa.UniqueConstraint(
            "change_request_id",
            "approved_by",
            name=op.f("uq_change_approval_change_request_id"),
        ),
    )
    with op.batch_alter_table("change_approval", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_change_approval_change_request_id"),
            ["change_request_id"],
            unique=False,
        )

    op.create_table(
        "customer_rate_pool",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("customer_rate_plan_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_customer_rate_pool_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_rate_plan_id"],
            ["customer_rate_plan.id"],
            name=op.f("fk_customer_rate_pool_customer_rate_plan_id_customer_rate_plan"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_rate_pool")),
        sa.UniqueConstraint("customer_id", "name", name=op.f("uq_customer_rate_pool_customer_id")),
    )
    with op.batch_alter_table("customer_rate_pool", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_rate_pool_customer_id"),
            ["customer_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_customer_rate_pool_customer_rate_plan_id"),
            ["customer_rate_plan_id"],
            unique=False,
        )

    op.create_table(
        "optimization_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_guid", sa.String(length=36), nullable=False),
        sa.Column("service_provider_id", sa.Integer(), nullable=False),
        sa.Column("billing_period_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("dagster_run_id", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["billing_period_id"],
            ["billing_period.id"],
            name=op.f("fk_optimization_session_billing_period_id_billing_period"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_optimization_session_customer_id_customer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_provider_id"],
            ["service_provider.id"],
            name=op.f("fk_optimization_session_service_provider_id_service_provider"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optimization_session")),
        sa.UniqueConstraint("session_guid", name=op.f("uq_optimization_session_session_guid")),
    )
    with op.batch_alter_table("optimization_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_optimization_session_billing_period_id"),
            ["billing_period_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_optimization_session_dagster_run_id"),
            ["dagster_run_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_optimization_session_service_provider_id"),
            ["service_provider_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_optimization_session_status"), ["status"], unique=False)

    op.create_table(
        "usage_staging",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_provider_id", sa.Integer(), nullable=False),
        sa.Column("billing_period_id", sa.Integer(), nullable=False),
        sa.Column("iccid", sa.String(length=32), nullable=False),
        sa.Column("data_mb", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("sms_count", sa.Integer(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["billing_period_id"],
            ["billing_period.id"],
            name=op.f("fk_usage_staging_billing_period_id_billing_period"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_provider_id"],
            ["service_provider.id"],
            name=op.f("fk_usage_staging_service_provider_id_service_provider"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_staging")),
    )
    with op.batch_alter_table("usage_staging", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_usage_staging_service_provider_id"),
            ["service_provider_id"],
            unique=False,
        )

    op.create_table(
        "communication_plan_rate_plan",
        sa.Column("communication_plan_id", sa.Integer(), nullable=False),
        sa.Column("carrier_rate_plan_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["carrier_rate_plan_id"],
            ["carrier_rate_plan.id"],
            name=op.f("fk_communication_plan_rate_plan_carrier_rate_plan_id_carrier_rate_plan"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["communication_plan_id"],
            ["communication_plan.id"],
            name=op.f("fk_communication_plan_rate_plan_communication_plan_id_communication_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "communication_plan_id",
            "carrier_rate_plan_id",
            name=op.f("pk_communication_plan_rate_plan"),
        ),
    )
    with op.batch_alter_table("communication_plan_rate_plan", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_communication_plan_rate_plan_carrier_rate_plan_id"),
            ["carrier_rate_plan_id"],
            unique=False,
        )

    op.create_table(
        "device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_provider_id", sa.Integer(), nullable=False),
        sa.Column("iccid", sa.String(length=20), nullable=False),
        sa.Column("imei", sa.String(length=15), nullable=True),
        sa.Column("msisdn", sa.String(length=20), nullable=True),
        sa.Column("imsi", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("communication_plan_id", sa.Integer(), nullable=True),
        sa.Column("carrier_rate_plan_id", sa.Integer(), nullable=True),
        sa.Column("optimization_group_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("customer_rate_plan_id", sa.Integer(), nullable=True),
        sa.Column("customer_rate_pool_id", sa.Integer(), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("carrier_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["carrier_rate_plan_id"],
            ["carrier_rate_plan.id"],
            name=op.f("fk_device_carrier_rate_plan_id_carrier_rate_plan"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["communication_plan_id"],
            ["communication_plan.id"],
            name=op.f("fk_device_communication_plan_id_communication_plan"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_device_customer_id_customer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_rate_plan_id"],
            ["customer_rate_plan.id"],
            name=op.f("fk_device_customer_rate_plan_id_customer_rate_plan"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_rate_pool_id"],
            ["customer_rate_pool.id"],
            name=op.f("fk_device_customer_rate_pool_id_customer_rate_pool"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["optimization_group_id"],
            ["optimization_group.id"],
            name=op.f("fk_device_optimization_group_id_optimization_group"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_provider_id"],
            ["service_provider.id"],
            name=op.f("fk_device_service_provider_id_service_provider"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["site.id"],
            name=op.f("fk_device_site_id_site"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
        sa.UniqueConstraint("iccid", name=op.f("uq_device_iccid")),
    )
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_carrier_rate_plan_id"),
            ["carrier_rate_plan_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_device_communication_plan_id"),
            ["communication_plan_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_device_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_device_imei"), ["imei"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_device_service_provider_id"),
            ["service_provider_id"],
            unique=False,
        )

    op.create_table(
        "optimization_customer_processing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_optimization_customer_processing_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["optimization_session.id"],
            name=op.f("fk_optimization_customer_processing_session_id_optimization_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optimization_customer_processing")),
        sa.UniqueConstraint(
            "session_id",
            "customer_id",
            name=op.f("uq_optimization_customer_processing_session_id"),
        ),
    )
    with op.batch_alter_table("optimization_customer_processing", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_optimization_customer_processing_session_id"),
            ["session_id"],
            unique=False,
        )

    op.create_table(
        "optimization_instance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("plan_type", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("device_count", sa.Integer(), nullable=False),
        sa.Column("cost_before", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("cost_after", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("lower_bound", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["optimization_session.id"],
            name=op.f("fk_optimization_instance_session_id_optimization_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optimization_instance")),
    )
    with op.batch_alter_table("optimization_instance", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_optimization_instance_session_id"),
            ["session_id"],
            unique=False,
        )

    op.create_table(
        "billing_service",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("customer_rate_plan_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_billing_service_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_rate_plan_id"],
            ["customer_rate_plan.id"],
            name=op.f("fk_billing_service_customer_rate_plan_id_customer_rate_plan"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_billing_service_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["site.id"],
            name=op.f("fk_billing_service_site_id_site"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_service")),
    )
    with op.batch_alter_table("billing_service", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_billing_service_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_billing_service_device_id"), ["device_id"], unique=False)

    op.create_table(
        "change_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_request_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("iccid", sa.String(length=20), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("carrier_request_id", sa.String(length=64), nullable=True),
        sa.Column("previous_values", sa.JSON(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["change_request_id"],
            ["change_request.id"],
            name=op.f("fk_change_item_change_request_id_change_request"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_change_item_device_id_device"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_item")),
        sa.UniqueConstraint(
            "change_request_id",
            "row_number",
            name=op.f("uq_change_item_change_request_id"),
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_change_item_idempotency_key")),
    )
    with op.batch_alter_table("change_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_change_item_carrier_request_id"),
            ["carrier_request_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_change_item_change_request_id"),
            ["change_request_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_change_item_iccid"), ["iccid"], unique=False)
        batch_op.create_index(batch_op.f("ix_change_item_state"), ["state"], unique=False)

    op.create_table(
        "device_usage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("billing_period_id", sa.Integer(), nullable=False),
        sa.Column("data_mb", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("sms_count", sa.Integer(), nullable=False),
        sa.Column("days_active", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["billing_period_id"],
            ["billing_period.id"],
            name=op.f("fk_device_usage_billing_period_id_billing_period"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_device_usage_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_usage")),
        sa.UniqueConstraint("device_id", "billing_period_id", name=op.f("uq_device_usage_device_id")),
    )
    with op.batch_alter_table("device_usage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_usage_billing_period_id"),
            ["billing_period_id"],
            unique=False,
        )

    op.create_table(
        "optimization_comm_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("rate_plan_count", sa.Integer(), nullable=False),
        sa.Column("device_count", sa.Integer(), nullable=False),
        sa.Column("skipped_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["optimization_instance.id"],
            name=op.f("fk_optimization_comm_group_instance_id_optimization_instance"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optimization_comm_group")),
    )
    with op.batch_alter_table("optimization_comm_group", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_optimization_comm_group_instance_id"),
            ["instance_id"],
            unique=False,
        )

    op.create_table(
        "optimization_result_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["optimization_instance.id"],
            name=op.f("fk_optimization_result_file_instance_id_optimization_instance"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optimization_result_file")),
    )
    with op.batch_alter_table("optimization_result_file", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_optimization_result_file_instance_id"),
            ["instance_id"],
            unique=False,
        )

    op.create_table(
        "optimization_comm_group_comm_plan",
        sa.Column("comm_group_id", sa.Integer(), nullable=False),
        sa.Column("communication_plan_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["comm_group_id"],
            ["optimization_comm_group.id"],
            name=op.f("fk_optimization_comm_group_comm_plan_comm_group_id_optimization_comm_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["communication_plan_id"],
            ["communication_plan.id"],
            name=op.f("fk_optimization_comm_group_comm_plan_communication_plan_id_communication_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "comm_group_id",
            "communication_plan_id",
            name=op.f("pk_optimization_comm_group_comm_plan"),
        ),
    )
    op.create_table(
        "optimization_comm_group_rate_plan",
        sa.Column("comm_group_id", sa.Integer(), nullable=False),
        sa.Column("carrier_rate_plan_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["carrier_rate_plan_id"],
            ["carrier_rate_plan.id"],
            name=op.f("fk_optimization_comm_group_rate_plan_carrier_rate_plan_id_carrier_rate_plan"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["comm_group_id"],
            ["optimization_comm_group.id"],
            name=op.f("fk_optimization_comm_group_rate_plan_comm_group_id_optimization_comm_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "comm_group_id",
            "carrier_rate_plan_id",
            name=op.f("pk_optimization_comm_group_rate_plan"),
        ),
    )
    op.create_table(
        "optimization_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comm_group_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("strategy", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total_cost", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("is_winner", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["comm_group_id"],
            ["optimization_comm_group.id"],
            name=op.f("fk_optimization_queue_comm_group_id_optimization_comm_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optimization_queue")),
    )
    with op.batch_alter_table("optimization_queue", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_optimization_queue_comm_group_id"),
            ["comm_group_id"],
            unique=False,
        )

    op.create_table(
        "optimization_device_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("current_rate_plan_id", sa.Integer(), nullable=True),
        sa.Column("recommended_rate_plan_id", sa.Integer(), nullable=False),
        sa.Column("usage_mb", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("projected_usage_mb", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("sms_count", sa.Integer(), nullable=False),
        sa.Column("current_cost", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("recommended_cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["current_rate_plan_id"],
            ["carrier_rate_plan.id"],
            name=op.f("fk_optimization_device_result_current_rate_plan_id_carrier_rate_plan"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_optimization_device_result_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["optimization_queue.id"],
            name=op.f("fk_optimization_device_result_queue_id_optimization_queue"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recommended_rate_plan_id"],
            ["carrier_rate_plan.id"],
            name=op.f("fk_optimization_device_result_recommended_rate_plan_id_carrier_rate_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optimization_device_result")),
    )
    with op.batch_alter_table("optimization_device_result", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_optimization_device_result_device_id"),
            ["device_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_optimization_device_result_queue_id"),
            ["queue_id"],
            unique=False,
        )

    op.create_table(
        "optimization_mobility_device_result",
        sa.Column("optimization_group_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("current_rate_plan_id", sa.Integer(), nullable=True),
        sa.Column("recommended_rate_plan_id", sa.Integer(), nullable=False),
        sa.Column("usage_mb", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("projected_usage_mb", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("sms_count", sa.Integer(), nullable=False),
        sa.Column("current_cost", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("recommended_cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["current_rate_plan_id"],
            ["carrier_rate_plan.id"],
            name=op.f("fk_optimization_mobility_device_result_current_rate_plan_id_carrier_rate_plan"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_optimization_mobility_device_result_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["optimization_group_id"],
            ["optimization_group.id"],
            name=op.f("fk_optimization_mobility_device_result_optimization_group_id_optimization_group"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["optimization_queue.id"],
            name=op.f("fk_optimization_mobility_device_result_queue_id_optimization_queue"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recommended_rate_plan_id"],
            ["carrier_rate_plan.id"],
            name=op.f("fk_optimization_mobility_device_result_recommended_rate_plan_id_carrier_rate_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optimization_mobility_device_result")),
    )
    with op.batch_alter_table("optimization_mobility_device_result", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_optimization_mobility_device_result_device_id"),
            ["device_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_optimization_mobility_device_result_queue_id"),
            ["queue_id"],
            unique=False,
        )

    op.create_table(
        "optimization_queue_rate_plan",
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("sequence_order", sa.Integer(), nullable=False),
        sa.Column("carrier_rate_plan_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["carrier_rate_plan_id"],
            ["carrier_rate_plan.id"],
            name=op.f("fk_optimization_queue_rate_plan_carrier_rate_plan_id_carrier_rate_plan"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["optimization_queue.id"],
            name=op.f("fk_optimization_queue_rate_plan_queue_id_optimization_queue"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("queue_id", "sequence_order", name=op.f("pk_optimization_queue_rate_plan")),
    )
    op.create_table(
        "optimization_shared_pool_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("plan_type", sa.String(length=10), nullable=False),
        sa.Column("carrier_rate_plan_id", sa.Integer(), nullable=False),
        sa.Column("pool_key", sa.String(length=200), nullable=False),
        sa.Column("device_count", sa.Integer(), nullable=False),
        sa.Column("allowance_mb", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("usage_mb", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("overage_mb", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["carrier_rate_plan_id"],
            ["carrier_rate_plan.id"],
            name=op.f("fk_optimization_shared_pool_result_carrier_rate_plan_id_carrier_rate_plan"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["optimization_queue.id"],
            name=op.f("fk_optimization_shared_pool_result_queue_id_optimization_queue"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optimization_shared_pool_result")),
        sa.UniqueConstraint(
            "queue_id",
            "carrier_rate_plan_id",
            "pool_key",
            name=op.f("uq_optimization_shared_pool_result_queue_id"),
        ),
    )
    with op.batch_alter_table("optimization_shared_pool_result", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_optimization_shared_pool_result_queue_id"),
            ["queue_id"],
            unique=False,
        )


def downgrade() -> None:

    with op.batch_alter_table("optimization_shared_pool_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_optimization_shared_pool_result_queue_id"))

    op.drop_table("optimization_shared_pool_result")
    op.drop_table("optimization_queue_rate_plan")
    with op.batch_alter_table("optimization_mobility_device_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_optimization_mobility_device_result_queue_id"))
        batch_op.drop_index(batch_op.f("ix_optimization_mobility_device_result_device_id"))

    op.drop_table("optimization_mobility_device_result")
    with op.batch_alter_table("optimization_device_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_optimization_device_result_queue_id"))
        batch_op.drop_index(batch_op.f("ix_optimization_device_result_device_id"))

    op.drop_table("optimization_device_result")
    with op.batch_alter_table("optimization_queue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_optimization_queue_comm_group_id"))

    op.drop_table("optimization_queue")
    op.drop_table("optimization_comm_group_rate_plan")
    op.drop_table("optimization_comm_group_comm_plan")
    with op.batch_alter_table("optimization_result_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_optimization_result_file_instance_id"))

    op.drop_table("optimization_result_file")
    with op.batch_alter_table("optimization_comm_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_optimization_comm_group_instance_id"))

    op.drop_table("optimization_comm_group")
    with op.batch_alter_table("device_usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_usage_billing_period_id"))

    op.drop_table("device_usage")
    with op.batch_alter_table("change_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_item_state"))
        batch_op.drop_index(batch_op.f("ix_change_item_iccid"))
        batch_op.drop_index(batch_op.f("ix_change_item_change_request_id"))
        batch_op.drop_index(batch_op.f("ix_change_item_carrier_request_id"))

    op.drop_table("change_item")
    with op.batch_alter_table("billing_service", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_service_device_id"))
        batch_op.drop_index(batch_op.f("ix_billing_service_customer_id"))

    op.drop_table("billing_service")
    with op.batch_alter_table("optimization_instance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_optimization_instance_session_id"))

    op.drop_table("optimization_instance")
    with op.batch_alter_table("optimization_customer_processing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_optimization_customer_processing_session_id"))

    op.drop_table("optimization_customer_processing")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_service_provider_id"))
        batch_op.drop_index(batch_op.f("ix_device_imei"))
        batch_op.drop_index(batch_op.f("ix_device_customer_id"))
        batch_op.drop_index(batch_op.f("ix_device_communication_plan_id"))
        batch_op.drop_index(batch_op.f("ix_device_carrier_rate_plan_id"))

    op.drop_table("device")
    with op.batch_alter_table("communication_plan_rate_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_communication_plan_rate_plan_carrier_rate_plan_id"))

    op.drop_table("communication_plan_rate_plan")
    with op.batch_alter_table("usage_staging", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_staging_service_provider_id"))

    op.drop_table("usage_staging")
    with op.batch_alter_table("optimization_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_optimization_session_status"))
        batch_op.drop_index(batch_op.f("ix_optimization_session_service_provider_id"))
        batch_op.drop_index(batch_op.f("ix_optimization_session_dagster_run_id"))
        batch_op.drop_index(batch_op.f("ix_optimization_session_billing_period_id"))

    op.drop_table("optimization_session")
    with op.batch_alter_table("customer_rate_pool", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_rate_pool_customer_rate_plan_id"))
        batch_op.drop_index(batch_op.f("ix_customer_rate_pool_customer_id"))

    op.drop_table("customer_rate_pool")
    with op.batch_alter_table("change_approval", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_approval_change_request_id"))

    op.drop_table("change_approval")
    with op.batch_alter_table("carrier_rate_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carrier_rate_plan_service_provider_id"))
        batch_op.drop_index(batch_op.f("ix_carrier_rate_plan_optimization_group_id"))

    op.drop_table("carrier_rate_plan")
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_customer_id"))

    op.drop_table("site")
    with op.batch_alter_table("optimization_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_optimization_group_service_provider_id"))

    op.drop_table("optimization_group")
    with op.batch_alter_table("device_staging", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_staging_service_provider_id"))

    op.drop_table("device_staging")
    with op.batch_alter_table("customer_rate_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_rate_plan_customer_id"))

    op.drop_table("customer_rate_plan")
    with op.batch_alter_table("communication_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_communication_plan_service_provider_id"))

    op.drop_table("communication_plan")
    with op.batch_alter_table("change_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_request_state"))
        batch_op.drop_index(batch_op.f("ix_change_request_service_provider_id"))

    op.drop_table("change_request")
    with op.batch_alter_table("billing_period", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_period_service_provider_id"))

    op.drop_table("billing_period")
    op.drop_table("service_provider")
    op.drop_table("notification")
    op.drop_table("customer")
    with op.batch_alter_table("carrier_callback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carrier_callback_processed_at"))
        batch_op.drop_index(batch_op.f("ix_carrier_callback_carrier_request_id"))

    op.drop_table("carrier_callback")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_request_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
