"""Every channel end to end through the job queue: SMS to the fake gateway, e-mail to a real
SMTP server, webhooks to a receiver that checks the signature — run by the worker threads (and
by `run.py worker` processes on RQ when a Redis is given)."""

from __future__ import annotations

from pathlib import Path

from connectors.testing import FakeGateway, WebhookReceiver
from engine.database import write_transaction
from engine.notifications import Notification, queue_notifications
from engine.runtime import Runtime
from tests.connectors.smtp import smtp_server
from tests.databases import started_runtime
from tests.engine.notifications.conftest import SECRET, add_people, notification_settings, rows
from tests.jobs import FAST_JOBS, Backend, jobs_backend, running_workers, wait_for  # noqa: F401

ABOUT = ("alert", 21)


def test_each_channel_is_delivered_by_the_workers(
    tmp_path: Path,
    database_url: str | None,
    gateway: FakeGateway,
    receiver: WebhookReceiver,
    jobs_backend: Backend,  # noqa: F811
) -> None:
    with smtp_server() as (mailbox, port):
        settings = notification_settings(
            tmp_path,
            database_url,
            gateway,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            smtp_from="anju@example.org",
            webhooks={"ops": receiver.url},
            webhook_secret=SECRET,
            **jobs_backend.settings,
            **FAST_JOBS,
        )
        with started_runtime(settings) as runtime:
            add_people(runtime)
            with running_workers(runtime):
                queue(
                    runtime,
                    Notification("sms", "zhang", "欠租提醒", "欠租 2 个月", ABOUT, key="a21:sms"),
                    Notification(
                        "email", "zhang", "欠租提醒", "欠租 2 个月", ABOUT, key="a21:mail"
                    ),
                    Notification("webhook", "ops", "欠租提醒", "欠租 2 个月", ABOUT, key="a21:ops"),
                    Notification(
                        "in_app", "zhang", "欠租提醒", "欠租 2 个月", ABOUT, key="a21:app"
                    ),
                )
                wait_for(lambda: all(r["status"] == "sent" for r in rows(runtime)), 20)
            sent = rows(runtime)

    assert [(r["channel"], r["address"]) for r in sent] == [
        ("sms", "138****5678"),
        ("email", "z****@example.org"),
        ("webhook", "ops"),
        ("in_app", "zhang"),
    ]
    assert [r.json["to"] for r in gateway.received] == ["13812345678"]
    [mail] = mailbox.messages
    assert (mail["Subject"], mail["To"]) == ("欠租提醒", "zhang@example.org")
    [hook] = receiver.accepted()
    assert hook.json["about"] == {"kind": "alert", "id": 21}


def queue(runtime: Runtime, *notifications: Notification) -> None:
    with write_transaction(runtime.engine) as conn:  # SQLite: the workers write meanwhile
        queue_notifications(conn, runtime, list(notifications))
