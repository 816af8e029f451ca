"""Telemetry's background work: taking silent devices offline, and deleting what retention
no longer keeps. Listed by the devices plugin (`anju_job_modules`); the offline sweep runs
every `ANJU_IOT_SWEEP_SECONDS`."""

from __future__ import annotations

import logging

from engine.database import write_transaction
from engine.jobs import JobContext, periodic
from iot.telemetry.presence import mark_offline
from iot.telemetry.retention import purge_expired

RETENTION_SECONDS = 3600.0
log = logging.getLogger("anju.iot")


@periodic("iot.telemetry.offline", seconds="iot_sweep_seconds")
def offline_job(ctx: JobContext) -> None:
    """Mark devices offline whose silence is longer than their type's heartbeat."""
    catalog = ctx.runtime.require_catalog()
    with write_transaction(ctx.runtime.engine) as conn:
        moved = mark_offline(conn, catalog, ctx.now())
    if moved:
        log.info("%d devices went offline", moved)


@periodic("iot.telemetry.retention", seconds=RETENTION_SECONDS)
def retention_job(ctx: JobContext) -> None:
    """Delete raw telemetry and rollups older than their device type keeps them."""
    purged = purge_expired(ctx.runtime.engine, ctx.runtime.require_catalog(), ctx.now())
    if purged.raw or purged.hourly or purged.daily:
        log.info(
            "telemetry retention: %d raw points, %d hourly and %d daily rollups deleted",
            purged.raw,
            purged.hourly,
            purged.daily,
        )
