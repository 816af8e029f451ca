"""Fixtures for the notifications tests: a fake SMS gateway and a webhook receiver at the
network edge, a runtime on a fixed clock whose connectors point at them, and users with
phone numbers and e-mail addresses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.testing import FakeGateway, WebhookReceiver
from engine.auth.tables import user_table
from engine.auth.users import insert_user
from engine.clock import FixedClock
from engine.notifications.tables import outbox
from engine.runtime import Runtime
from engine.settings import Settings
from tests.databases import estate_settings

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = "whsec-test-2026"
PEOPLE = {
    "zhang": ("13812345678", "zhang@example.org"),
    "li": ("13987654321", None),
    "wang": (None, None),
}


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with FakeGateway() as fake:
        yield fake


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(SECRET) as fake:
        yield fake


def notification_settings(
    root: Path, database_url: str | None, gateway: FakeGateway, **overrides: Any
) -> Settings:
    """Estate settings with the SMS gateway, no rate limits unless given, short timeouts."""
    values: dict[str, Any] = {
        "sms_url": gateway.url,
        "sms_api_key": "key-123",
        "sms_sender": "安居",
        "sms_timeout_seconds": 0.5,
        "notification_per_recipient_hour": 0,
        "notification_per_second": 0,
        "notification_backoff_seconds": 30.0,
        "notification_max_attempts": 3,
        **overrides,
    }
    return estate_settings(root, database_url, **values)


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None, gateway: FakeGateway) -> Settings:
    return notification_settings(tmp_path, database_url, gateway)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def runtime(settings: Settings, clock: FixedClock) -> Iterator[Runtime]:
    """A started runtime on the fixed clock, with the users of `PEOPLE`."""
    started = Runtime.create(settings, clock)
    started.start()
    try:
        add_people(started)
        yield started
    finally:
        started.dispose()


def add_people(runtime: Runtime, people: dict[str, tuple[str | None, str | None]] = PEOPLE) -> None:
    with runtime.engine.begin() as conn:
        for username, (phone, email) in people.items():
            insert_user(conn, username, username, "-", None, START, phone=phone, email=email)


def rows(runtime: Runtime, **where: Any) -> list[dict[str, Any]]:
    """The outbox rows (all columns), oldest first."""
    query = sa.select(outbox).order_by(outbox.c.id)
    for name, value in where.items():
        query = query.where(outbox.c[name] == value)
    with runtime.engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def set_phone(runtime: Runtime, username: str, phone: str | None) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(
            user_table.update().where(user_table.c.username == username).values(phone=phone)
        )
