"""Service providers (carrier accounts) and their billing periods."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from amop_pipelines.db.base import Base, UtcDateTime, utcnow


class ServiceProvider(Base):
    """One carrier account. Its billing cycle and time zone drive the optimization window."""

    __tablename__ = "service_provider"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    integration: Mapped[str] = mapped_column(String(20))  # a name in `carriers.registry`
    account_name: Mapped[str] = mapped_column(String(100))
    base_url: Mapped[str | None] = mapped_column(String(500))
    billing_cycle_end_day: Mapped[int] = mapped_column(Integer)  # 1..31, clamped to month length
    billing_cycle_end_hour: Mapped[int] = mapped_column(Integer, default=0)
    time_zone: Mapped[str] = mapped_column(String(64))  # IANA name
    optimization_start_hour: Mapped[int] = mapped_column(Integer, default=0)
    rate_limit_per_second: Mapped[int] = mapped_column(Integer, default=5)
    auto_update_rate_plans: Mapped[bool] = mapped_column(Boolean, default=False)
    # settings of the carrier's API that differ per account (its adapter says which it takes)
    carrier_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    mail_to: Mapped[str | None] = mapped_column(String(1000))  # the account's recipients (comma-separated)
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")  # ISO 4217
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
    # when usage read after the period closed was stored: the month's final usage, which the
    # realized savings are priced on
    final_usage_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
