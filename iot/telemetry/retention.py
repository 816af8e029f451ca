"""Retention: raw telemetry older than its device type's `retention.raw`, hourly rollups
older than `retention.hourly` and daily ones older than `retention.daily` are deleted.

Deletes go in bounded chunks, each its own short transaction, so a purge of millions of
rows never holds the write lock long enough to stall ingest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog
from engine.database import write_transaction
from iot.registry import device_types
from iot.tables import device_states, rollups, telemetry
from iot.telemetry.presence import duration_of
from iot.telemetry.state import datetime_to_ms
from iot.telemetry.store import qualified_types

CHUNK = 5000  # rows deleted per transaction


@dataclass
class Purged:
    raw: int = 0
    hourly: int = 0
    daily: int = 0


def purge_expired(engine: sa.Engine, catalog: Catalog, now: datetime, chunk: int = CHUNK) -> Purged:
    """Delete what each device type no longer keeps; the rows deleted, by kind."""
    now_ms = datetime_to_ms(now)
    qualified = qualified_types(catalog)
    purged = Purged()
    for name, spec in device_types(catalog).items():
        devices = sa.select(device_states.c.device_id).where(
            device_states.c.device_type == qualified[name]
        )

        def before(text: str) -> int:
            return now_ms - int(duration_of(text).total_seconds() * 1000)

        raw = sa.select(telemetry.c.device_id, telemetry.c.field, telemetry.c.ts).where(
            telemetry.c.ts < before(spec.retention.raw), telemetry.c.device_id.in_(devices)
        )
        purged.raw += _in_chunks(engine, chunk, raw, telemetry)
        for period, text in (("h", spec.retention.hourly), ("d", spec.retention.daily)):
            old = sa.select(
                rollups.c.device_id, rollups.c.field, rollups.c.period, rollups.c.bucket
            ).where(
                rollups.c.period == period,
                rollups.c.bucket < before(text),
                rollups.c.device_id.in_(devices),
            )
            deleted = _in_chunks(engine, chunk, old, rollups)
            if period == "h":
                purged.hourly += deleted
            else:
                purged.daily += deleted
    return purged


def _in_chunks(engine: sa.Engine, chunk: int, victims: sa.Select[Any], table: sa.Table) -> int:
    """Delete the rows `victims` selects (by the table's primary key, in the key's order),
    `chunk` at a time, until none is left."""
    key = sa.tuple_(*table.primary_key.columns)
    total = 0
    while True:
        with write_transaction(engine) as conn:
            wanted = sa.select(*victims.limit(chunk).subquery().c)
            deleted = conn.execute(table.delete().where(key.in_(wanted))).rowcount
        total += deleted
        if deleted < chunk:
            return total
