"""Delivering the outbox through the job queue to a fake SMS gateway (a real HTTP server on
127.0.0.1): sent rows, retries with backoff, permanent failures, timeouts, dead rows, claims
that never send a row twice, and rows given back when their worker stopped."""

from __future__ import annotations

import threading
from datetime import timedelta

from connectors.testing import FakeGateway
from engine.clock import FixedClock
from engine.database import write_transaction
from engine.jobs import job_table
from engine.notifications import Notification, queue_notifications, retry_notification
from engine.notifications.delivery import claim, deliver, sweep
from engine.runtime import Runtime
from tests.engine.notifications.conftest import rows, set_phone


def queue(runtime: Runtime, *notifications: Notification) -> list[int]:
    with runtime.engine.begin() as conn:
        return queue_notifications(conn, runtime, list(notifications))


def sms(recipient: str = "zhang", body: str = "合同 HT-0001 将于 30 天后到期") -> Notification:
    return Notification("sms", recipient, "租约到期", body, ("alert", 17))


def test_the_job_queue_delivers_to_the_gateway(runtime: Runtime, gateway: FakeGateway) -> None:
    [row_id] = queue(runtime, sms())

    assert runtime.jobs.run_pending() == 1

    [request] = gateway.received
    [row] = rows(runtime)
    assert request.json == {
        "id": row["key"],
        "to": "13812345678",
        "text": "租约到期\n合同 HT-0001 将于 30 天后到期",
        "sender": "安居",
    }
    assert request.headers["x-api-key"] == "key-123"
    assert request.headers["idempotency-key"] == row["key"]
    assert (row["id"], row["status"], row["attempts"]) == (row_id, "sent", 1)
    assert (row["provider_id"], row["address"], row["last_error"]) == (
        "fake-1",
        "138****5678",
        None,
    )
    assert row["sent_at"] == runtime.clock.now()


def test_a_server_error_is_retried_after_a_backoff(
    runtime: Runtime, gateway: FakeGateway, clock: FixedClock
) -> None:
    gateway.script(503)
    queue(runtime, sms())
    runtime.jobs.run_pending()

    [row] = rows(runtime)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["last_error"] == 'HTTP 503: {"error": "scripted 503"}'
    assert row["next_attempt_at"] == clock.now() + timedelta(seconds=30)
    assert runtime.jobs.run_pending() == 0  # not due yet

    clock.advance(seconds=30)
    assert runtime.jobs.run_pending() == 1

    [row] = rows(runtime)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 2, None)
    assert [r.json["id"] for r in gateway.received] == [row["key"], row["key"]]  # same id


def test_the_backoff_doubles_and_the_last_attempt_is_dead(
    runtime: Runtime, gateway: FakeGateway, clock: FixedClock
) -> None:
    gateway.script(500, 502, 504)  # notification_max_attempts is 3
    queue(runtime, sms())
    waits = []
    for _ in range(3):
        runtime.jobs.run_pending()
        [row] = rows(runtime)
        waits.append((row["next_attempt_at"] - clock.now()).total_seconds())
        clock.advance(seconds=120)

    assert (row["status"], row["attempts"]) == ("dead", 3)
    assert row["last_error"].startswith("HTTP 504")
    assert waits == [30, 60, 0]
    assert gateway.count() == 3


def test_a_client_error_is_not_retried(runtime: Runtime, gateway: FakeGateway) -> None:
    gateway.script(400)
    queue(runtime, sms())
    runtime.jobs.run_pending()

    [row] = rows(runtime)
    assert (row["status"], row["attempts"]) == ("dead", 1)
    assert row["last_error"].startswith("HTTP 400")


def test_too_many_requests_is_retried(runtime: Runtime, gateway: FakeGateway) -> None:
    gateway.script(429)
    queue(runtime, sms())
    runtime.jobs.run_pending()

    assert rows(runtime)[0]["status"] == "failed"


