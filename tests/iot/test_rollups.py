"""Rollups: batches summed per hour (UTC) and per local day, merged with what is stored as
more readings arrive (in any order), and retention deleting old points and rollups in chunks
without touching what is still kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from iot.tables import rollups, telemetry
from iot.telemetry.retention import purge_expired
from iot.telemetry.rollups import aggregate, day_bucket, hour_bucket
from iot.telemetry.series import series
from tests.databases import isolated_database
from tests.iot.world import DEMO_MOMENT, World, device_world

TELEMETRY = "/api/iot/telemetry"
HOUR = 3_600_000
NOW_MS = int(DEMO_MOMENT.timestamp() * 1000)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.mark.parametrize(
    ("utc", "local_midnight_utc"),
    [
        (datetime(2026, 3, 1, 15, 59, tzinfo=UTC), datetime(2026, 2, 28, 16, 0, tzinfo=UTC)),
        (datetime(2026, 3, 1, 16, 0, tzinfo=UTC), datetime(2026, 3, 1, 16, 0, tzinfo=UTC)),
        (datetime(2026, 3, 1, 0, 0, tzinfo=UTC), datetime(2026, 2, 28, 16, 0, tzinfo=UTC)),
    ],
)
def test_days_begin_at_midnight_in_the_platform_time_zone(
    utc: datetime, local_midnight_utc: datetime
) -> None:
    assert day_bucket(ms(utc), "Asia/Shanghai") == ms(local_midnight_utc)


def test_days_follow_daylight_saving_time() -> None:
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # Berlin is UTC+2 in July
    assert day_bucket(ms(summer), "Europe/Berlin") == ms(datetime(2026, 6, 30, 22, 0, tzinfo=UTC))


def test_a_batch_is_summed_per_field_and_bucket() -> None:
    start = ms(datetime(2026, 3, 1, 1, 0, tzinfo=UTC))
    points = [(7, "power", start + 30 * 60_000, 30.0), (7, "power", start, 10.0)]
    points += [(7, "power", start + HOUR + 1, 50.0), (7, "energy", start, 1.0)]
    found = aggregate(points, "Asia/Shanghai")
    first_hour = found[(7, "power", "h", hour_bucket(start))]
    assert (first_hour.count, first_hour.sum, first_hour.min, first_hour.max) == (2, 40.0, 10, 30)
    assert (first_hour.first, first_hour.last) == (10.0, 30.0)
    day = found[(7, "power", "d", day_bucket(start, "Asia/Shanghai"))]
    assert (day.count, day.first, day.last, day.last_ts) == (3, 10.0, 50.0, start + HOUR + 1)
    assert len(found) == 5


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with isolated_database() as url, device_world(tmp_path_factory.mktemp("rollups"), url) as made:
        yield made


def post(world: World, auth: tuple[str, str], messages: list[dict[str, object]]) -> None:
    response = world.device_client.post(TELEMETRY, json={"messages": messages}, auth=auth)
    assert response.status_code == 200, response.text


def test_later_batches_merge_into_the_stored_rollups(world: World) -> None:
    meter = world.add_device("electricity_meter", world.units()[0]["id"])
    hour = NOW_MS - NOW_MS % HOUR - HOUR
    post(world, meter.auth, [{"ts": hour + 20 * 60_000, "values": {"energy": 20.0, "power": 5}}])
    post(world, meter.auth, [{"ts": hour + 40 * 60_000, "values": {"energy": 25.0, "power": 1}}])
    post(world, meter.auth, [{"ts": hour + 10 * 60_000, "values": {"energy": 18.0, "power": 9}}])
    with world.runtime.engine.connect() as conn:
        (energy,) = series(conn, meter.id, "energy", hour, hour + HOUR - 1, "hour")
        (power,) = series(conn, meter.id, "power", hour, hour + HOUR - 1, "hour")
    assert (energy["count"], energy["first"], energy["last"]) == (3, 18.0, 25.0)
    assert (power["min"], power["max"], power["avg"]) == (1, 9, 5)


def test_booleans_and_strings_are_stored_but_not_rolled_up(world: World) -> None:
    lock = world.add_device("smart_lock", world.units()[1]["id"])
    post(world, lock.auth, [{"values": {"locked": True, "unlock_method": "card", "battery": 9}}])
    with world.runtime.engine.connect() as conn:
        fields = conn.execute(
            sa.select(rollups.c.field).where(rollups.c.device_id == lock.id).distinct()
        ).scalars()
        assert set(fields) == {"battery"}
        raw = series(conn, lock.id, "unlock_method", NOW_MS - 1, NOW_MS, "raw", "string")
    assert raw == [{"ts": NOW_MS, "value": "card"}]


def test_retention_deletes_old_points_and_rollups_in_chunks(world: World) -> None:
    lock = world.add_device("smart_lock", world.units()[2]["id"])  # raw kept 30 days
    old = [{"ts": NOW_MS - (40 * 24 + i) * HOUR, "values": {"battery": 50 + i}} for i in range(7)]
    recent = [{"ts": NOW_MS - i * HOUR, "values": {"battery": 80}} for i in range(3)]
    post(world, lock.auth, old + recent)
    later = DEMO_MOMENT + timedelta(days=400)  # hourly rollups are kept 365 days

    purged = purge_expired(world.runtime.engine, world.catalog, DEMO_MOMENT, chunk=3)
    assert purged.raw >= 7 and purged.hourly == 0 and purged.daily == 0
    with world.runtime.engine.connect() as conn:
        left = conn.execute(
            sa.select(telemetry.c.ts).where(telemetry.c.device_id == lock.id)
        ).scalars()
        assert sorted(left) == sorted(m["ts"] for m in recent)  # type: ignore[type-var]
        assert (
            conn.execute(
                sa.select(sa.func.count()).where(
                    rollups.c.device_id == lock.id, rollups.c.period == "h"
                )
            ).scalar_one()
            == 10
        )

    purged = purge_expired(world.runtime.engine, world.catalog, later, chunk=3)
    assert purged.hourly >= 10 and purged.daily == 0
    with world.runtime.engine.connect() as conn:
        periods = conn.execute(
            sa.select(rollups.c.period).where(rollups.c.device_id == lock.id).distinct()
        ).scalars()
        assert list(periods) == ["d"]
