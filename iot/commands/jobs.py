"""The command jobs: publishing a queued command over MQTT, and the periodic sweep of
timeouts, retries and expiry (see `iot.commands.sweep`)."""

from __future__ import annotations

from engine.jobs import JobContext, job_handler, periodic
from iot.commands.dispatch import DISPATCH_JOB, send_over_mqtt
from iot.commands.sweep import sweep


@job_handler(DISPATCH_JOB)
def dispatch_command(ctx: JobContext, *, command_id: int) -> None:
    """Publish one queued command (queued when it was requested or approved)."""
    if ctx.runtime.settings.mqtt_url:
        send_over_mqtt(ctx.runtime, ctx.runtime.require_catalog(), [command_id])


@periodic("iot.commands.sweep", seconds="iot_sweep_seconds")
def sweep_commands(ctx: JobContext) -> None:
    sweep(ctx.runtime, ctx.runtime.require_catalog())
