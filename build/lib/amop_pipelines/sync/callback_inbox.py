"""Callbacks as they reach the AMOP database: the receiver (`amop callbacks serve`) stores every
carrier callback raw; a client awaiting the answers to its requests (ThingSpace's bulk usage)
reads them here, as they come in, in the order they were stored."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import Engine, select

from amop_pipelines.db.models import CarrierCallback

POLL_SECONDS = 0.2
CHUNK = 500  # request ids per query


class StoredCallbacks:
    """A `CallbackInbox` over the `carrier_callback` table."""

    def __init__(self, engine: Engine, poll_seconds: float = POLL_SECONDS):
        self.engine = engine
        self.poll_seconds = poll_seconds

    def collect(
        self, request_ids: Collection[str], deadline: float, expected: int
    ) -> Iterator[dict[str, Any]]:
        ids, seen, last = list(request_ids), 0, 0
        while True:
            fresh = False
            with self.engine.connect() as connection:
                for first in range(0, len(ids), CHUNK):
                    rows = connection.execute(
                        select(CarrierCallback.id, CarrierCallback.payload)
                        .where(
                            CarrierCallback.carrier_request_id.in_(ids[first : first + CHUNK]),
                            CarrierCallback.id > last,
                        )
                        .order_by(CarrierCallback.id)
                    ).all()
                    for row_id, payload in rows:
                        fresh = True
                        last = max(last, row_id)
                        seen += 1
                        yield payload
            if seen >= expected or time.monotonic() >= deadline:
                return
            if not fresh:
                time.sleep(self.poll_seconds)
