"""Signed webhooks: the signature a receiver checks (HMAC-SHA256 over timestamp and body),
replays refused by their age, and the connector against a receiver that verifies it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from connectors.testing import WebhookReceiver
from connectors.webhook import WebhookConnector, sign, verify_signature
from engine.notifications import OutgoingMessage
from engine.settings import Settings

SECRET = "whsec-test"
NOW = 1_767_225_600


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(SECRET) as fake:
        yield fake


def message(endpoint: str = "ops") -> OutgoingMessage:
    return OutgoingMessage(
        id=9,
        key="alert:17:webhook:ops",
        channel="webhook",
        recipient=endpoint,
        address=endpoint,
        subject="欠租两个月",
        body="租户 王五 欠租 2 个月",
        about=("alert", 17),
        created_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        attempt=2,
    )


def test_the_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    header = sign("secret", 1700000000, b'{"a":1}')

    # echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
    assert header == (
        "t=1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
    )
    assert verify_signature("secret", header, b'{"a":1}', now=1700000000)


@pytest.mark.parametrize(
    ("secret", "body", "now", "valid"),
    [
        (SECRET, b'{"x": 1}', NOW, True),
        (SECRET, b'{"x": 1}', NOW + 299, True),
        (SECRET, b'{"x": 2}', NOW, False),  # the body was changed
        ("another", b'{"x": 1}', NOW, False),  # signed with another secret
        (SECRET, b'{"x": 1}', NOW + 301, False),  # a replay, five minutes later
        (SECRET, b'{"x": 1}', NOW - 301, False),  # a timestamp from the future
    ],
)
def test_verification(secret: str, body: bytes, now: int, valid: bool) -> None:
    header = sign(SECRET, NOW, b'{"x": 1}')

    assert verify_signature(secret, header, body, now=now) is valid


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=00", "t=1767225600"])
def test_malformed_signatures_do_not_verify(header: str) -> None:
    assert not verify_signature(SECRET, header, b"{}", now=NOW)


def test_the_receiver_verifies_what_the_connector_sends(receiver: WebhookReceiver) -> None:
    connector = WebhookConnector({"ops": receiver.url}, SECRET, timeout=2)

    result = connector.send(message())

    [request] = receiver.received
    assert request.verified
    assert request.headers["x-anju-delivery"] == "alert:17:webhook:ops"
    assert request.json == {
        "id": "alert:17:webhook:ops",
        "subject": "欠租两个月",
        "body": "租户 王五 欠租 2 个月",
        "about": {"kind": "alert", "id": 17},
        "endpoint": "ops",
        "created_at": "2026-03-02T09:00:00+00:00",
        "attempt": 2,
    }
    assert json.loads(request.body.decode("utf-8"))["subject"] == "欠租两个月"
    assert result.ok


def test_a_wrong_secret_is_refused_and_not_retried(receiver: WebhookReceiver) -> None:
    result = WebhookConnector({"ops": receiver.url}, "not-the-secret", timeout=2).send(message())

    assert (result.ok, result.retry) == (False, False)
    assert result.error == 'HTTP 401: {"error": "bad signature"}'
    assert receiver.accepted() == []


def test_a_stale_clock_is_refused_as_a_replay(receiver: WebhookReceiver) -> None:
    connector = WebhookConnector(
        {"ops": receiver.url}, SECRET, timeout=2, wall_clock=lambda: 1_000_000_000
    )

    assert not connector.send(message()).ok


def test_retries_repeat_the_delivery_id_so_receivers_take_it_once(
    receiver: WebhookReceiver,
) -> None:
    receiver.script(502)
    connector = WebhookConnector({"ops": receiver.url}, SECRET, timeout=2)

    first, second = connector.send(message()), connector.send(message())

    assert (first.ok, first.retry, second.ok) == (False, True, True)
    assert len(receiver.received) == 2
    assert len(receiver.accepted()) == 1


def test_an_unknown_endpoint_is_a_permanent_failure(receiver: WebhookReceiver) -> None:
    result = WebhookConnector({"ops": receiver.url}, SECRET).send(message("finance"))

    assert (result.ok, result.retry, result.error) == (
        False,
        False,
        "no webhook endpoint 'finance'",
    )


def test_webhooks_need_endpoints_and_a_secret() -> None:
    endpoints = {"ops": "https://ops.example/hook"}
    assert WebhookConnector.from_settings(Settings(webhooks=endpoints)) is None
    assert WebhookConnector.from_settings(Settings(webhook_secret="s")) is None
    assert WebhookConnector.from_settings(Settings(webhooks=endpoints, webhook_secret="s"))
