"""A real SMTP server for tests: aiosmtpd's Controller on 127.0.0.1 in a thread, recording
each message; addresses starting `bounce` are refused (550), `busy` deferred (451)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "anju", "mail-secret"


@dataclass
class Mailbox:
    """What the server received: envelopes and parsed messages, and who logged in."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("busy"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        ):
            self.logins.append(data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server(
    tls: ssl.SSLContext | None = None, auth: bool = False, implicit_tls: bool = False
) -> Iterator[tuple[Mailbox, int]]:
    """A running SMTP server and its port; with `tls`, STARTTLS is offered (and required),
    or with `implicit_tls` the whole connection is TLS (SMTPS)."""
    mailbox = Mailbox()
    extra: dict[str, Any] = {}
    if tls is not None and implicit_tls:
        extra.update(ssl_context=tls)
    elif tls is not None:
        extra.update(tls_context=tls, require_starttls=True)
    if auth:
        extra.update(authenticator=mailbox.authenticate, auth_require_tls=tls is not None)
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **extra)
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()
