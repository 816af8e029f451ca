"""What the engine hands a connector and what it gets back.

A connector is the adapter of one channel to the outside (an SMS gateway, an SMTP server,
webhook endpoints). Plugins register them on the `anju_connectors` hook by channel name; the
built-in ones are in `connectors/` (`plugins/builtin/connectors.py` registers them). The engine
never imports a connector: it finds one in `runtime.extensions.connectors[channel]`.

    class PagerConnector:
        channel = "pager"

        @contextmanager
        def session(self) -> Iterator[Sender]:  # one connection for a batch of messages
            with open_pager_link() as link:
                yield PagerSender(link)

        def send(self, message: OutgoingMessage) -> DeliveryResult:
            with self.session() as sender:
                return sender.send(message)
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class OutgoingMessage:
    """One outbox row on its way out. `address` is the real phone number, e-mail address or
    endpoint name, read at delivery time; `key` is stable across attempts, for the provider
    to recognise a repeated send."""

    id: int
    key: str
    channel: str
    recipient: str
    address: str
    subject: str
    body: str
    about: tuple[str, int] | None
    created_at: datetime
    attempt: int


@dataclass(frozen=True)
class DeliveryResult:
    """How one send went. `retry` says whether a failure may pass if tried again (a timeout,
    a 5xx, a 429) or is permanent (a 4xx: a wrong number, a refused address)."""

    ok: bool
    provider_id: str | None = None
    error: str | None = None
    retry: bool = False

    @classmethod
    def sent(cls, provider_id: str | None = None) -> DeliveryResult:
        return cls(True, provider_id=provider_id)

    @classmethod
    def failed(cls, error: str, retry: bool) -> DeliveryResult:
        return cls(False, error=error[:500], retry=retry)


class Sender(Protocol):
    """Sends messages over one open connection (an HTTP keep-alive, an SMTP session). A
    sender may also offer `send_many(messages) -> list[DeliveryResult]` (one result per
    message, in order), which the engine then uses for a whole batch — a gateway with a
    batch API takes many messages per request."""

    def send(self, message: OutgoingMessage) -> DeliveryResult: ...


@runtime_checkable
class Connector(Protocol):
    """The adapter of one channel: `session()` opens a connection for a batch, `send` sends
    one message on a connection of its own. Neither raises for a failed delivery: a failure
    is a `DeliveryResult` with `ok=False`."""

    channel: str

    def session(self) -> AbstractContextManager[Sender]: ...

    def send(self, message: OutgoingMessage) -> DeliveryResult: ...
