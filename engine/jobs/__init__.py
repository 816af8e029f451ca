"""Background jobs: one interface (`runtime.jobs`), two back-ends (in-process threads, or RQ
on Redis), state in the `anju_job` table. See docs/jobs.md."""

from engine.jobs.context import JobContext, LeaseLost
from engine.jobs.registry import (
    BUILTIN_JOB_MODULES,
    JobHandler,
    job_handler,
    load_handlers,
    periodic,
)
from engine.jobs.service import Jobs, create_jobs
from engine.jobs.store import JobRecord
from engine.jobs.tables import DEAD, DONE, QUEUED, RUNNING, job_table

__all__ = [
    "BUILTIN_JOB_MODULES",
    "DEAD",
    "DONE",
    "QUEUED",
    "RUNNING",
    "JobContext",
    "JobHandler",
    "JobRecord",
    "Jobs",
    "LeaseLost",
    "create_jobs",
    "job_handler",
    "job_table",
    "load_handlers",
    "periodic",
]
