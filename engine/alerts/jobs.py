"""The alerts' background work: the periodic scan of due rules, and (by importing
`triggers`) the on-change check of written records. Listed in `BUILTIN_JOB_MODULES`."""

from __future__ import annotations

import logging

from engine.alerts import triggers  # noqa: F401  (registers the on-change listener)
from engine.alerts.schedule import scan_due
from engine.jobs import JobContext, periodic

SCAN_SECONDS = 60.0  # how often the scheduler looks for due rules, by the runtime clock
log = logging.getLogger("anju.alerts")


@periodic("alerts.scan_due", seconds=SCAN_SECONDS)
def scan_due_job(ctx: JobContext) -> None:
    """Scan the rules whose `every` or `cron` time has come."""
    for result in scan_due(ctx.runtime):
        log.info("alert rule %s.%s scanned: %s", result.app, result.rule, result.as_json())
