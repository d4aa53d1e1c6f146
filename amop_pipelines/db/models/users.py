"""The people who act in AMOP: names, roles, and the hash of each one's token (`identities.py`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from amop_pipelines.db.base import Base, UtcDateTime, utcnow


class AmopUser(Base):
    __tablename__ = "amop_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    roles: Mapped[str] = mapped_column(String(60))  # comma-separated: requester, approver, admin
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex of the token
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
