"""The SMS connector against a fake gateway (a real HTTP server on 127.0.0.1): the request
shape, the gateway's message id, keep-alive sessions, and which answers are tried again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from connectors.sms import SmsConnector
from connectors.testing import FakeGateway
from engine.notifications import OutgoingMessage
from engine.settings import Settings
from tests.connectors.smtp import free_port


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with FakeGateway() as fake:
        yield fake


def message(to: str = "13812345678", key: str = "alert:17:sms:zhang") -> OutgoingMessage:
    return OutgoingMessage(
        id=3,
        key=key,
        channel="sms",
        recipient="zhang",
        address=to,
        subject="租约到期",
        body="合同 HT-0001 将于 30 天后到期",
        about=("alert", 17),
        created_at=datetime(2026, 3, 2, tzinfo=UTC),
        attempt=1,
    )


def test_the_request_shape(gateway: FakeGateway) -> None:
    connector = SmsConnector(gateway.url, api_key="key-1", sender="安居", timeout=2)

    result = connector.send(message())

    [request] = gateway.received
    assert request.path == "/send"
    assert request.json == {
        "id": "alert:17:sms:zhang",
        "to": "13812345678",
        "text": "租约到期\n合同 HT-0001 将于 30 天后到期",
        "sender": "安居",
    }
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.headers["x-api-key"] == "key-1"
    assert request.headers["idempotency-key"] == "alert:17:sms:zhang"
    assert (result.ok, result.provider_id) == (True, "fake-1")


@pytest.mark.parametrize(
    ("status", "retry"),
    [(400, False), (401, False), (404, False), (408, True), (429, True), (500, True), (503, True)],
)
def test_which_answers_are_tried_again(gateway: FakeGateway, status: int, retry: bool) -> None:
    gateway.script(status)

    result = SmsConnector(gateway.url, timeout=2).send(message())

    assert (result.ok, result.retry) == (False, retry)
    assert result.error == f'HTTP {status}: {{"error": "scripted {status}"}}'


def test_a_gateway_that_does_not_answer_times_out(gateway: FakeGateway) -> None:
    gateway.hang_next()

    result = SmsConnector(gateway.url, timeout=0.3).send(message())

    assert (result.ok, result.retry, result.error) == (False, True, "no answer within 0.3 s")


def test_a_gateway_that_is_down_is_tried_again() -> None:
    result = SmsConnector(f"http://127.0.0.1:{free_port()}/send", timeout=1).send(message())

    assert (result.ok, result.retry) == (False, True)
    assert "ConnectionRefusedError" in (result.error or "")


def test_a_session_sends_many_over_one_connection(gateway: FakeGateway) -> None:
    connector = SmsConnector(gateway.url, timeout=2)
    with connector.session() as sender:
        results = [sender.send(message(key=f"k{i}")) for i in range(20)]

    assert [r.provider_id for r in results] == [f"fake-{i}" for i in range(1, 21)]
    assert gateway.connections() == 1


def test_the_connector_is_offered_only_with_a_url() -> None:
    assert SmsConnector.from_settings(Settings(sms_url=None)) is None
    connector = SmsConnector.from_settings(Settings(sms_url="https://sms.example/send"))
    assert connector is not None and connector.url == "https://sms.example/send"
