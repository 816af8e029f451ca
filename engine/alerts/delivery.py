"""Telling an alert's recipients: one notification per recipient and channel of the rule,
queued in the scan's transaction through `engine.notifications` (so nothing is sent for an
alert that rolls back). Each notification has an idempotency key per alert, action,
channel and recipient: a retried scan never sends twice.

With the `alerts_send` setting off (benchmarks, a staging copy of production data) nothing
is queued; the count of what would have been sent is still returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa

from engine.alerts.messages import AlertText, channel_text, notification_text
from engine.alerts.rules import CompiledRule
from engine.notifications import Notification, queue_notifications

if TYPE_CHECKING:
    from engine.runtime import Runtime


class Delivery(NamedTuple):
    """One alert to tell `usernames` about; `action` is `open` or `escalate` (a named
    tuple: a scan makes one per alert it opens)."""

    alert_id: int
    text: AlertText
    usernames: Sequence[str]
    action: str = "open"
    variants: Mapping[str, AlertText] = MappingProxyType({})
    """Texts of the channels whose words the rule's message template gives (`sms`, …)."""


def deliver(
    conn: sa.Connection,
    runtime: Runtime | None,
    rule: CompiledRule,
    deliveries: Sequence[Delivery],
) -> int:
    """Queue the notifications of `deliveries` on every channel of the rule; their number."""
    channels = rule.definition.channels
    if runtime is None or not sending(runtime):
        return sum(len(d.usernames) for d in deliveries) * len(channels)
    notes: list[Any] = []
    for delivery in deliveries:
        escalated = delivery.action == "escalate"
        default = notification_text(delivery.text, escalated)
        for channel in channels:
            variant = delivery.variants.get(channel)
            subject, body = (
                default if variant is None else channel_text(channel, variant, escalated)
            )
            for username in delivery.usernames:
                key = f"alert:{delivery.alert_id}:{delivery.action}:{channel}:{username}"
                about = ("alert", delivery.alert_id)
                notes.append(Notification(channel, username, subject, body, about, key))
    queue_notifications(conn, runtime, notes)
    return len(notes)


def sending(runtime: Runtime) -> bool:
    """Whether the runtime's settings let alerts be sent (`alerts_send`)."""
    return runtime.settings.alerts_send
