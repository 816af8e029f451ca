"""The e-mail connector against a real SMTP server (aiosmtpd on 127.0.0.1): UTF-8 subject and
body, STARTTLS, SMTPS and login, one session for many messages, and which failures are
tried again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.email import EmailConnector
from engine.notifications import OutgoingMessage
from tests.connectors.certificates import local_tls
from tests.connectors.smtp import PASSWORD, USER, free_port, smtp_server

SUBJECT = "租约到期提醒：HT-0001"
BODY = "您好，合同 HT-0001 将于 2026-04-01 到期，请及时办理续租。"


def message(
    address: str = "zhang@example.org", key: str = "alert:17:email:zhang"
) -> OutgoingMessage:
    return OutgoingMessage(
        id=7,
        key=key,
        channel="email",
        recipient="zhang",
        address=address,
        subject=SUBJECT,
        body=BODY,
        about=("alert", 17),
        created_at=datetime(2026, 3, 2, tzinfo=UTC),
        attempt=1,
    )


def test_a_message_arrives_with_its_utf8_subject_and_body() -> None:
    with smtp_server() as (mailbox, port):
        connector = EmailConnector("127.0.0.1", port, "none", sender="安居平台 <anju@example.org>")
        result = connector.send(message())

    [mail] = mailbox.messages
    assert result.ok
    assert (mail["Subject"], mail.get_content().strip()) == (SUBJECT, BODY)
    assert mail["To"] == "zhang@example.org"
    assert mail["From"].addresses[0].display_name == "安居平台"
    assert mail.get_content_charset() == "utf-8"
    assert mailbox.recipients == [["zhang@example.org"]]
    assert result.provider_id == mail["Message-ID"]


def test_a_repeated_attempt_carries_the_same_message_id() -> None:
    with smtp_server() as (mailbox, port):
        connector = EmailConnector("127.0.0.1", port, "none")
        first, second = connector.send(message()), connector.send(message())

    assert first.provider_id == second.provider_id
    assert mailbox.messages[0]["Message-ID"] == mailbox.messages[1]["Message-ID"]


def test_one_session_sends_many_messages() -> None:
    with smtp_server() as (mailbox, port):
        connector = EmailConnector("127.0.0.1", port, "none")
        with connector.session() as sender:
            results = [sender.send(message(f"u{i}@example.org", f"k{i}")) for i in range(5)]

    assert all(r.ok for r in results)
    assert [m["To"] for m in mailbox.messages] == [f"u{i}@example.org" for i in range(5)]


@pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning")
def test_starttls_and_login(tmp_path: Path) -> None:
    tls = local_tls(tmp_path)
    with smtp_server(tls=tls.server, auth=True) as (mailbox, port):
        connector = EmailConnector(
            "127.0.0.1", port, "starttls", USER, PASSWORD, tls_context=tls.client
        )
        result = connector.send(message())

    assert result.ok
    assert mailbox.logins == [USER]
    assert mailbox.messages[0]["Subject"] == SUBJECT


def test_smtps(tmp_path: Path) -> None:
    tls = local_tls(tmp_path)
    with smtp_server(tls=tls.server, implicit_tls=True) as (mailbox, port):
        result = EmailConnector("127.0.0.1", port, "ssl", tls_context=tls.client).send(message())

    assert result.ok
    assert mailbox.messages[0].get_content().strip() == BODY


def test_starttls_refuses_a_server_it_does_not_trust(tmp_path: Path) -> None:
    tls = local_tls(tmp_path)
    with smtp_server(tls=tls.server) as (mailbox, port):
        connector = EmailConnector("127.0.0.1", port, "starttls")  # the system's CAs only
        with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
            connector.send(message())

    assert mailbox.messages == []


def test_a_wrong_password_raises(tmp_path: Path) -> None:
    tls = local_tls(tmp_path)
    with smtp_server(tls=tls.server, auth=True) as (mailbox, port):
        connector = EmailConnector(
            "127.0.0.1", port, "starttls", USER, "wrong", tls_context=tls.client
        )
        with pytest.raises(Exception, match="535"):
            connector.send(message())

    assert mailbox.messages == []


@pytest.mark.parametrize(
    ("address", "retry", "error"),
    [
        ("bounce@example.org", False, "refused: 550 5.1.1 no such mailbox"),
        ("busy@example.org", True, "refused: 451 4.3.0 try again later"),
    ],
)
def test_refused_recipients(address: str, retry: bool, error: str) -> None:
    with smtp_server() as (mailbox, port):
        result = EmailConnector("127.0.0.1", port, "none").send(message(address))

    assert (result.ok, result.retry, result.error) == (False, retry, error)
    assert mailbox.messages == []


def test_a_server_that_is_not_there_raises_for_the_batch() -> None:
    connector = EmailConnector("127.0.0.1", free_port(), "none", timeout=1)
    with pytest.raises(OSError):
        connector.send(message())
