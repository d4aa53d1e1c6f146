"""How far a paged device sync got: the page to read next and the `modifiedSince` it started
from, so that a sync that was killed or split continues instead of starting over."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from amop_pipelines.db.base import Base, UtcDateTime, utcnow


class SyncProgress(Base):
    __tablename__ = "sync_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_provider_id: Mapped[int] = mapped_column(
        ForeignKey("service_provider.id", ondelete="CASCADE"), unique=True
    )
    modified_since: Mapped[datetime] = mapped_column(UtcDateTime)
    next_page: Mapped[int] = mapped_column(Integer)
    pages_done: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
