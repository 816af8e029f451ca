"""Notifications: an outbox of in-app, SMS, e-mail and webhook messages, delivered through
the job queue by the connectors plugins register (`anju_connectors`), with retries, rate
limits and a send log whose addresses are masked. See docs/notifications.md.

    with write_transaction(runtime.engine) as conn:  # nothing is sent unless this commits
        queue_notifications(conn, runtime, [Notification("sms", "zhang", "租约到期", body)])
"""

from engine.notifications.connector import Connector, DeliveryResult, OutgoingMessage, Sender
from engine.notifications.notification import CHANNELS, Channel, Notification
from engine.notifications.outbox import (
    DELIVER,
    deliveries,
    list_outbox,
    queue_notifications,
    retry_notification,
)
from engine.notifications.tables import STATUSES

__all__ = [
    "CHANNELS",
    "DELIVER",
    "STATUSES",
    "Channel",
    "Connector",
    "DeliveryResult",
    "Notification",
    "OutgoingMessage",
    "Sender",
    "deliveries",
    "list_outbox",
    "queue_notifications",
    "retry_notification",
]
