"""Benchmark: background-job throughput of the in-process and RQ back-ends.

    python -m bench.jobs [--jobs 5000] [--redis-url redis://127.0.0.1:6379/0] [--database-url URL]

For each set-up, enqueues N no-op jobs one call (one transaction) each with no worker running
(timed: the enqueue rate; on RQ each enqueue also pushes to Redis), then starts the workers
and times how fast they drain the queue (the completion rate, from the moment the workers are
ready to the last job done). Set-ups: the in-process back-end's worker thread, `run.py worker`
processes polling the database (in-process back-end), and RQ with 1 and 2 `run.py worker`
processes. SQLite in a fresh temporary folder unless `--database-url` is given. Writes
bench/results/jobs.json and prints a table.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

from engine.jobs import DONE, JobContext, job_handler, job_table
from engine.runtime import Runtime
from engine.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ADMIN_PASSWORD = "Bench#Admin2026"
JOB = "bench.noop"


def noop(ctx: JobContext, *, number: int) -> None:
    """Nothing: the runner's "done" mark is the job's only write."""


if __name__ != "__main__":  # registered by `bench.jobs`, the module the runtimes import
    job_handler(JOB)(noop)


@dataclass(frozen=True)
class Setup:
    name: str
    backend: str
    processes: int  # `run.py worker` processes; 0: the runtime's own worker thread


SETUPS = (
    Setup("inprocess, worker thread", "inprocess", 0),
    Setup("inprocess, 2 worker processes", "inprocess", 2),
    Setup("rq, 1 worker process", "rq", 1),
    Setup("rq, 2 worker processes", "rq", 2),
)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    args = parser.parse_args()
    redis_ok = _redis_answers(args.redis_url)
    key = base64.b64encode(os.urandom(32)).decode()  # one key for every set-up's processes
    rows = []
    for setup in SETUPS:
        if setup.backend == "rq" and not redis_ok:
            print(f"skipped {setup.name}: no Redis at {args.redis_url}", file=sys.stderr)
            continue
        rows.append(run(setup, args.jobs, args.redis_url, args.database_url, key))
    database = "postgresql" if args.database_url else "sqlite"
    results = {"jobs": args.jobs, "database": database, "runs": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "jobs.json").write_text(json.dumps(results, indent=2))
    _print_table(args.jobs, database, rows)
    return 0


def run(
    setup: Setup, count: int, redis_url: str, database_url: str | None, key: str
) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="anju-bench-jobs-"))
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        encryption_key=key,
        jobs_backend=setup.backend,
        redis_url=redis_url,
        redis_namespace=namespace,
        job_modules=["bench.jobs"],
        job_threads=False,
    )
    runtime = Runtime.create(settings)
    runtime.start()
    try:
        first_id = _last_id(runtime) + 1
        started = time.perf_counter()
        for number in range(count):
            runtime.jobs.enqueue(JOB, {"number": number})
        enqueue_s = time.perf_counter() - started
        drain_s = _drain(runtime, setup, settings, first_id, count)
    finally:
        runtime.dispose()
        if setup.backend == "rq":
            _forget(redis_url, namespace)
    return {
        "setup": setup.name,
        "enqueue_per_s": round(count / enqueue_s),
        "complete_per_s": round(count / drain_s),
        "enqueue_s": round(enqueue_s, 2),
        "complete_s": round(drain_s, 2),
    }


def _drain(runtime: Runtime, setup: Setup, settings: Settings, first_id: int, count: int) -> float:
    """Seconds from the workers being ready to the last job done."""
    if setup.processes == 0:
        started = time.perf_counter()
        runtime.jobs.start()
        _wait_done(runtime, first_id, count)
        elapsed = time.perf_counter() - started
        runtime.jobs.stop()
        return elapsed
    workers = [_start_worker(settings, index) for index in range(setup.processes)]
    try:
        ready = min(_ready_at(log) for _, log in workers)
        _wait_done(runtime, first_id, count)
        return time.perf_counter() - ready
    finally:
        for process, _ in workers:
            process.terminate()
        for process, _ in workers:
            process.wait(30)


def _start_worker(settings: Settings, index: int) -> tuple[subprocess.Popen[bytes], Path]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ANJU_")}
    for name, value in settings.model_dump().items():
        if value is not None:
            text = json.dumps(value) if isinstance(value, list) else str(value)
            environment[f"ANJU_{name.upper()}"] = text
    log = settings.data_dir / f"worker-{index}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "run.py", "worker"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process, log


def _ready_at(log: Path, timeout: float = 60) -> float:
    """When the worker printed its start line (it starts taking jobs right after)."""
    deadline = time.monotonic() + timeout
    while "Anju worker" not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            sys.exit(f"the worker did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.005)
    return time.perf_counter()


def _wait_done(runtime: Runtime, first_id: int, count: int, timeout: float = 600) -> None:
    query = (
        sa.select(sa.func.count())
        .select_from(job_table)
        .where(job_table.c.id >= first_id, job_table.c.name == JOB, job_table.c.status == DONE)
    )
    deadline = time.monotonic() + timeout
    while True:
        with runtime.engine.connect() as conn:
            if conn.execute(query).scalar_one() >= count:
                return
        if time.monotonic() > deadline:
            sys.exit(f"jobs not done within {timeout} s: {runtime.jobs.stats()}")
        time.sleep(0.02)


def _last_id(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(job_table.c.id))).scalar_one() or 0)


def _redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _forget(url: str, namespace: str) -> None:
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


def _print_table(count: int, database: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{count} no-op jobs on {database}")
    print(f"{'set-up':32} {'enqueue/s':>10} {'complete/s':>11}")
    for row in rows:
        print(f"{row['setup']:32} {row['enqueue_per_s']:>10} {row['complete_per_s']:>11}")


if __name__ == "__main__":
    sys.exit(main())
