"""E-mail over SMTP with `smtplib`: STARTTLS, SMTPS or plain (a local relay) as
`ANJU_SMTP_SECURITY` says, a login when `ANJU_SMTP_USER` is set, UTF-8 subject and body.

One SMTP session carries a whole delivery batch. An SMTP 4xx answer, a dropped connection or a
timeout is tried again later; a 5xx answer (an unknown mailbox, a refused sender) is final.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate

from engine.notifications import DeliveryResult, OutgoingMessage
from engine.settings import Settings


class EmailConnector:
    """The `email` channel over one SMTP server."""

    channel = "email"

    def __init__(
        self,
        host: str,
        port: int = 587,
        security: str = "starttls",
        user: str | None = None,
        password: str | None = None,
        sender: str = "anju@localhost",
        timeout: float = 10.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.user = user
        self.password = password
        self.sender = sender
        self.timeout = timeout
        self.tls_context = tls_context  # None: the system's trusted certificates

    @classmethod
    def from_settings(cls, settings: Settings) -> EmailConnector | None:
        """The connector `ANJU_SMTP_*` describe, or None without `ANJU_SMTP_HOST`."""
        if not settings.smtp_host:
            return None
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_security,
            settings.smtp_user,
            settings.smtp_password,
            settings.smtp_from,
            settings.smtp_timeout_seconds,
        )

    @contextmanager
    def session(self) -> Iterator[EmailSender]:
        """An SMTP session, secured and logged in; raises when the server cannot be reached
        or refuses the login (the engine then tries the batch again later)."""
        context = self.tls_context or ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.user:
                smtp.login(self.user, self.password or "")
            yield EmailSender(self, smtp)
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        with self.session() as sender:
            return sender.send(message)

    def compose(self, message: OutgoingMessage) -> EmailMessage:
        """The e-mail of `message`; its Message-ID is derived from the outbox key, so a
        repeated attempt carries the same one."""
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(usegmt=True)
        domain = self.sender.rpartition("@")[2] or "anju.localhost"
        digest = hashlib.sha256(message.key.encode("utf-8")).hexdigest()[:32]
        mail["Message-ID"] = f"<{digest}.{message.id}@{domain}>"
        mail.set_content(message.body or message.subject, charset="utf-8")
        return mail


class EmailSender:
    """Sends over one `EmailConnector.session()`."""

    def __init__(self, connector: EmailConnector, smtp: smtplib.SMTP) -> None:
        self.connector = connector
        self.smtp = smtp

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        mail = self.connector.compose(message)
        try:
            self.smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(
                f"{code} {text.decode('utf-8', 'replace')}"
                for code, text in exc.recipients.values()
            )
            return DeliveryResult.failed(f"refused: {detail}", retry=all(c < 500 for c in codes))
        except smtplib.SMTPResponseException as exc:
            text = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            return DeliveryResult.failed(f"SMTP {exc.smtp_code}: {text}", retry=exc.smtp_code < 500)
        except (smtplib.SMTPException, OSError) as exc:
            raise ConnectionError(f"{type(exc).__name__}: {exc}") from exc
        return DeliveryResult.sent(str(mail["Message-ID"]))
