"""Customers (the seeds' RevCustomer), their sites, customer rate plans and rate pools."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from amop_pipelines.db.base import Base, Megabytes, Money


class Customer(Base):
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Site(Base):
    __tablename__ = "site"
    __table_args__ = (UniqueConstraint("customer_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class CustomerRatePlan(Base):
    """What the operator bills its customer, independent of the carrier's plan."""

    __tablename__ = "customer_rate_plan"
    __table_args__ = (UniqueConstraint("customer_id", "plan_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    plan_code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    monthly_charge: Mapped[Decimal] = mapped_column(Money)
    allowance_mb: Mapped[Decimal] = mapped_column(Megabytes)
    overage_rate: Mapped[Decimal] = mapped_column(Money)
    overage_unit_mb: Mapped[Decimal] = mapped_column(Megabytes)
    sms_rate: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    is_pooled: Mapped[bool] = mapped_column(Boolean, default=False)


class CustomerRatePool(Base):
    """A customer-level pool: devices in it share the allowance of their customer rate plan."""

    __tablename__ = "customer_rate_pool"
    __table_args__ = (UniqueConstraint("customer_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    customer_rate_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_rate_plan.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
