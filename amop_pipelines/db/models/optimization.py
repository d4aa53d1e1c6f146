"""Optimization sessions and everything a session produces, as the seeds' tables do.

session -> instance (one per provider run or customer run) -> comm groups -> queues (one per rate
plan sequence and strategy, plus the exact method's run) -> device and shared pool results.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from amop_pipelines.db.base import Base, Megabytes, Money, UtcDateTime, utcnow


def _new_guid() -> str:
    return str(uuid.uuid4())


class OptimizationSession(Base):
    __tablename__ = "optimization_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_guid: Mapped[str] = mapped_column(String(36), unique=True, default=_new_guid)
    service_provider_id: Mapped[int] = mapped_column(
        ForeignKey("service_provider.id", ondelete="CASCADE"), index=True
    )
    billing_period_id: Mapped[int | None] = mapped_column(
        ForeignKey("billing_period.id", ondelete="SET NULL"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="initiated", index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    devices: Mapped[int | None] = mapped_column(Integer)  # how many the latest milestone covers
    dagster_run_id: Mapped[str | None] = mapped_column(String(64), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OptimizationInstance(Base):
    __tablename__ = "optimization_instance"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("optimization_session.id", ondelete="CASCADE"), index=True
    )
    plan_type: Mapped[str] = mapped_column(String(10), default="M2M")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    device_count: Mapped[int] = mapped_column(Integer, default=0)
    cost_before: Mapped[Decimal | None] = mapped_column(Money)
    cost_after: Mapped[Decimal | None] = mapped_column(Money)
    lower_bound: Mapped[Decimal | None] = mapped_column(Money)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OptimizationCommGroup(Base):
    """Communication plans that allow the same set of valid rate plans."""

    __tablename__ = "optimization_comm_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("optimization_instance.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    rate_plan_count: Mapped[int] = mapped_column(Integer)
    device_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_reason: Mapped[str | None] = mapped_column(Text)


class OptimizationCommGroupCommPlan(Base):
    __tablename__ = "optimization_comm_group_comm_plan"

    comm_group_id: Mapped[int] = mapped_column(
        ForeignKey("optimization_comm_group.id", ondelete="CASCADE"), primary_key=True
    )
    communication_plan_id: Mapped[int] = mapped_column(
        ForeignKey("communication_plan.id", ondelete="CASCADE"), primary_key=True
    )


class OptimizationCommGroupRatePlan(Base):
    __tablename__ = "optimization_comm_group_rate_plan"

    comm_group_id: Mapped[int] = mapped_column(
        ForeignKey("optimization_comm_group.id", ondelete="CASCADE"), primary_key=True
    )
    carrier_rate_plan_id: Mapped[int] = mapped_column(
        ForeignKey("carrier_rate_plan.id", ondelete="CASCADE"), primary_key=True
    )


class OptimizationQueue(Base):
    """One candidate solution of a comm group: a legacy sequence x strategy, or the exact run."""

    __tablename__ = "optimization_queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    comm_group_id: Mapped[int] = mapped_column(
        ForeignKey("optimization_comm_group.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[str] = mapped_column(String(20))  # "legacy" | "exact"
    strategy: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    total_cost: Mapped[Decimal | None] = mapped_column(Money)
    is_winner: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OptimizationQueueRatePlan(Base):
    """The rate plan sequence of a legacy queue, in fill order."""

    __tablename__ = "optimization_queue_rate_plan"

    queue_id: Mapped[int] = mapped_column(
        ForeignKey("optimization_queue.id", ondelete="CASCADE"), primary_key=True
    )
    sequence_order: Mapped[int] = mapped_column(Integer, primary_key=True)
    carrier_rate_plan_id: Mapped[int] = mapped_column(ForeignKey("carrier_rate_plan.id", ondelete="CASCADE"))


class _DeviceResultColumns:
    id: Mapped[int] = mapped_column(primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("optimization_queue.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    current_rate_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("carrier_rate_plan.id", ondelete="SET NULL")
    )
    recommended_rate_plan_id: Mapped[int] = mapped_column(
        ForeignKey("carrier_rate_plan.id", ondelete="CASCADE")
    )
    usage_mb: Mapped[Decimal] = mapped_column(Megabytes)
    projected_usage_mb: Mapped[Decimal | None] = mapped_column(Megabytes)
    sms_count: Mapped[int] = mapped_column(Integer, default=0)
    current_cost: Mapped[Decimal | None] = mapped_column(Money)
    recommended_cost: Mapped[Decimal] = mapped_column(Money)


class OptimizationDeviceResult(_DeviceResultColumns, Base):
    __tablename__ = "optimization_device_result"


class OptimizationMobilityDeviceResult(_DeviceResultColumns, Base):
    __tablename__ = "optimization_mobility_device_result"

    optimization_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("optimization_group.id", ondelete="SET NULL")
    )


class OptimizationSharedPoolResult(Base):
    """One pool of the winning assignment: (rate plan, pool key), M2M or Mobility."""

    __tablename__ = "optimization_shared_pool_result"
    __table_args__ = (UniqueConstraint("queue_id", "carrier_rate_plan_id", "pool_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("optimization_queue.id", ondelete="CASCADE"), index=True)
    plan_type: Mapped[str] = mapped_column(String(10), default="M2M")
    carrier_rate_plan_id: Mapped[int] = mapped_column(ForeignKey("carrier_rate_plan.id", ondelete="CASCADE"))
    pool_key: Mapped[str] = mapped_column(String(200), default="")
    device_count: Mapped[int] = mapped_column(Integer)
    allowance_mb: Mapped[Decimal] = mapped_column(Megabytes)
    usage_mb: Mapped[Decimal] = mapped_column(Megabytes)
    overage_mb: Mapped[Decimal] = mapped_column(Megabytes)
    cost: Mapped[Decimal] = mapped_column(Money)


class OptimizationResultFile(Base):
    """A generated workbook, kept on disk and named here."""

    __tablename__ = "optimization_result_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("optimization_instance.id", ondelete="CASCADE"), index=True
    )
    file_name: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(1000))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class OptimizationCustomerProcessing(Base):
    """Per-customer delivery of a session's results (report and notification)."""

    __tablename__ = "optimization_customer_processing"
    __table_args__ = (UniqueConstraint("session_id", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("optimization_session.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RealizedSavings(Base):
    """A closed month priced on its final usage three ways: on the plans before the optimization,
    on the plans the devices had (the recommendations as applied), and on the hindsight optimum."""

    __tablename__ = "realized_savings"
    __table_args__ = (UniqueConstraint("billing_period_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    billing_period_id: Mapped[int] = mapped_column(ForeignKey("billing_period.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(ForeignKey("optimization_session.id", ondelete="CASCADE"))
    devices: Mapped[int] = mapped_column(Integer)
    devices_left_out: Mapped[int] = mapped_column(Integer)  # not in both the optimization and the close
    devices_changed: Mapped[int] = mapped_column(Integer)  # on another plan at close than before
    cost_before: Mapped[Decimal] = mapped_column(Money)
    cost_actual: Mapped[Decimal] = mapped_column(Money)
    cost_hindsight: Mapped[Decimal] = mapped_column(Money)
    projected_mb: Mapped[Decimal] = mapped_column(Megabytes)
    actual_mb: Mapped[Decimal] = mapped_column(Megabytes)
    absolute_error_mb: Mapped[Decimal] = mapped_column(Megabytes)  # sum over devices of |projected - actual|
    final_usage_at: Mapped[datetime] = mapped_column(UtcDateTime)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RealizedSavingsDevice(Base):
    __tablename__ = "realized_savings_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    realized_id: Mapped[int] = mapped_column(
        ForeignKey("realized_savings.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
    plan_before: Mapped[str] = mapped_column(String(100))
    plan_recommended: Mapped[str] = mapped_column(String(100))
    plan_actual: Mapped[str] = mapped_column(String(100))
    plan_hindsight: Mapped[str] = mapped_column(String(100))
    projected_mb: Mapped[Decimal] = mapped_column(Megabytes)
    actual_mb: Mapped[Decimal] = mapped_column(Megabytes)
