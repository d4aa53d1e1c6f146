"""Service providers (carrier accounts) and their billing periods."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from amop_pipelines.db.base import Base, UtcDateTime, utcnow


class ServiceProvider(Base):
    """One carrier account. Its billing cycle and time zone drive the optimization window."""

    __tablename__ = "service_provider"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    integration: Mapped[str] = mapped_column(String(20))  # "jasper" | "thingspace"
    account_name: Mapped[str] = mapped_column(String(100))
    base_url: Mapped[str | None] = mapped_column(String(500))
    billing_cycle_end_day: Mapped[int] = mapped_column(Integer)  # 1..31, clamped to month length
    billing_cycle_end_hour: Mapped[int] = mapped_column(Integer, default=0)
    time_zone: Mapped[str] = mapped_column(String(64))  # IANA name
    optimization_start_hour: Mapped[int] = mapped_column(Integer, default=0)
    rate_limit_per_second: Mapped[int] = mapped_column(Integer, default=5)
    auto_update_rate_plans: Mapped[bool] = mapped_column(Boolean, default=False)
    # the carrier changes a SIM's identifiers only while it is suspended (a contract setting)
    suspend_for_identifier_change: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_device_sync_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class BillingPeriod(Base):
    """A provider's billing period; `billing_month` is the month in which the period ends."""

    __tablename__ = "billing_period"
    __table_args__ = (UniqueConstraint("service_provider_id", "billing_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_provider_id: Mapped[int] = mapped_column(
        ForeignKey("service_provider.id", ondelete="CASCADE"), index=True
    )
    billing_month: Mapped[str] = mapped_column(String(7))  # "YYYY-MM"
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    time_zone: Mapped[str] = mapped_column(String(64))
