"""The device rules' background work: the sweep of absence rules and the clock of scenes,
each once a minute by the runtime clock. Importing this module (as the job runner does)
also registers the reading listener (`iot.rules.evaluate`)."""

from __future__ import annotations

import logging

from engine.jobs import JobContext, periodic
from iot.rules import evaluate  # noqa: F401  (registers the reading listener)
from iot.rules.absence import sweep_absences
from iot.rules.scenes import run_due_scenes

SWEEP_SECONDS = 60.0
log = logging.getLogger("anju.iot.rules")


@periodic("iot.rules.absences", seconds=SWEEP_SECONDS)
def sweep_absences_job(ctx: JobContext) -> None:
    """Fire absence rules on the devices that fell silent."""
    fired = sweep_absences(ctx.runtime, ctx.runtime.require_catalog())
    if fired:
        log.info("absence rules fired %d times", len(fired))


@periodic("iot.rules.scenes", seconds=SWEEP_SECONDS)
def run_scenes_job(ctx: JobContext) -> None:
    """Run the scenes whose time has come."""
    for result in run_due_scenes(ctx.runtime, ctx.runtime.require_catalog()):
        log.info("scene %s ran: %s", result["rule"], result)
