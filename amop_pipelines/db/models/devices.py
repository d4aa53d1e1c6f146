"""Devices, their usage per billing period, and the staging tables a carrier sync fills."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from amop_pipelines.db.base import Base, Megabytes, UtcDateTime, utcnow


class Device(Base):
    __tablename__ = "device"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_provider_id: Mapped[int] = mapped_column(
        ForeignKey("service_provider.id", ondelete="CASCADE"), index=True
    )
    iccid: Mapped[str] = mapped_column(String(20), unique=True)
    imei: Mapped[str | None] = mapped_column(String(15), index=True)
    msisdn: Mapped[str | None] = mapped_column(String(20))
    imsi: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(32))
    communication_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("communication_plan.id", ondelete="SET NULL"), index=True
    )
    carrier_rate_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("carrier_rate_plan.id", ondelete="SET NULL"), index=True
    )
    optimization_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("optimization_group.id", ondelete="SET NULL")
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="SET NULL"), index=True
    )
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"))
    customer_rate_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_rate_plan.id", ondelete="SET NULL")
    )
    customer_rate_pool_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_rate_pool.id", ondelete="SET NULL")
    )
    customer_data_allocation_mb: Mapped[Decimal | None] = mapped_column(Megabytes)  # billed to the customer
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    carrier_updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    is_archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class DeviceUsage(Base):
    """Usage of one device in one billing period (cycle to date until the period closes)."""

    __tablename__ = "device_usage"
    __table_args__ = (UniqueConstraint("device_id", "billing_period_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
    billing_period_id: Mapped[int] = mapped_column(
        ForeignKey("billing_period.id", ondelete="CASCADE"), index=True
    )
    data_mb: Mapped[Decimal] = mapped_column(Megabytes, default=Decimal(0))
    sms_count: Mapped[int] = mapped_column(Integer, default=0)
    days_active: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class DeviceStaging(Base):
    """Raw device rows of one sync, cleared per provider before each sync."""

    __tablename__ = "device_staging"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_provider_id: Mapped[int] = mapped_column(
        ForeignKey("service_provider.id", ondelete="CASCADE"), index=True
    )
    iccid: Mapped[str] = mapped_column(String(32))
    imei: Mapped[str | None] = mapped_column(String(32))
    msisdn: Mapped[str | None] = mapped_column(String(32))
    imsi: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(32))
    rate_plan: Mapped[str | None] = mapped_column(String(100))
    communication_plan: Mapped[str | None] = mapped_column(String(100))
    customer: Mapped[str | None] = mapped_column(String(200))
    date_activated: Mapped[datetime | None] = mapped_column(UtcDateTime)
    date_updated: Mapped[datetime | None] = mapped_column(UtcDateTime)
    synced_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class UsageStaging(Base):
    """Raw cycle-to-date usage rows of one sync."""

    __tablename__ = "usage_staging"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_provider_id: Mapped[int] = mapped_column(
        ForeignKey("service_provider.id", ondelete="CASCADE"), index=True
    )
    billing_period_id: Mapped[int] = mapped_column(ForeignKey("billing_period.id", ondelete="CASCADE"))
    iccid: Mapped[str] = mapped_column(String(32))
    data_mb: Mapped[Decimal] = mapped_column(Megabytes)
    sms_count: Mapped[int] = mapped_column(Integer, default=0)
    synced_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # read after the period closed: the month's final usage
    period_closed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
