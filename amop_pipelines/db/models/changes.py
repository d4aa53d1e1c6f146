"""Bulk change requests, their items, approvals, carrier callbacks, and billing services."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from amop_pipelines.db.base import Base, UtcDateTime, utcnow


def _new_request_id() -> str:
    return uuid.uuid4().hex[:12]


class ChangeRequest(Base):
    __tablename__ = "change_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(32), unique=True, default=_new_request_id)
    change_type: Mapped[str] = mapped_column(String(40))
    service_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_provider.id", ondelete="SET NULL"), index=True
    )
    requested_by: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    approvals_required: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str | None] = mapped_column(String(500))
    # requests filed together (a Go run's batches) share a group and report as one
    filing_group: Mapped[str | None] = mapped_column(String(64), index=True)
    dagster_run_id: Mapped[str | None] = mapped_column(String(64))
    rounds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # runs started
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # changes/priorities.py
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ChangeApproval(Base):
    __tablename__ = "change_approval"
    __table_args__ = (UniqueConstraint("change_request_id", "approved_by"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    change_request_id: Mapped[int] = mapped_column(
        ForeignKey("change_request.id", ondelete="CASCADE"), index=True
    )
    approved_by: Mapped[str] = mapped_column(String(100))
    approved_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ChangeItem(Base):
    """One device of a request; every state change is committed before the next carrier call."""

    __tablename__ = "change_item"
    __table_args__ = (UniqueConstraint("change_request_id", "row_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    change_request_id: Mapped[int] = mapped_column(
        ForeignKey("change_request.id", ondelete="CASCADE"), index=True
    )
    row_number: Mapped[int] = mapped_column(Integer)
    iccid: Mapped[str] = mapped_column(String(20), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id", ondelete="SET NULL"))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    steps: Mapped[list[str] | None] = mapped_column(JSON)  # the walk planned at the first attempt
    step: Mapped[str | None] = mapped_column(String(40))  # where the walk is
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    carrier_request_id: Mapped[str | None] = mapped_column(String(64), index=True)
    previous_values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CarrierCallback(Base):
    """A callback as received; `dedupe_key` makes the carrier's repeated deliveries harmless."""

    __tablename__ = "carrier_callback"

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_request_id: Mapped[str] = mapped_column(String(64), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)


class BillingService(Base):
    """The billing record an Assign Customer change creates (the seeds' billing system call)."""

    __tablename__ = "billing_service"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"))
    customer_rate_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_rate_plan.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20), default="active")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
