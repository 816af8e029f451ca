"""Running background jobs in tests, on either back-end, against real databases and Redis.

    from tests.jobs import jobs_backend  # noqa: F401  (in a conftest: the parametrized fixture)

    def test_something(tmp_path, database_url, jobs_backend):
        settings = job_settings(tmp_path, database_url, jobs_backend, job_modules=["my.handlers"])
        with started_runtime(settings) as runtime, running_workers(runtime):
            runtime.jobs.enqueue("my_job", {"x": 1})
            assert runtime.jobs.wait_idle(10)

`jobs_backend` runs a test once on the in-process back-end and once on RQ; the RQ run is
skipped unless `ANJU_TEST_REDIS_URL` names a Redis, and gets a key namespace of its own,
deleted afterwards. `worker_process(settings)` starts `python run.py worker` with the
settings as `ANJU_*` variables and stops it (SIGTERM) when the block ends; `.kill()` ends it
mid-job (SIGKILL). `worker_processes(settings, n)` starts several side by side.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from engine.runtime import Runtime
from engine.settings import Settings
from tests.databases import estate_settings

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_URL = os.environ.get("ANJU_TEST_REDIS_URL")
NO_REDIS = "the rq back-end needs a Redis: set ANJU_TEST_REDIS_URL=redis://127.0.0.1:6379/0"
READY_LINE = "Anju worker"
FAST_JOBS: dict[str, Any] = {
    "job_poll_seconds": 0.05,
    "scheduler_seconds": 0.1,
    "job_lease_seconds": 1.0,
    "job_backoff_seconds": 0.05,
}  # so that waits in tests last milliseconds, and a killed worker's job returns in a second


@dataclass(frozen=True)
class Backend:
    """A jobs back-end for one test, and the settings that select it."""

    name: str  # "inprocess" or "rq"
    settings: dict[str, Any] = field(default_factory=dict)


BACKENDS = [
    "inprocess",
    pytest.param("rq", marks=pytest.mark.skipif(not TEST_REDIS_URL, reason=NO_REDIS)),
]


@pytest.fixture(params=BACKENDS)
def jobs_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Each test once per back-end; on RQ with a Redis key namespace of its own."""
    if request.param == "inprocess":
        yield Backend("inprocess", {"jobs_backend": "inprocess"})
        return
    assert TEST_REDIS_URL is not None
    namespace = f"t{uuid.uuid4().hex[:12]}"
    yield Backend(
        "rq", {"jobs_backend": "rq", "redis_url": TEST_REDIS_URL, "redis_namespace": namespace}
    )
    forget_namespace(TEST_REDIS_URL, namespace)


def forget_namespace(url: str, namespace: str) -> None:
    """Delete every RQ key a test's namespace left in Redis."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"*{namespace}*", count=1000))
        if keys:
            client.delete(*keys)
        for registry in ("rq:queues", "rq:workers"):
            members = [m for m in client.smembers(registry) if namespace.encode() in m]
            if members:
                client.srem(registry, *members)
    finally:
        client.close()


def job_settings(
    root: Path, database_url: str | None, backend: Backend, **overrides: Any
) -> Settings:
    """Estate settings on `backend` with fast polling, 1-second leases and short backoff;
    job threads stay off until `running_workers` (or `runtime.jobs.start()`)."""
    return estate_settings(root, database_url, **{**backend.settings, **FAST_JOBS, **overrides})


def settings_environment(settings: Settings) -> dict[str, str]:
    """The `ANJU_*` variables that rebuild `settings` in another process."""
    environment = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list | dict):
            text = json.dumps(value)
        else:
            text = str(value)
        environment[f"ANJU_{name.upper()}"] = text
    return environment


@dataclass
class WorkerProcess:
    """A `run.py worker` subprocess; its output goes to `log_path`."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def started(self) -> bool:
        """Ready for work, or already exited."""
        return READY_LINE in self.output() or self.process.poll() is not None

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-job, as on a power cut or the OOM killer."""
        self.process.kill()
        self.process.wait(10)

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, and the exit code once the worker has finished its job and stopped."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"the worker ignored SIGTERM:\n{self.output()}") from None


@contextmanager
def worker_process(settings: Settings, queues: list[str] | None = None) -> Iterator[WorkerProcess]:
    """`python run.py worker` on `settings`, started and ready; stopped afterwards."""
    with worker_processes(settings, 1, queues) as [worker]:
        yield worker


@contextmanager
def worker_processes(
    settings: Settings, count: int, queues: list[str] | None = None, ready_timeout: float = 30
) -> Iterator[list[WorkerProcess]]:
    """`count` worker processes started side by side, all ready; stopped afterwards."""
    with ExitStack() as stack:
        workers = [_start_worker(settings, queues) for _ in range(count)]
        for worker in workers:
            stack.callback(_stop_if_running, worker)
        for worker in workers:
            wait_for(worker.started, ready_timeout)
            if worker.process.poll() is not None:
                code = worker.process.returncode
                raise AssertionError(f"a worker exited with {code}:\n{worker.output()}")
        yield workers


def _start_worker(settings: Settings, queues: list[str] | None) -> WorkerProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ANJU_")}
    environment.update(settings_environment(settings))
    command = [sys.executable, "run.py", "worker", *(["--queues", *queues] if queues else [])]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.data_dir / f"worker-{uuid.uuid4().hex[:8]}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    return WorkerProcess(process, log_path)


def _stop_if_running(worker: WorkerProcess) -> None:
    if worker.process.poll() is None:
        worker.stop()


@contextmanager
def running_workers(runtime: Runtime, processes: int = 1) -> Iterator[list[WorkerProcess]]:
    """Workers serving `runtime`'s jobs while the block runs: the runtime's own threads on
    the in-process back-end; on RQ, `run.py worker` subprocesses plus the runtime's
    scheduler thread (which pushes jobs enqueued in transactions as they commit)."""
    with ExitStack() as stack:
        workers: list[WorkerProcess] = []
        if runtime.settings.jobs_backend == "rq":
            workers = stack.enter_context(worker_processes(runtime.settings, processes))
        runtime.jobs.start()
        stack.callback(runtime.jobs.stop)
        yield workers


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> None:
    """Poll `condition` until it holds; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s")
        time.sleep(interval)
