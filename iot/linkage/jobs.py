"""The linkage's background work: settling door access when rent bills change (queued by a
change listener, so it runs after the payment commits, outside its transaction), an hourly
sweep for bills that fell overdue with the date, and a daily run that bills the previous
month's meter readings (adding only missing bills, so readings that arrive late in the
first days are still billed once)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.flows.services import FlowServices
from engine.jobs import JobContext, job_handler, periodic
from engine.records.changes import Action, on_change
from iot.linkage.access import RENT_BILLS, settle_access
from iot.linkage.bills import bill_month
from iot.linkage.meter_months import Month
from iot.registry import DEVICE_ENTITY

SETTLE_ACCESS = "iot.linkage.settle_access"
log = logging.getLogger("anju.iot.linkage")


@on_change
def rent_bills_changed(
    conn: sa.Connection, entity: CompiledEntity, ids: Sequence[int], action: Action
) -> None:
    """Queue a settlement of the leases whose rent bills were written, in the writer's
    transaction (it runs only if the write commits); all leases when the ids are unknown."""
    if entity.path != ".".join(RENT_BILLS) or entity.catalog is None:
        return
    runtime = FlowServices.of_catalog(entity.catalog).runtime
    if runtime is None or SETTLE_ACCESS not in runtime.jobs.handlers:
        return
    if entity.catalog.entity(*DEVICE_ENTITY) is None:
        return
    lease_ids: list[int] | None = None
    if ids and action != "delete":
        table = entity.table
        query = sa.select(table.c.contract).where(table.c.id.in_(ids)).distinct()
        lease_ids = sorted(conn.scalars(query))
    runtime.jobs.enqueue(SETTLE_ACCESS, {"lease_ids": lease_ids}, conn=conn)


@job_handler(SETTLE_ACCESS)
def settle_access_job(ctx: JobContext, *, lease_ids: list[int] | None = None) -> None:
    """Suspend or restore the door access of these leases (all, without ids)."""
    result = settle_access(ctx.runtime, ctx.runtime.require_catalog(), lease_ids)
    if result.suspended or result.restored:
        log.info("door access settled: %s", result.as_json())


@periodic("iot.linkage.arrears_sweep", seconds=3600)
def arrears_sweep(ctx: JobContext) -> None:
    """Every lease: bills fall overdue at midnight without anybody writing them."""
    settle_access_job(ctx)


@periodic("iot.linkage.utility_bills", seconds=86400)
def utility_bills(ctx: JobContext) -> None:
    """Bill the month before today's for every meter not billed for it yet."""
    runtime = ctx.runtime
    month = Month.before(ctx.now(), runtime.settings.timezone)
    log.info("utility bills: %s", bill_month(runtime, month).as_json())
