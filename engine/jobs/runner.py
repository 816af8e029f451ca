"""Running one claimed job, the same way in both back-ends: call its handler, then record
success, a retry after an exponential backoff, or a dead letter."""

from __future__ import annotations

import logging
import traceback
from datetime import timedelta
from typing import TYPE_CHECKING

from engine.database import write_transaction
from engine.jobs import store
from engine.jobs.context import JobContext, LeaseLost
from engine.settings import Settings

if TYPE_CHECKING:
    from engine.jobs.service import Jobs

log = logging.getLogger("anju.jobs")
ERROR_LENGTH = 2000


def backoff_seconds(settings: Settings, attempt: int) -> float:
    """The wait before the next try after attempt `attempt` failed: base × 2^(attempt-1),
    capped; e.g. 10, 20, 40, 80 s with the defaults."""
    exponent = min(attempt - 1, 62)  # far beyond any cap; keeps the float finite
    return min(settings.job_backoff_seconds * 2**exponent, settings.job_backoff_max_seconds)


def error_text(exc: BaseException) -> str:
    """What the job's `last_error` shows: the exception's type and message, no stack."""
    message = str(exc)
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text[:ERROR_LENGTH]


def run_claimed(jobs: Jobs, claim: store.Claim) -> None:
    """Run a job this worker has claimed; its outcome is in the database afterwards."""
    ctx = JobContext(jobs.runtime, claim)
    jobs.leases.hold(claim.token)
    try:
        handler = jobs.handlers.get(claim.name)
        if handler is None:
            raise LookupError(
                f"no handler {claim.name!r} in this process; is its module in ANJU_JOB_MODULES?"
            )
        handler(ctx, **claim.args)
    except LeaseLost:
        log.warning("job %s (%s): lease lost; another worker runs it", claim.id, claim.name)
    except Exception as exc:
        if ctx.completed:
            log.exception("job %s (%s) failed after it completed", claim.id, claim.name)
        else:
            _record_failure(jobs, claim, exc)
    else:
        if not ctx.completed:
            with write_transaction(jobs.engine) as conn:
                if not store.mark_done(conn, claim, jobs.now()):
                    log.warning("job %s (%s) ran after its lease was lost", claim.id, claim.name)
    finally:
        jobs.leases.release(claim.token)


def _record_failure(jobs: Jobs, claim: store.Claim, exc: Exception) -> None:
    now = jobs.now()
    retry_at = None
    if claim.attempt < claim.max_attempts:
        retry_at = now + timedelta(seconds=backoff_seconds(jobs.settings, claim.attempt))
    error = error_text(exc)
    with write_transaction(jobs.engine) as conn:
        recorded = store.record_failure(
            conn, claim, error=error, traceback=traceback.format_exc(), now=now, retry_at=retry_at
        )
    if not recorded:
        log.warning("job %s (%s) failed after its lease was lost", claim.id, claim.name)
    elif retry_at is None:
        log.error(
            "job %s (%s) is dead after %s attempts: %s", claim.id, claim.name, claim.attempt, error
        )
    else:
        log.info("job %s (%s) attempt %s failed: %s", claim.id, claim.name, claim.attempt, error)
