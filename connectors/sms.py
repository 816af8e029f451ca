"""SMS through an HTTP gateway: one JSON POST per message to `ANJU_SMS_URL`.

The request (a generic shape; a vendor's API is reached through a small relay or a plugin
with its own connector):

    POST <ANJU_SMS_URL>
    Content-Type: application/json; charset=utf-8
    X-Api-Key: <ANJU_SMS_API_KEY>
    Idempotency-Key: <the outbox key, the same on every attempt>

    {"id": "<the outbox key>", "to": "13812345678", "text": "租约到期\n合同 HT-0001 …",
     "sender": "安居"}

The gateway answers 2xx with `{"message_id": "…"}` (or `{"id": "…"}`) when it has accepted
the message. 408, 429, 5xx, timeouts and network errors are tried again later; any other
answer (400 for a malformed number, 401 for a wrong key) is final.

With `ANJU_SMS_BATCH` > 1 (gateways with a batch API, as most large ones have), up to that
many messages go in one request, and the gateway answers each:

    {"sender": "安居", "messages": [{"id": "…", "to": "…", "text": "…"}, …]}
    → 2xx {"results": [{"id": "…", "message_id": "…"},
                       {"id": "…", "error": "invalid number", "retry": false}, …]}

A message missing from `results` is tried again; a non-2xx answer applies to every message.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from connectors.http_post import Answer, JsonPoster
from engine.notifications import DeliveryResult, OutgoingMessage
from engine.settings import Settings


class SmsConnector:
    """The `sms` channel over a JSON HTTP gateway."""

    channel = "sms"

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        sender: str | None = None,
        timeout: float = 5.0,
        batch: int = 1,
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.sender = sender
        self.timeout = timeout
        self.batch = batch  # messages per request; 1: one request per message

    @classmethod
    def from_settings(cls, settings: Settings) -> SmsConnector | None:
        """The connector `ANJU_SMS_*` describe, or None without `ANJU_SMS_URL`."""
        if not settings.sms_url:
            return None
        return cls(
            settings.sms_url,
            settings.sms_api_key,
            settings.sms_sender,
            settings.sms_timeout_seconds,
            settings.sms_batch,
        )

    @contextmanager
    def session(self) -> Iterator[SmsSender]:
        """Messages sent on one kept-alive connection to the gateway."""
        with JsonPoster(self.timeout) as poster:
            yield SmsSender(self, poster)

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        with self.session() as sender:
            return sender.send(message)

    def request(self, message: OutgoingMessage) -> tuple[dict[str, object], dict[str, str]]:
        """The JSON body and the headers of `message`'s request."""
        body: dict[str, object] = {**_item(message), "sender": self.sender}
        return body, self.headers(message.key)

    def batch_request(
        self, messages: Sequence[OutgoingMessage]
    ) -> tuple[dict[str, object], dict[str, str]]:
        """The JSON body and the headers of a batch request."""
        body: dict[str, object] = {"sender": self.sender, "messages": [_item(m) for m in messages]}
        return body, self.headers(",".join(m.key for m in messages)[:200])

    def headers(self, key: str) -> dict[str, str]:
        headers = {"Idempotency-Key": key}
        if self.api_key:
            headers["X-Api-Key"] = self.api_key
        return headers


def _item(message: OutgoingMessage) -> dict[str, Any]:
    text = "\n".join(part for part in (message.subject, message.body) if part)
    return {"id": message.key, "to": message.address, "text": text}


class SmsSender:
    """Sends over one `SmsConnector.session()`."""

    def __init__(self, connector: SmsConnector, poster: JsonPoster) -> None:
        self.connector = connector
        self.poster = poster

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        body, headers = self.connector.request(message)
        answer = self.poster.post(self.connector.url, body, headers)
        return delivery_result(answer)

    def send_many(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        """Each message's result, in order: one request per message, or per
        `ANJU_SMS_BATCH` messages on a gateway with a batch API."""
        size = self.connector.batch
        if size <= 1:
            return [self.send(message) for message in messages]
        results: list[DeliveryResult] = []
        for start in range(0, len(messages), size):
            chunk = messages[start : start + size]
            body, headers = self.connector.batch_request(chunk)
            answer = self.poster.post(self.connector.url, body, headers)
            results += batch_results(answer, chunk)
        return results


def batch_results(answer: Answer, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
    """What a gateway's answer to a batch means for each of its messages."""
    if not answer.ok:
        return [DeliveryResult.failed(answer.describe(), retry=answer.retry)] * len(messages)
    found = answer.json()
    listed = found.get("results") if isinstance(found, dict) else None
    by_id = {str(item.get("id")): item for item in listed or [] if isinstance(item, dict)}
    results = []
    for message in messages:
        item = by_id.get(message.key)
        if item is None:
            results.append(DeliveryResult.failed("the gateway gave no result", retry=True))
        elif item.get("error"):
            retry = bool(item.get("retry", False))
            results.append(DeliveryResult.failed(str(item["error"]), retry=retry))
        else:
            named = item.get("message_id")
            results.append(DeliveryResult.sent(None if named is None else str(named)[:200]))
    return results


def delivery_result(answer: Answer) -> DeliveryResult:
    """What a gateway's answer means for the outbox row."""
    if not answer.ok:
        return DeliveryResult.failed(answer.describe(), retry=answer.retry)
    found = answer.json()
    provider_id = None
    if isinstance(found, dict):
        named = found.get("message_id", found.get("id"))
        provider_id = None if named is None else str(named)[:200]
    return DeliveryResult.sent(provider_id)
