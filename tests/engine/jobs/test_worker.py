"""`run.py worker` processes on both back-ends: a worker killed mid-job, a clean stop, and
several workers sharing one database (or one Redis) without running a job twice."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

import run
from engine.runtime import Runtime
from engine.settings import Settings
from tests.databases import started_runtime
from tests.engine.jobs import handlers
from tests.engine.jobs.handlers import effect_rows, effects
from tests.jobs import Backend, job_settings, wait_for, worker_process, worker_processes

WAIT = 20


def attempts_noted(marker: Path) -> list[tuple[int, int]]:
    """(attempt, worker process id) of each attempt the handler started."""
    if not marker.exists():
        return []
    lines = marker.read_text(encoding="utf-8").splitlines()
    return [(int(attempt), int(pid)) for attempt, pid in (line.split() for line in lines)]


def test_a_job_whose_worker_is_killed_runs_once_on_the_next_worker(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    marker = tmp_path / "attempts.txt"
    args = {"label": "exactly once", "marker": str(marker), "seconds": 60}

    with worker_processes(settings, 2) as workers:
        job_id = runtime.jobs.enqueue("slow_first_attempt", args)
        wait_for(lambda: len(attempts_noted(marker)) == 1, WAIT)  # between its two steps
        [(_, pid)] = attempts_noted(marker)
        [holder] = [w for w in workers if w.process.pid == pid]
        [other] = [w for w in workers if w is not holder]
        holder.kill()
        job = runtime.jobs.get(job_id)
        assert job is not None and (job.status, job.attempts) == ("running", 1)

        # the other worker takes the job once the killed worker's lease has expired
        wait_for(lambda: effect_rows(runtime.engine) != [], WAIT)
        assert runtime.jobs.wait_idle(WAIT)

    assert effect_rows(runtime.engine) == [("exactly once", 2)]
    assert attempts_noted(marker) == [(1, holder.process.pid), (2, other.process.pid)]
    job = runtime.jobs.get(job_id)
    assert job is not None
    assert (job.status, job.attempts) == ("done", 2)
    assert job.last_error is not None and job.last_error.startswith("LeaseExpired: worker ")


def test_a_worker_finishes_its_job_before_stopping_on_sigterm(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    marker = tmp_path / "attempts.txt"
    args = {"label": "finished", "marker": str(marker), "seconds": 1}
    job_id = runtime.jobs.enqueue("slow_first_attempt", args)

    with worker_process(settings) as worker:
        wait_for(lambda: len(attempts_noted(marker)) == 1, WAIT)
        assert worker.stop() == 0, worker.output()

    job = runtime.jobs.get(job_id)
    assert job is not None and (job.status, job.attempts) == ("done", 1)
    assert effect_rows(runtime.engine) == [("finished", 1)]


def test_two_worker_processes_run_each_job_once(runtime: Runtime, settings: Settings) -> None:
    for number in range(40):
        runtime.jobs.enqueue("record", {"label": f"job {number}"})

    with worker_processes(settings, 2):
        wait_for(lambda: len(effect_rows(runtime.engine)) >= 40, WAIT)
        assert runtime.jobs.wait_idle(WAIT)

    with runtime.engine.connect() as conn:
        runs = conn.execute(sa.select(effects.c.job_id, effects.c.attempt)).all()
    assert len(runs) == len({job_id for job_id, _ in runs}) == 40
    assert {attempt for _, attempt in runs} == {1}


def test_a_runtime_runs_its_job_threads_from_start_to_dispose(
    tmp_path: Path, database_url: str | None, jobs_backend: Backend
) -> None:
    settings = job_settings(
        tmp_path, database_url, jobs_backend, job_threads=True, job_modules=[handlers.MODULE]
    )
    expected = {"anju-job-scheduler"}  # RQ: the dispatcher; workers are `run.py worker`
    if jobs_backend.name == "inprocess":
        expected.add("anju-job-worker")

    with started_runtime(settings) as runtime:
        assert expected <= job_threads()
        if jobs_backend.name == "inprocess":
            handlers.create_tables(runtime.engine)
            runtime.jobs.enqueue("record", {"label": "threads"})
            wait_for(lambda: effect_rows(runtime.engine) == [("threads", 1)], WAIT)

    assert job_threads() == set()


def job_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("anju-job-")}


def test_a_worker_serves_only_the_queues_it_is_given(
    tmp_path: Path, database_url: str | None, jobs_backend: Backend
) -> None:
    settings = job_settings(
        tmp_path,
        database_url,
        jobs_backend,
        job_queues=["default", "reports"],
        job_modules=[handlers.MODULE],
    )
    with started_runtime(settings) as runtime:
        handlers.create_tables(runtime.engine)
        elsewhere = runtime.jobs.enqueue("record", {"label": "default queue"})
        runtime.jobs.enqueue("record", {"label": "reports queue"}, queue="reports")

        with worker_process(settings, queues=["reports"]):
            wait_for(lambda: effect_rows(runtime.engine) != [], WAIT)
            time.sleep(0.3)  # several polls: the default queue's job stays queued

        assert effect_rows(runtime.engine) == [("reports queue", 1)]
        job = runtime.jobs.get(elsewhere)
        assert job is not None and job.status == "queued"


def test_a_worker_refuses_a_queue_that_does_not_exist(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("ANJU_DATA_DIR", str(tmp_path / "var"))

    assert run.main(["worker", "--queues", "default,mail"]) == 1
    assert capsys.readouterr().err == (
        "error: unknown queues mail; ANJU_JOB_QUEUES has ['default']\n"
    )
    assert not (tmp_path / "var").exists()  # refused before touching the database
