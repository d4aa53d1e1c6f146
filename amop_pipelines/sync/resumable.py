"""A paged device sync that resumes: each page is staged and the page to read next recorded in one
transaction, so a sync that was killed, failed or stopped at its page limit continues from where
it stopped, with the `modifiedSince` it started from, instead of starting over.

A sync with no progress recorded starts afresh (the provider's staged devices cleared); once its
last page is staged, the progress is removed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, insert, select, update

from amop_pipelines.carriers.models import CarrierDevice
from amop_pipelines.db.models import DeviceStaging, SyncProgress
from amop_pipelines.sync.staging import staging_row

Pages = Callable[[datetime | None, int], Iterable[tuple[int, list[CarrierDevice], bool]]]


@dataclass(frozen=True)
class PagedStaging:
    complete: bool  # the last page is staged
    resumed_from: int | None  # the page this run started at, when it continued a sync
    pages_read: int  # by this run
    next_page: int | None  # where the next run continues (None when complete)
    rows: int  # staged in all, by every run of this sync
    duplicates_dropped: int


def _begin(engine: Engine, provider_id: int, modified_since: datetime | None) -> SyncProgress:
    with engine.begin() as connection:
        found = connection.execute(
            select(SyncProgress).where(SyncProgress.service_provider_id == provider_id)
        ).one_or_none()
        if found is not None:
            return found
        connection.execute(delete(DeviceStaging).where(DeviceStaging.service_provider_id == provider_id))
        now = datetime.now(UTC)
        connection.execute(
            insert(SyncProgress).values(
                service_provider_id=provider_id,
                modified_since=modified_since or datetime(2000, 1, 1, tzinfo=UTC),
                next_page=1,
                pages_done=0,
                rows=0,
                duplicates=0,
                started_at=now,
                updated_at=now,
            )
        )
        return connection.execute(
            select(SyncProgress).where(SyncProgress.service_provider_id == provider_id)
        ).one()


def stage_device_pages(
    engine: Engine,
    provider_id: int,
    pages: Pages,
    modified_since: datetime | None,
    max_pages: int | None = None,
) -> PagedStaging:
    """Stage the provider's devices page by page from `pages(modified_since, first_page)`, going on
    from the recorded progress if there is one; at most `max_pages` pages in this call."""
    progress = _begin(engine, provider_id, modified_since)
    first = progress.next_page
    resumed = first if progress.pages_done else None
    read, rows, duplicates = 0, progress.rows, progress.duplicates
    source: Iterator = iter(pages(progress.modified_since, first))
    for number, devices, last in source:
        now = datetime.now(UTC)
        with engine.begin() as connection:
            iccids = {d.iccid for d in devices}
            staged = set(
                connection.scalars(
                    select(DeviceStaging.iccid).where(
                        DeviceStaging.service_provider_id == provider_id, DeviceStaging.iccid.in_(iccids)
                    )
                )
            )
            fresh: dict[str, CarrierDevice] = {}
            for device in devices:
                if device.iccid in staged or device.iccid in fresh:
                    duplicates += 1
                else:
                    fresh[device.iccid] = device
            if fresh:
                connection.execute(
                    insert(DeviceStaging), [staging_row(provider_id, d, now) for d in fresh.values()]
                )
            rows += len(fresh)
            read += 1
            if last:
                connection.execute(
                    delete(SyncProgress).where(SyncProgress.service_provider_id == provider_id)
                )
            else:
                connection.execute(
                    update(SyncProgress)
                    .where(SyncProgress.service_provider_id == provider_id)
                    .values(
                        next_page=number + 1,
                        pages_done=SyncProgress.pages_done + 1,
                        rows=rows,
                        duplicates=duplicates,
                        updated_at=now,
                    )
                )
        if last:
            return PagedStaging(True, resumed, read, None, rows, duplicates)
        if max_pages is not None and read >= max_pages:
            close = getattr(source, "close", None)
            if close is not None:
                close()
            return PagedStaging(False, resumed, read, number + 1, rows, duplicates)
    return PagedStaging(True, resumed, read, None, rows, duplicates)  # a carrier with no pages at all
