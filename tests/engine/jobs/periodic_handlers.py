"""A periodic handler, loaded only by the test that schedules it (so no other test's
scheduler enqueues it)."""

from __future__ import annotations

from engine.jobs import JobContext, periodic
from tests.engine.jobs.handlers import effects

MODULE = __name__


@periodic("every_minute", seconds=60)
def every_minute(ctx: JobContext) -> None:
    with ctx.complete() as conn:
        conn.execute(
            effects.insert().values(
                job_id=ctx.job_id, label="tick", attempt=ctx.attempt, at=ctx.now()
            )
        )
