"""The jobs interface on both back-ends: each test runs once in-process and once on RQ
(`conftest.py`), with real workers — the runtime's threads, or `run.py worker` processes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.clock import FixedClock
from engine.errors import Conflict, NotFound
from engine.jobs import JobContext, LeaseLost, job_table, store
from engine.jobs.leases import real_now
from engine.jobs.runner import backoff_seconds
from engine.runtime import Runtime
from tests.databases import started_runtime
from tests.engine.jobs import handlers, periodic_handlers
from tests.engine.jobs.handlers import effect_rows, effects, switches
from tests.jobs import Backend, job_settings, running_workers, wait_for

WAIT = 15  # seconds; generous for a loaded CI machine, reached only when something is wrong


def statuses(runtime: Runtime, name: str) -> list[str]:
    """The status of each job called `name` (schedulers add built-in periodic jobs too)."""
    with runtime.engine.connect() as conn:
        query = sa.select(job_table.c.status).where(job_table.c.name == name)
        return list(conn.execute(query.order_by(job_table.c.id)).scalars())


def wait_status(runtime: Runtime, job_id: int, status: str) -> None:
    def reached() -> bool:
        job = runtime.jobs.get(job_id)
        return job is not None and job.status == status

    wait_for(reached, WAIT)


def test_a_job_runs_and_its_effect_is_visible(runtime: Runtime) -> None:
    with running_workers(runtime):
        job_id = runtime.jobs.enqueue("record", {"label": "hello"})
        assert runtime.jobs.wait_idle(WAIT)

    assert effect_rows(runtime.engine) == [("hello", 1)]
    job = runtime.jobs.get(job_id)
    assert job is not None
    assert (job.status, job.attempts, job.last_error) == ("done", 1, None)


def test_a_handler_that_returns_without_complete_is_marked_done(runtime: Runtime) -> None:
    job_id = runtime.jobs.enqueue("quiet")

    assert runtime.jobs.run_pending() == 1

    job = runtime.jobs.get(job_id)
    assert job is not None and job.status == "done"
    assert runtime.jobs.stats() == {"queued": 0, "running": 0, "done": 1, "dead": 0}


def test_a_key_enqueues_one_job_however_often_it_is_given(runtime: Runtime) -> None:
    first = runtime.jobs.enqueue("record", {"label": "once"}, key="greeting:1")
    again = runtime.jobs.enqueue("record", {"label": "twice"}, key="greeting:1")
    runtime.jobs.run_pending()
    after_it_ran = runtime.jobs.enqueue("record", {"label": "thrice"}, key="greeting:1")

    assert first == again == after_it_ran
    assert effect_rows(runtime.engine) == [("once", 1)]
    assert statuses(runtime, "record") == ["done"]


def test_a_key_enqueued_in_two_transactions_makes_one_job(runtime: Runtime) -> None:
    with runtime.engine.begin() as conn:
        first = runtime.jobs.enqueue("quiet", key="k", conn=conn)
        again = runtime.jobs.enqueue("quiet", key="k", conn=conn)
    with runtime.engine.begin() as conn:
        later = runtime.jobs.enqueue("quiet", key="k", conn=conn)

    assert first == again == later
    assert sum(runtime.jobs.stats().values()) == 1


def test_a_job_enqueued_in_a_rolled_back_transaction_never_exists(runtime: Runtime) -> None:
    with pytest.raises(RuntimeError), runtime.engine.begin() as conn:
        runtime.jobs.enqueue("record", {"label": "rolled back"}, conn=conn)
        raise RuntimeError("the caller's work failed")

    assert sum(runtime.jobs.stats().values()) == 0


def test_a_job_enqueued_in_a_transaction_runs_only_after_the_commit(
    runtime: Runtime, jobs_backend: Backend
) -> None:
    with running_workers(runtime):
        with runtime.engine.begin() as conn:
            job_id = runtime.jobs.enqueue("record", {"label": "committed"}, conn=conn)
            _several_polls()
            assert effect_rows(runtime.engine) == []
            if jobs_backend.name == "rq":  # a periodic job may sit there; ours must not
                assert str(job_id) not in [
                    queued.rsplit("-", 2)[1] for queued in _redis_job_ids(runtime)
                ]
        wait_for(lambda: effect_rows(runtime.engine) == [("committed", 1)], WAIT)


def _redis_job_ids(runtime: Runtime) -> list[str]:
    from engine.jobs.rq_backend import RqJobs

    assert isinstance(runtime.jobs, RqJobs)
    return runtime.jobs.queues["default"].job_ids


def test_a_job_may_enqueue_another_in_its_own_transaction(runtime: Runtime) -> None:
    runtime.jobs.enqueue("record_then_enqueue", {"label": "first", "then": "second"})

    assert runtime.jobs.run_pending() == 2

    assert effect_rows(runtime.engine) == [("first", 1), ("second", 1)]


def test_a_failing_job_is_retried_with_backoff_until_it_succeeds(runtime: Runtime) -> None:
    with running_workers(runtime):
        job_id = runtime.jobs.enqueue("flaky", {"label": "finally", "failures": 2})
        wait_status(runtime, job_id, "done")

    assert effect_rows(runtime.engine) == [("try", 1), ("try", 2), ("try", 3), ("finally", 3)]
    with runtime.engine.connect() as conn:
        tries = conn.execute(sa.select(effects.c.at).where(effects.c.label == "try")).scalars()
        first, second, third = sorted(tries)
    assert second - first >= timedelta(seconds=backoff_seconds(runtime.settings, 1))
    assert third - second >= timedelta(seconds=backoff_seconds(runtime.settings, 2))
    job = runtime.jobs.get(job_id)
    assert job is not None
    assert (job.attempts, job.last_error) == (3, "RuntimeError: attempt 2 fails on purpose")


def test_the_backoff_doubles_on_the_runtime_clock(runtime: Runtime) -> None:
    clock = runtime.clock = FixedClock(datetime(2030, 3, 1, 9, 0, tzinfo=UTC))
    job_id = runtime.jobs.enqueue("flaky", {"label": "done", "failures": 2})

    for attempt in (1, 2):
        assert runtime.jobs.run_pending() == 1
        job = runtime.jobs.get(job_id)
        wait = timedelta(seconds=backoff_seconds(runtime.settings, attempt))
        assert job is not None and (job.status, job.run_at) == ("queued", clock.now() + wait)
        assert runtime.jobs.run_pending() == 0
        clock.advance(seconds=wait.total_seconds())
    assert runtime.jobs.run_pending() == 1

    assert effect_rows(runtime.engine)[-1] == ("done", 3)


def test_after_its_last_attempt_a_job_is_a_dead_letter_until_retried(runtime: Runtime) -> None:
    with running_workers(runtime):
        job_id = runtime.jobs.enqueue(
            "needs_switch", {"label": "fixed", "switch": "power"}, max_attempts=2
        )
        wait_status(runtime, job_id, "dead")

        [dead] = runtime.jobs.dead_letters()
        assert (dead.id, dead.attempts, dead.last_error) == (
            job_id,
            2,
            "LookupError: switch power is off",
        )
        assert not hasattr(dead, "traceback")  # operators read it in the table, clients never
        with runtime.engine.connect() as conn:
            query = sa.select(job_table.c.traceback).where(job_table.c.id == job_id)
            stack = conn.execute(query).scalar_one()
        assert stack.startswith("Traceback") and "needs_switch" in stack

        with runtime.engine.begin() as conn:
            conn.execute(switches.insert().values(name="power"))

        runtime.jobs.retry(job_id)
        wait_status(runtime, job_id, "done")

    assert effect_rows(runtime.engine) == [("fixed", 1)]
    assert runtime.jobs.dead_letters() == []


def test_only_a_dead_job_can_be_retried(runtime: Runtime) -> None:
    job_id = runtime.jobs.enqueue("quiet")

    with pytest.raises(Conflict, match="is queued, not dead"):
        runtime.jobs.retry(job_id)
    with pytest.raises(NotFound):
        runtime.jobs.retry(job_id + 1000)


def test_a_job_due_later_waits_until_the_clock_passes_its_time(runtime: Runtime) -> None:
    # ahead of the real time, so that an RQ worker's own scheduler never finds it due first
    clock = runtime.clock = FixedClock(datetime.now(UTC) + timedelta(days=1))
    with running_workers(runtime):
        job_id = runtime.jobs.enqueue(
            "record", {"label": "later"}, run_at=clock.now() + timedelta(hours=1)
        )
        assert runtime.jobs.wait_idle(WAIT)  # nothing is due
        clock.advance(minutes=59)
        _several_polls()
        assert effect_rows(runtime.engine) == []

        clock.advance(minutes=2)
        wait_status(runtime, job_id, "done")

    assert effect_rows(runtime.engine) == [("later", 1)]


def _several_polls() -> None:
    """Long enough for the workers and schedulers to look several times (FAST_JOBS)."""
    time.sleep(0.3)


def test_a_periodic_job_runs_once_per_window_however_many_schedulers(
    tmp_path: Path, database_url: str | None, jobs_backend: Backend
) -> None:
    modules = [handlers.MODULE, periodic_handlers.MODULE]
    settings = job_settings(tmp_path, database_url, jobs_backend, job_modules=modules)
    clock = FixedClock(datetime(2030, 1, 1, 8, 0, 10, tzinfo=UTC))
    with started_runtime(settings) as first, started_runtime(settings) as second:
        handlers.create_tables(first.engine)
        first.clock = second.clock = clock
        for _window in range(2):
            for _pass in range(3):
                first.jobs.schedule()
                second.jobs.schedule()
            clock.advance(seconds=60)

        first.jobs.run_pending()
        assert effect_rows(first.engine) == [("tick", 1), ("tick", 1)]
        with first.engine.connect() as conn:
            mine = job_table.c.name == "every_minute"
            keys = conn.execute(sa.select(job_table.c.key).where(mine).order_by(job_table.c.id))
            window = int(datetime(2030, 1, 1, 8, 0, tzinfo=UTC).timestamp() // 60)
            assert list(keys.scalars()) == [f"every_minute:{window}", f"every_minute:{window + 1}"]


def test_a_worker_that_lost_its_lease_cannot_complete_the_job(runtime: Runtime) -> None:
    job_id = runtime.jobs.enqueue("record", {"label": "on time"})
    with runtime.engine.begin() as conn:  # a worker that claimed the job, then hung
        hung = store.claim(
            conn, job_id, "host:1:hung", lease_until=real_now(), now=runtime.clock.now()
        )
    assert hung is not None

    runtime.jobs.schedule()  # its lease has expired: the job is queued again
    job = runtime.jobs.get(job_id)
    assert job is not None and job.status == "queued"
    assert job.last_error == "LeaseExpired: worker host:1:hung stopped during the job"
    runtime.jobs.run_pending()
    late = JobContext(runtime, hung)
    with pytest.raises(LeaseLost), late.complete() as conn:
        conn.execute(effects.insert().values(job_id=job_id, label="late", attempt=1, at=late.now()))

    assert effect_rows(runtime.engine) == [("on time", 2)]


def test_jobs_enqueued_before_a_restart_run_after_it(
    tmp_path: Path, database_url: str | None, jobs_backend: Backend
) -> None:
    settings = job_settings(tmp_path, database_url, jobs_backend, job_modules=[handlers.MODULE])
    with started_runtime(settings) as before:
        handlers.create_tables(before.engine)
        before.jobs.enqueue("record", {"label": "queued"})
        before.jobs.enqueue(
            "record", {"label": "timer"}, run_at=before.clock.now() + timedelta(seconds=0.5)
        )
        with before.engine.begin() as conn:  # committed, then the process stops at once
            before.jobs.enqueue("record", {"label": "in a transaction"}, conn=conn)

    with started_runtime(settings) as after:
        with running_workers(after):
            wait_for(lambda: len(effect_rows(after.engine)) == 3, WAIT)

        assert sorted(effect_rows(after.engine)) == [
            ("in a transaction", 1),
            ("queued", 1),
            ("timer", 1),
        ]


def test_wait_idle_is_false_while_a_due_job_has_no_worker(runtime: Runtime) -> None:
    runtime.jobs.enqueue("quiet")

    assert runtime.jobs.wait_idle(0.1) is False


@pytest.mark.parametrize(
    ("name", "args", "options", "message"),
    [
        ("no_such_job", {}, {}, "no job handler 'no_such_job'"),
        ("quiet", {}, {"queue": "elsewhere"}, "no queue 'elsewhere'"),
        ("quiet", {"when": datetime(2030, 1, 1)}, {}, "arguments must be JSON"),
        ("quiet", {}, {"max_attempts": 0}, "max_attempts must be at least 1"),
    ],
)
def test_a_job_that_could_not_run_is_refused_when_enqueued(
    runtime: Runtime, name: str, args: dict[str, object], options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        runtime.jobs.enqueue(name, args, **options)  # type: ignore[arg-type]

    assert sum(runtime.jobs.stats().values()) == 0


def test_a_job_redis_lost_or_failed_to_start_is_pushed_again(
    tmp_path: Path, database_url: str | None, jobs_backend: Backend
) -> None:
    if jobs_backend.name != "rq":
        pytest.skip("only the rq back-end hands jobs to Redis")
    from rq.job import Job

    from engine.jobs.rq_backend import RqJobs, rq_job_id

    modules = [handlers.MODULE]
    settings = job_settings(
        tmp_path, database_url, jobs_backend, job_lease_seconds=0.3, job_modules=modules
    )
    with started_runtime(settings) as runtime:
        handlers.create_tables(runtime.engine)
        jobs = runtime.jobs
        assert isinstance(jobs, RqJobs)
        lost = jobs.enqueue("record", {"label": "lost"})
        failed = jobs.enqueue("record", {"label": "failed to start"})
        rq_keys = [
            Job.key_for(rq_job_id(jobs.namespace, store.Pending(job_id, 0, "default")))
            for job_id in (lost, failed)
        ]
        jobs.redis.delete(jobs.queues["default"].key, rq_keys[0])  # Redis restarted empty …
        jobs.redis.hset(rq_keys[1], "status", "failed")  # … or `perform` raised

        time.sleep(settings.job_lease_seconds)  # pushed over a lease ago and never claimed
        with running_workers(runtime):
            wait_for(lambda: len(effect_rows(runtime.engine)) == 2, WAIT)

        assert sorted(effect_rows(runtime.engine)) == [("failed to start", 1), ("lost", 1)]
