"""Benchmark: flows through the API, and the timer sweep at 100,000 waiting records.

    python -m bench.flows [--applications 1000] [--waiting 100000] [--due 1000] [--threads 8]

1. Applications through a whole flow over HTTP (uvicorn, SQLite): create, submit, two
   approval steps; then the publicity timers fire. Reported as transitions per second, with
   the same number of plain PATCH updates in the same run as the baseline (the cost of the
   ordinary write path).
2. The timer sweep: `--waiting` records sit in a publicity state with pending timers, of
   which `--due` are due. Timed: a sweep when none is due, and a sweep firing the due ones.
   Baseline, same run: finding the due records without a timer table — reading every
   waiting record and counting its working days in Python.
Writes bench/results/flows.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from bench.api import ADMIN_PASSWORD, ROOT, _free_port, _token, _wait

RESULTS = ROOT / "bench" / "results"
APP: dict[str, dict[str, Any]] = {
    "bench/app.yaml": {"label": "Bench"},
    "bench/roles.yaml": {"roles": {"reviewer": {"label": "Reviewer"}}},
    "bench/calendars/default.yaml": {"weekend": [6, 7]},
    "bench/entities/request.yaml": {
        "fields": {
            "title": {"type": "string", "required": True, "max_length": 100},
            "amount": {"type": "integer"},
            "note": {"type": "text"},
            "decided_on": {"type": "date"},
        },
        "title_field": "title",
        "permissions": {"reviewer": {"actions": ["read", "update"], "scope": "all"}},
    },
    "bench/flows/request.yaml": {
        "entity": "request",
        "initial": "draft",
        "params": {"publicity_days": 7},
        "states": {
            "draft": {"category": "draft", "editable": "all"},
            "review": {
                "editable": ["note"],
                "approval": {
                    "steps": [
                        {"name": "first", "assignee": {"role": "reviewer"}},
                        {"name": "second", "assignee": {"role": "reviewer"}},
                    ]
                },
            },
            "publicity": {
                "editable": ["note"],
                "on_enter": [{"set": {"decided_on": "today"}}],
                "timers": [
                    {
                        "name": "over",
                        "after": "params.publicity_days",
                        "unit": "working_days",
                        "transition": "publicity_ends",
                    }
                ],
            },
            "granted": {"category": "done"},
        },
        "transitions": {
            "submit": {"from": "draft", "to": "review", "roles": ["reviewer"]},
            "approve": {"from": "review", "to": "publicity", "approve": True},
            "publicity_ends": {"from": "publicity", "to": "granted", "trigger": "timer"},
        },
    },
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applications", type=int, default=1000)
    parser.add_argument("--waiting", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="anju-bench-flows-"))
    _write_app(root / "apps_config")
    env = {
        **os.environ,
        "ANJU_DATA_DIR": str(root / "var"),
        "ANJU_APPS_CONFIG": str(root / "apps_config"),
        "ANJU_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ANJU_JOB_THREADS": "false",
    }
    results: dict[str, Any] = {"applications": args.applications}
    results["api"] = _through_the_api(env, args.applications, args.threads)
    results["sweep"] = _sweep(env, args.waiting, args.due)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "flows.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


def _write_app(folder: Path) -> None:
    for relative, content in APP.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")


def _through_the_api(env: dict[str, str], count: int, threads: int) -> dict[str, Any]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "run.py", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    try:
        _wait(port)
        base = f"http://127.0.0.1:{port}"
        token = _token(base, "admin", ADMIN_PASSWORD)
        call = _caller(base, token)
        pool = ThreadPoolExecutor(threads)
        started = time.perf_counter()
        ids = list(
            pool.map(
                lambda n: call("POST", "/api/bench/request", {"title": f"R{n}"})["id"], range(count)
            )
        )
        created_s = time.perf_counter() - started

        def through(record_id: int) -> None:
            for name in ("submit", "approve", "approve"):
                call("POST", f"/api/bench/request/{record_id}/transitions/{name}", {})

        started = time.perf_counter()
        list(pool.map(through, ids))
        transitions_s = time.perf_counter() - started
        started = time.perf_counter()
        list(pool.map(lambda i: call("PATCH", f"/api/bench/request/{i}", {"note": "n"}), ids))
        patches_s = time.perf_counter() - started
        pool.shutdown()
    finally:
        server.terminate()
        server.wait(timeout=30)
    transitions = 3 * count
    return {
        "threads": threads,
        "creates_per_s": round(count / created_s, 1),
        "transitions": transitions,
        "transitions_s": round(transitions_s, 2),
        "transitions_per_s": round(transitions / transitions_s, 1),
        "baseline_patches_per_s": round(count / patches_s, 1),
    }


def _caller(base: str, token: str) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(method: str, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            base + path, data=json.dumps(body).encode(), headers=headers, method=method
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)

    return call


def _sweep(env: dict[str, str], waiting: int, due: int) -> dict[str, Any]:
    """Runs in this process against the data folder the API part created."""
    os.environ.update(env)
    from engine.flows.jobs import sweep_timers
    from engine.flows.tables import timers
    from engine.runtime import Runtime
    from engine.settings import Settings

    runtime = Runtime.create(Settings())
    runtime.start()
    catalog = runtime.require_catalog()
    entity = catalog.entity("bench", "request")
    assert entity is not None
    now = datetime.now(UTC)
    started = time.perf_counter()
    _load_waiting(runtime.engine, entity.table, timers, waiting, due, now)
    loaded_s = time.perf_counter() - started
    with runtime.engine.connect() as conn:  # warm the caches the timed runs use
        conn.execute(sa.select(sa.func.count()).select_from(timers)).scalar()
    started = time.perf_counter()
    idle = sweep_timers(runtime.engine, catalog, now - timedelta(days=30))
    idle_s = time.perf_counter() - started
    started = time.perf_counter()
    naive_due = _naive_scan(runtime.engine, entity.table, entity.calendar, now)
    naive_s = time.perf_counter() - started
    started = time.perf_counter()
    fired = sweep_timers(runtime.engine, catalog, now)
    fire_s = time.perf_counter() - started
    runtime.dispose()
    return {
        "waiting": waiting,
        "due": due,
        "load_s": round(loaded_s, 1),
        "sweep_nothing_due_ms": round(idle_s * 1000, 1),
        "baseline_scan_ms": round(naive_s * 1000, 1),
        "baseline_found": naive_due,
        "sweep_firing_s": round(fire_s, 2),
        "moved": fired.moved,
        "fired_per_s": round(fired.moved / fire_s, 1) if fire_s else None,
        "idle_moved": idle.moved,
    }


def _load_waiting(
    engine: sa.Engine, table: sa.Table, timers: sa.Table, waiting: int, due: int, now: datetime
) -> None:
    """`waiting` records in publicity since today, each with its pending timer; the first
    `due` of them entered ten days ago, so their timer is due."""
    with engine.begin() as conn:
        base = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar()
        rows, timer_rows = [], []
        for n in range(1, waiting + 1):
            entered = now - timedelta(days=20 if n <= due else 0)
            rows.append(
                {
                    "id": base + n,
                    "title": f"W{n}",
                    "created_at": entered,
                    "updated_at": entered,
                    "row_version": 1,
                    "def_version": 1,
                    "state": "publicity",
                    "flow_version": 1,
                    "decided_on": entered.date(),
                }
            )
            timer_rows.append(
                {
                    "app": "bench",
                    "entity": "request",
                    "record_id": base + n,
                    "flow": "request",
                    "state": "publicity",
                    "entry_id": 0,
                    "name": "over",
                    "due_at": entered + timedelta(days=9),
                    "status": "pending",
                }
            )
            if len(rows) == 10_000:
                conn.execute(table.insert(), rows)
                conn.execute(timers.insert(), timer_rows)
                rows, timer_rows = [], []
        if rows:
            conn.execute(table.insert(), rows)
            conn.execute(timers.insert(), timer_rows)


def _naive_scan(engine: sa.Engine, table: sa.Table, calendar: Any, now: datetime) -> int:
    """Without a timer table: read every waiting record and count its working days."""
    from engine.expressions.calendar import WorkingCalendar, add_working_days

    calendar = calendar or WorkingCalendar()
    today = now.date()
    found = 0
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(table.c.id, table.c.decided_on).where(table.c.state == "publicity")
        )
        for _, entered in rows:
            last: date | None = add_working_days(calendar, entered, 7)
            if last is not None and last < today:
                found += 1
    return found


if __name__ == "__main__":
    sys.exit(main())
