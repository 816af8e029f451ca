"""Queueing notifications: outbox rows in the caller's transaction, in-app messages at once,
skipped recipients, idempotent keys, batched delivery jobs, the send log."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.flows.messages import list_messages
from engine.jobs import job_table
from engine.notifications import DELIVER, Notification, deliveries, queue_notifications
from engine.runtime import Runtime
from tests.engine.notifications.conftest import rows

ABOUT = ("alert", 17)


def queue(runtime: Runtime, *notifications: Notification) -> list[int]:
    with runtime.engine.begin() as conn:
        return queue_notifications(conn, runtime, list(notifications))


def delivery_jobs(runtime: Runtime) -> list[dict]:
    with runtime.engine.connect() as conn:
        query = sa.select(job_table).where(job_table.c.name == DELIVER).order_by(job_table.c.id)
        return [dict(row) for row in conn.execute(query).mappings()]


def test_in_app_is_written_at_once_and_marked_sent(runtime: Runtime) -> None:
    [row_id] = queue(
        runtime, Notification("in_app", "zhang", "租约到期", "合同 HT-1 将到期", ABOUT)
    )

    [row] = rows(runtime)
    assert (row["id"], row["status"], row["attempts"]) == (row_id, "sent", 1)
    assert row["sent_at"] == row["created_at"]
    with runtime.engine.connect() as conn:
        inbox = list_messages(conn, "zhang")
    assert [(m["title"], m["body"], m["kind"]) for m in inbox["items"]] == [
        ("租约到期", "合同 HT-1 将到期", "alert")
    ]
    assert delivery_jobs(runtime) == []  # nothing left to deliver


def test_sms_is_queued_with_a_masked_address_and_a_delivery_job(runtime: Runtime) -> None:
    [row_id] = queue(runtime, Notification("sms", "zhang", "租约到期", "正文", ABOUT))

    [row] = rows(runtime)
    assert (row["status"], row["address"], row["attempts"]) == ("queued", "138****5678", 0)
    assert "13812345678" not in str(row)  # the real number is never stored in the outbox
    [job] = delivery_jobs(runtime)
    assert job["args"] == {"ids": [row_id]}


@pytest.mark.parametrize(
    ("notification", "reason"),
    [
        (Notification("sms", "wang", "s", "b"), "user 'wang' has no phone number"),
        (Notification("email", "li", "s", "b"), "user 'li' has no e-mail address"),
        (Notification("sms", "nobody", "s", "b"), "no user 'nobody'"),
        (Notification("in_app", "nobody", "s", "b"), "no user 'nobody'"),
        (Notification("webhook", "ops", "s", "b"), "no webhook endpoint 'ops' in ANJU_WEBHOOKS"),
    ],
)
def test_a_recipient_without_an_address_is_skipped_with_the_reason(
    runtime: Runtime, notification: Notification, reason: str
) -> None:
    queue(runtime, notification)

    [row] = rows(runtime)
    assert (row["status"], row["last_error"], row["address"]) == ("skipped", reason, None)
    assert delivery_jobs(runtime) == []


def test_a_channel_without_a_connector_is_skipped(runtime: Runtime) -> None:
    queue(runtime, Notification("email", "zhang", "s", "b"))  # no ANJU_SMTP_HOST here

    [row] = rows(runtime)
    assert row["status"] == "skipped"
    assert row["last_error"].startswith("no connector for channel 'email'")


def test_a_key_is_queued_once(runtime: Runtime) -> None:
    first = queue(runtime, Notification("sms", "zhang", "s", "b", ABOUT, key="alert:17:sms:zhang"))
    again = queue(
        runtime,
        Notification("sms", "zhang", "s", "other", ABOUT, key="alert:17:sms:zhang"),
        Notification("sms", "li", "s", "b", ABOUT, key="alert:17:sms:li"),
        Notification("sms", "li", "s", "twice in one call", ABOUT, key="alert:17:sms:li"),
    )

    assert again[0] == first[0]
    assert again[2] == again[1] != first[0]
    assert [(r["recipient"], r["body"]) for r in rows(runtime)] == [("zhang", "b"), ("li", "b")]
    assert [job["args"]["ids"] for job in delivery_jobs(runtime)] == [first, [again[1]]]


def test_in_app_messages_of_a_repeated_key_are_not_written_twice(runtime: Runtime) -> None:
    notification = Notification("in_app", "zhang", "s", "b", key="k1")
    queue(runtime, notification)
    queue(runtime, notification)

    with runtime.engine.connect() as conn:
        assert len(list_messages(conn, "zhang")["items"]) == 1


def test_nothing_is_queued_when_the_callers_transaction_rolls_back(runtime: Runtime) -> None:
    with pytest.raises(RuntimeError), runtime.engine.begin() as conn:
        queue_notifications(conn, runtime, [Notification("sms", "zhang", "s", "b")])
        raise RuntimeError("the caller's write failed")

    assert rows(runtime) == []
    assert delivery_jobs(runtime) == []


def test_many_notifications_become_one_job_per_batch(runtime: Runtime) -> None:
    batch = runtime.settings.notification_batch
    ids = queue(
        runtime, *(Notification("sms", "zhang", "s", f"b{i}") for i in range(batch * 2 + 1))
    )

    assert [len(job["args"]["ids"]) for job in delivery_jobs(runtime)] == [batch, batch, 1]
    assert sorted(i for job in delivery_jobs(runtime) for i in job["args"]["ids"]) == sorted(ids)


def test_the_send_log_of_a_thing_masks_addresses(runtime: Runtime) -> None:
    queue(
        runtime,
        Notification("in_app", "zhang", "s", "b", ABOUT),
        Notification("sms", "zhang", "s", "b", ABOUT),
        Notification("sms", "wang", "s", "b", ABOUT),
        Notification("sms", "li", "s", "b", ("alert", 18)),
    )

    with runtime.engine.connect() as conn:
        log = deliveries(conn, ABOUT)
    assert [(d["channel"], d["recipient"], d["address"], d["status"]) for d in log] == [
        ("in_app", "zhang", "zhang", "sent"),
        ("sms", "zhang", "138****5678", "queued"),
        ("sms", "wang", None, "skipped"),
    ]
    assert log[2]["error"] == "user 'wang' has no phone number"
    assert "body" not in log[0]


def test_a_notification_must_name_a_known_channel() -> None:
    with pytest.raises(ValueError, match="unknown channel"):
        Notification("fax", "zhang", "s", "b")  # type: ignore[arg-type]
