"""Rate limits: per channel and recipient per hour, and per channel per second. A row over a
limit waits, queued, for the next window; it is never dropped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.testing import FakeGateway
from engine.clock import FixedClock
from engine.notifications import Notification, queue_notifications
from engine.notifications.delivery import deliver
from engine.runtime import Runtime
from tests.engine.notifications.conftest import add_people, notification_settings, rows


def limited_runtime(
    tmp_path: Path, database_url: str | None, gateway: FakeGateway, clock: FixedClock, **limits: int
) -> Runtime:
    settings = notification_settings(tmp_path, database_url, gateway, **limits)
    runtime = Runtime.create(settings, clock)
    runtime.start()
    add_people(runtime)
    return runtime


@pytest.fixture
def started(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database_url: str | None,
    gateway: FakeGateway,
    clock: FixedClock,
) -> Iterator[Runtime]:
    runtime = limited_runtime(tmp_path, database_url, gateway, clock, **request.param)
    try:
        yield runtime
    finally:
        runtime.dispose()


def queue(runtime: Runtime, recipients: list[str]) -> None:
    with runtime.engine.begin() as conn:
        notifications = [Notification("sms", r, "s", f"b{i}") for i, r in enumerate(recipients)]
        queue_notifications(conn, runtime, notifications)


def statuses(runtime: Runtime) -> list[tuple[str, str]]:
    return [(r["recipient"], r["status"]) for r in rows(runtime)]


@pytest.mark.parametrize("started", [{"notification_per_recipient_hour": 2}], indirect=True)
def test_a_recipient_gets_at_most_n_per_hour_and_the_rest_waits(
    started: Runtime, gateway: FakeGateway, clock: FixedClock
) -> None:
    queue(started, ["zhang", "zhang", "zhang", "li"])
    started.jobs.run_pending()

    assert statuses(started) == [
        ("zhang", "sent"),
        ("zhang", "sent"),
        ("zhang", "queued"),
        ("li", "sent"),
    ]
    waiting = rows(started)[2]
    assert waiting["attempts"] == 0  # waiting is not an attempt
    assert waiting["next_attempt_at"] == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # next hour

    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    started.jobs.run_pending()
    assert [s for _, s in statuses(started)] == ["sent"] * 4
    assert gateway.count() == 4


@pytest.mark.parametrize("started", [{"notification_per_second": 3}], indirect=True)
def test_the_gateway_gets_at_most_n_per_second(
    started: Runtime, gateway: FakeGateway, clock: FixedClock
) -> None:
    queue(started, ["zhang", "li"] * 4)
    started.jobs.run_pending()
    assert gateway.count() == 3

    clock.advance(seconds=1)
    started.jobs.run_pending()
    assert gateway.count() == 6

    clock.advance(seconds=1)
    started.jobs.run_pending()
    assert gateway.count() == 8
    assert {s for _, s in statuses(started)} == {"sent"}


@pytest.mark.parametrize("started", [{"notification_per_second": 2}], indirect=True)
def test_two_runtimes_share_one_gateway_budget(
    started: Runtime, gateway: FakeGateway, clock: FixedClock
) -> None:
    """The counters are in the database: another process's worker uses the same budget."""
    other = Runtime.create(started.settings, clock)
    try:
        queue(started, ["zhang", "li", "zhang", "li"])
        ids = [r["id"] for r in rows(started)]
        first = deliver(started, ids[:2])
        second = deliver(other, ids[2:])
    finally:
        other.dispose()

    assert (first.sent, second.sent, second.waiting) == (2, 0, 2)
    assert gateway.count() == 2
    assert rows(started)[3]["next_attempt_at"] == clock.now() + timedelta(seconds=1)
