"""`Notification`: one message to one recipient on one channel, as callers queue it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Channel = Literal["in_app", "sms", "email", "webhook"]
CHANNELS: tuple[str, ...] = ("in_app", "sms", "email", "webhook")
SUBJECT_LENGTH = 255
KEY_LENGTH = 200


@dataclass(frozen=True)
class Notification:
    """What to tell whom, how.

    `recipient` is a username (for `webhook`, an endpoint name of `ANJU_WEBHOOKS`); `about`
    names what the notification is about, e.g. `("alert", 17)`, for the send log of that
    thing; `key` makes queueing idempotent: a key already in the outbox is not queued again.

    >>> Notification("sms", "zhang", "租约到期", "合同 HT-0001 将于 30 天后到期", ("alert", 17),
    ...              key="alert:17:sms:zhang")
    """

    channel: Channel
    recipient: str
    subject: str
    body: str
    about: tuple[str, int] | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}; expected one of {CHANNELS}")
        if not self.recipient:
            raise ValueError("a notification needs a recipient")
        if self.key is not None and not 0 < len(self.key) <= KEY_LENGTH:
            raise ValueError(f"a notification key has 1 to {KEY_LENGTH} characters")
