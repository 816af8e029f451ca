"""The outbox and the rate-limit counters of migration 0008 as SQLAlchemy Core.

A row's status moves `queued → sending → sent`; a failed attempt that may be retried goes to
`failed` (due again at `next_attempt_at`), the last one, or a permanent refusal, to `dead`;
a recipient without an address is `skipped`. `queued`, `sending` and `failed` are the live
statuses; the others are final until an administrator retries the row.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.types import BigId, UTCDateTime

QUEUED, SENDING, SENT, FAILED, SKIPPED, DEAD = (
    "queued",
    "sending",
    "sent",
    "failed",
    "skipped",
    "dead",
)
STATUSES = (QUEUED, SENDING, SENT, FAILED, SKIPPED, DEAD)
DUE = (QUEUED, FAILED)  # what a worker may claim once `next_attempt_at` has come
RETRYABLE = (FAILED, DEAD)  # what an administrator may queue again

metadata = sa.MetaData()
outbox = sa.Table(
    "anju_outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("recipient", sa.String(100), nullable=False),  # a username, or an endpoint name
    sa.Column("address", sa.String(100)),  # masked: 138****5678, z***@example.org
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("about_kind", sa.String(40)),
    sa.Column("about_id", sa.BigInteger),
    sa.Column("key", sa.String(200)),  # idempotency: one row per key, ever
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=False),  # runtime clock
    sa.Column("locked_until", UTCDateTime()),  # a `sending` row's claim ends then
    sa.Column("last_error", sa.Text),  # or why the row was skipped
    sa.Column("provider_id", sa.String(200)),  # the gateway's message id
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("sent_at", UTCDateTime()),
    sa.Index("uq_anju_outbox_key", "key", unique=True),
    sa.Index("ix_anju_outbox_due", "status", "next_attempt_at"),
    sa.Index("ix_anju_outbox_about", "about_kind", "about_id", "id"),
    sa.Index("ix_anju_outbox_channel", "channel", "id"),
)
quota = sa.Table(
    "anju_notification_quota",
    metadata,
    sa.Column("scope", sa.String(140), primary_key=True),  # "sms", or "sms:zhang"
    sa.Column("slot", sa.BigInteger, primary_key=True),  # the window's number since the epoch
    sa.Column("used", sa.Integer, nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)
