"""Signed webhooks: a JSON POST to an endpoint named in `ANJU_WEBHOOKS`, with an HMAC-SHA256
signature over the timestamp and the body, in the scheme Stripe uses:

    X-Anju-Signature: t=1767225600,v1=5257a869e7ec…(64 hex digits)
    X-Anju-Delivery: <the outbox key, the same on every attempt>

`v1` is `hmac_sha256(ANJU_WEBHOOK_SECRET, f"{t}.{body}")` in hex. A receiver recomputes it over
the raw body, compares in constant time, and rejects a `t` more than five minutes from its own
clock (a replayed request) and a delivery id it has seen (a retry of one it took) —
`verify_signature` below does the first two. Retries go through the outbox.

The body: `{"id", "subject", "body", "about": {"kind", "id"} | null, "endpoint",
"created_at", "attempt"}`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from connectors.http_post import JsonPoster
from connectors.sms import delivery_result
from engine.notifications import DeliveryResult, OutgoingMessage
from engine.settings import Settings

SIGNATURE_HEADER = "X-Anju-Signature"
DELIVERY_HEADER = "X-Anju-Delivery"
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Anju-Signature` value for `body` sent at `timestamp` (Unix seconds)."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether `header` signs `body` with `secret` within `tolerance` seconds of `now`."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class WebhookConnector:
    """The `webhook` channel: the recipient of a notification is an endpoint's name."""

    channel = "webhook"

    def __init__(
        self,
        endpoints: Mapping[str, str],
        secret: str,
        timeout: float = 5.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoints = dict(endpoints)
        self.secret = secret
        self.timeout = timeout
        self.wall_clock = wall_clock  # the real time: receivers judge `t` by their own clock

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookConnector | None:
        """The connector of `ANJU_WEBHOOKS`, or None without endpoints or a secret."""
        if not settings.webhooks or not settings.webhook_secret:
            return None
        return cls(settings.webhooks, settings.webhook_secret, settings.webhook_timeout_seconds)

    @contextmanager
    def session(self) -> Iterator[WebhookSender]:
        with JsonPoster(self.timeout) as poster:
            yield WebhookSender(self, poster)

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        with self.session() as sender:
            return sender.send(message)

    def payload(self, message: OutgoingMessage) -> bytes:
        about = {"kind": message.about[0], "id": message.about[1]} if message.about else None
        document = {
            "id": message.key,
            "subject": message.subject,
            "body": message.body,
            "about": about,
            "endpoint": message.address,
            "created_at": message.created_at.isoformat(),
            "attempt": message.attempt,
        }
        return json.dumps(document, ensure_ascii=False).encode("utf-8")


class WebhookSender:
    def __init__(self, connector: WebhookConnector, poster: JsonPoster) -> None:
        self.connector = connector
        self.poster = poster

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        url = self.connector.endpoints.get(message.address)
        if url is None:
            return DeliveryResult.failed(f"no webhook endpoint {message.address!r}", retry=False)
        body = self.connector.payload(message)
        timestamp = int(self.connector.wall_clock())
        headers = {
            SIGNATURE_HEADER: sign(self.connector.secret, timestamp, body),
            DELIVERY_HEADER: message.key,
        }
        return delivery_result(self.poster.post(url, body, headers))
