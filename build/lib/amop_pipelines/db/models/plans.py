"""Communication plans, carrier rate plans, and which rate plans each communication plan allows."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from amop_pipelines.db.base import Base, Megabytes, Money


class OptimizationGroup(Base):
    """Mobility devices may only take rate plans of their optimization group."""

    __tablename__ = "optimization_group"
    __table_args__ = (UniqueConstraint("service_provider_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_provider_id: Mapped[int] = mapped_column(
        ForeignKey("service_provider.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))


class CommunicationPlan(Base):
    __tablename__ = "communication_plan"
    __table_args__ = (UniqueConstraint("service_provider_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_provider_id: Mapped[int] = mapped_column(
        ForeignKey("service_provider.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    alias: Mapped[str | None] = mapped_column(String(100))


class CarrierRatePlan(Base):
    """A carrier's rate plan with the operator's prices. Valid for optimization only when priced
    (`is_priced`: the carrier sync adds plans it has not seen unpriced) and with overage rate
    and unit above zero."""

    __tablename__ = "carrier_rate_plan"
    __table_args__ = (UniqueConstraint("service_provider_id", "plan_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_provider_id: Mapped[int] = mapped_column(
        ForeignKey("service_provider.id", ondelete="CASCADE"), index=True
    )
    plan_code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    plan_type: Mapped[str] = mapped_column(String(10), default="M2M")  # "M2M" | "Mobility"
    monthly_charge: Mapped[Decimal] = mapped_column(Money)
    allowance_mb: Mapped[Decimal] = mapped_column(Megabytes)
    overage_rate: Mapped[Decimal] = mapped_column(Money)
    overage_unit_mb: Mapped[Decimal] = mapped_column(Megabytes)  # the seeds' DataPerOverageCharge
    sms_rate: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    is_pooled: Mapped[bool] = mapped_column(Boolean, default=False)
    is_priced: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    optimization_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("optimization_group.id", ondelete="SET NULL"), index=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class CommunicationPlanRatePlan(Base):
    """Which rate plans a communication plan allows."""

    __tablename__ = "communication_plan_rate_plan"

    communication_plan_id: Mapped[int] = mapped_column(
        ForeignKey("communication_plan.id", ondelete="CASCADE"), primary_key=True
    )
    carrier_rate_plan_id: Mapped[int] = mapped_column(
        ForeignKey("carrier_rate_plan.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
