"""Connectors to the outside: SMS over an HTTP gateway, e-mail over SMTP, signed webhooks.

Each is offered when its settings are given (`ANJU_SMS_URL`, `ANJU_SMTP_HOST`,
`ANJU_WEBHOOKS` with `ANJU_WEBHOOK_SECRET`); a notification on a channel without a connector
is skipped with that reason in the outbox. See docs/notifications.md.
"""

from __future__ import annotations

import logging
from typing import Any

from connectors.email import EmailConnector
from connectors.sms import SmsConnector
from connectors.webhook import WebhookConnector
from engine.settings import Settings
from plugins.hookspecs import hookimpl

log = logging.getLogger("anju.connectors")


@hookimpl
def anju_connectors(settings: Settings) -> dict[str, Any]:
    """The configured channels' connectors by channel name."""
    if settings.webhooks and not settings.webhook_secret:
        log.error("ANJU_WEBHOOKS is set but ANJU_WEBHOOK_SECRET is not: webhooks are not sent")
    found = {
        "sms": SmsConnector.from_settings(settings),
        "email": EmailConnector.from_settings(settings),
        "webhook": WebhookConnector.from_settings(settings),
    }
    return {channel: connector for channel, connector in found.items() if connector is not None}
