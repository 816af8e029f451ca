"""Benchmark: 10,000 SMS notifications queued and delivered through the job queue to the fake
SMS gateway (`connectors.testing.FakeGateway`, a real HTTP server on 127.0.0.1 in a thread).

    python -m bench.notifications [--count 10000] [--workers 1] [--database-url URL]

Creates `count` users with phone numbers, queues one SMS each in one transaction (timed: the
queueing), then runs the delivery jobs with `workers` threads calling `runtime.jobs.run_pending`
until every row is sent (timed: the delivery). The per-recipient hourly limit stays on (one
message per person is within it); the gateway-wide per-second cap is off, as the target
(10,000 in under 10 s) is beyond the default cap of 50/s by design. Target: total < 10 s.
SQLite in a fresh temporary folder unless `--database-url` is given. Writes
bench/results/notifications.json and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

import sqlalchemy as sa

from connectors.testing import FakeGateway
from engine.auth.tables import user_table
from engine.database import write_transaction
from engine.notifications import Notification, queue_notifications
from engine.notifications.tables import outbox
from engine.runtime import Runtime
from engine.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ADMIN_PASSWORD = "Bench#Admin2026"
TARGET_SECONDS = 10.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--sms-batch", type=int, default=100, help="messages per gateway request")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    args = parser.parse_args()
    with gateway_process() as gateway:
        figures = run(gateway, args.count, args.workers, args.database_url, args.sms_batch)
    figures["database"] = "postgresql" if args.database_url else "sqlite"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "notifications.json").write_text(json.dumps(figures, indent=2))
    verdict = "within" if figures["total_s"] < TARGET_SECONDS else "OVER"
    print(
        f"{figures['count']} SMS on {figures['database']}, {figures['workers']} worker(s), "
        f"{figures['sms_batch']} per gateway request: "
        f"queued in {figures['queue_s']} s, delivered in {figures['deliver_s']} s, "
        f"total {figures['total_s']} s = {figures['per_s']}/s "
        f"({verdict} the {TARGET_SECONDS:g} s target)"
    )
    return 0 if figures["total_s"] < TARGET_SECONDS else 1


class GatewayProcess:
    """The fake gateway in a process of its own, as a real gateway would be: in this process
    its Python HTTP server would compete with the workers for the interpreter lock."""

    def __init__(self, url: str, connection: Connection) -> None:
        self.url = url
        self._connection = connection

    def count(self) -> int:
        self._connection.send("count")
        return int(self._connection.recv())


@contextmanager
def gateway_process() -> Iterator[GatewayProcess]:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(theirs,), daemon=True)
    process.start()
    try:
        yield GatewayProcess(ours.recv(), ours)
    finally:
        ours.send("stop")
        process.join(10)
        ours.close()


def _serve(connection: Connection) -> None:
    with FakeGateway() as gateway:
        connection.send(gateway.url)
        while (command := connection.recv()) != "stop":
            if command == "count":
                connection.send(gateway.count())


def run(
    gateway: GatewayProcess, count: int, workers: int, database_url: str | None, sms_batch: int
) -> dict:
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp(prefix="anju-bench-notifications-")),
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        job_threads=False,
        sms_url=gateway.url,
        sms_api_key="bench",
        notification_per_second=0,
        sms_batch=sms_batch,
    )
    runtime = Runtime.create(settings)
    runtime.start()
    try:
        usernames = add_users(runtime, count)
        notifications = [
            Notification(
                "sms", name, "租约到期提醒", f"合同 HT-{i:05d} 将于 30 天后到期", ("bench", i)
            )
            for i, name in enumerate(usernames)
        ]
        started = time.perf_counter()
        with write_transaction(runtime.engine) as conn:
            queue_notifications(conn, runtime, notifications)
        queued = time.perf_counter()
        deliver(runtime, workers)
        finished = time.perf_counter()
        sent = count_sent(runtime)
    finally:
        runtime.dispose()
    if sent != count or gateway.count() != count:
        raise SystemExit(f"sent {sent}, the gateway got {gateway.count()}, expected {count}")
    total = finished - started
    return {
        "count": count,
        "workers": workers,
        "sms_batch": sms_batch,
        "queue_s": round(queued - started, 2),
        "deliver_s": round(finished - queued, 2),
        "total_s": round(total, 2),
        "per_s": round(count / total),
    }


def add_users(runtime: Runtime, count: int) -> list[str]:
    """`count` users with phone numbers, inserted in bulk (no password hashing)."""
    now = datetime.now(UTC)
    names = [f"bench{i:05d}" for i in range(count)]
    rows = [
        {
            "username": name,
            "display_name": name,
            "password_hash": "-",
            "active": True,
            "failed_logins": 0,
            "must_change_password": False,
            "password_changed_at": now,
            "created_at": now,
            "updated_at": now,
            "phone": f"139{i:08d}",
        }
        for i, name in enumerate(names)
    ]
    with runtime.engine.begin() as conn:
        conn.execute(user_table.insert(), rows)
    return names


def deliver(runtime: Runtime, workers: int) -> None:
    threads = [threading.Thread(target=runtime.jobs.run_pending) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def count_sent(runtime: Runtime) -> int:
    query = sa.select(sa.func.count()).where(outbox.c.status == "sent")
    with runtime.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


if __name__ == "__main__":
    raise SystemExit(main())