def test_a_gateway_that_hangs_times_out_and_is_retried(
    runtime: Runtime, gateway: FakeGateway, clock: FixedClock
) -> None:
    gateway.hang_next()
    queue(runtime, sms())
    runtime.jobs.run_pending()

    [row] = rows(runtime)
    assert (row["status"], row["last_error"]) == ("failed", "no answer within 0.5 s")
    clock.advance(seconds=30)
    runtime.jobs.run_pending()
    assert rows(runtime)[0]["status"] == "sent"


def test_a_user_whose_number_was_removed_is_skipped_at_delivery(
    runtime: Runtime, gateway: FakeGateway
) -> None:
    queue(runtime, sms("li"))
    set_phone(runtime, "li", None)
    runtime.jobs.run_pending()

    [row] = rows(runtime)
    assert (row["status"], row["last_error"]) == ("skipped", "user 'li' has no phone number")
    assert gateway.received == []


def test_a_corrected_number_is_used_by_the_retry(
    runtime: Runtime, gateway: FakeGateway, clock: FixedClock
) -> None:
    gateway.script(400)
    [row_id] = queue(runtime, sms("li"))
    runtime.jobs.run_pending()
    set_phone(runtime, "li", "13700000001")
    with runtime.engine.begin() as conn:
        retry_notification(conn, runtime, row_id)
    runtime.jobs.run_pending()

    assert [r.json["to"] for r in gateway.received] == ["13987654321", "13700000001"]
    [row] = rows(runtime)
    assert (row["status"], row["address"], row["attempts"]) == ("sent", "137****0001", 1)


def test_a_row_is_claimed_once(runtime: Runtime) -> None:
    ids = queue(runtime, sms(), sms("li"))
    now = runtime.clock.now()
    with write_transaction(runtime.engine) as conn:
        first = claim(conn, ids, now, now + timedelta(minutes=5))
    with write_transaction(runtime.engine) as conn:
        second = claim(conn, ids, now, now + timedelta(minutes=5))

    assert [c.id for c in first] == ids
    assert second == []


def test_two_workers_never_send_one_row_twice(runtime: Runtime, gateway: FakeGateway) -> None:
    ids = queue(runtime, *(sms("zhang" if i % 2 else "li", f"b{i}") for i in range(40)))
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            deliver(runtime, ids)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(r.json["text"].split("\n")[1] for r in gateway.received) == sorted(
        f"b{i}" for i in range(40)
    )
    assert {r["status"] for r in rows(runtime)} == {"sent"}


def test_rows_of_a_worker_that_stopped_are_sent_again(
    runtime: Runtime, gateway: FakeGateway, clock: FixedClock
) -> None:
    ids = queue(runtime, sms())
    now = clock.now()
    with write_transaction(runtime.engine) as conn:  # a worker claims the row, then dies
        claim(conn, ids, now, now + timedelta(seconds=runtime.settings.notification_lease_seconds))
    runtime.jobs.run_pending()  # the delivery job finds the row taken
    assert gateway.received == []

    clock.advance(seconds=runtime.settings.notification_lease_seconds + 1)
    assert sweep(runtime) == 1
    [row] = rows(runtime)
    assert (row["status"], row["last_error"]) == (
        "failed",
        "the worker stopped while sending; tried again",
    )
    runtime.jobs.run_pending()

    assert gateway.count() == 1
    assert rows(runtime)[0]["status"] == "sent"


def test_the_sweep_wakes_rows_whose_job_was_lost(
    runtime: Runtime, gateway: FakeGateway, clock: FixedClock
) -> None:
    queue(runtime, sms())
    with runtime.engine.begin() as conn:
        conn.execute(job_table.delete())  # e.g. a job store restored from an older backup
    assert sweep(runtime) == 0  # not late yet

    clock.advance(seconds=runtime.settings.notification_lease_seconds)
    assert sweep(runtime) == 1
    runtime.jobs.run_pending()
    assert rows(runtime)[0]["status"] == "sent"
