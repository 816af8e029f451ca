"""Devices posting telemetry over HTTP, and people reading it back: accepted readings show in
the device's state and series, refused ones are named by path, kept and counted, duplicates
are stored once, bad credentials and people's tokens are turned away, and reading rights
follow the device record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from iot.readings import Reading, on_readings
from iot.tables import rejects, telemetry
from tests.databases import isolated_database
from tests.iot.world import DEMO_MOMENT, Handle, World, device_world

TELEMETRY = "/api/iot/telemetry"
NOW_MS = int(DEMO_MOMENT.timestamp() * 1000)
HANDED_ON: list[tuple[str, list[Reading]]] = []


@on_readings
def _remember(runtime: object, catalog: object, device: object, readings: list[Reading]) -> None:
    HANDED_ON.append((getattr(device, "code", "?"), readings))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with isolated_database() as url, device_world(tmp_path_factory.mktemp("ingest"), url) as made:
        yield made


@pytest.fixture
def lock(world: World) -> Handle:
    return world.add_device("smart_lock", world.units()[0]["id"])


def stored(world: World, device_id: int) -> list[tuple[str, int, float | None, str | None]]:
    with world.runtime.engine.connect() as conn:
        query = (
            sa.select(telemetry.c.field, telemetry.c.ts, telemetry.c.value, telemetry.c.text)
            .where(telemetry.c.device_id == device_id)
            .order_by(telemetry.c.ts, telemetry.c.field)
        )
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def test_a_reading_shows_in_the_state_and_the_series(world: World, lock: Handle) -> None:
    response = world.device_client.post(
        TELEMETRY, json={"values": {"locked": True, "battery": 87}}, auth=lock.auth
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1, "rejected": []}

    detail = world.people["operator"].get(f"/api/iot/devices/{lock.id}").json()
    assert detail["state"]["online"] is True
    assert detail["state"]["values"] == {"locked": True, "battery": 87}
    assert detail["state"]["messages"] == 1 and detail["state"]["points"] == 2
    battery = next(f for f in detail["telemetry"] if f["field"] == "battery")
    assert battery["unit"] == "%" and battery["value"] == 87 and battery["label"] == "电量"

    series = world.people["operator"].get(
        f"/api/iot/devices/{lock.id}/telemetry", params={"field": "locked"}
    )
    assert series.status_code == 200, series.text
    assert series.json()["points"] == [{"ts": NOW_MS, "value": True}]


def test_a_batch_keeps_the_good_messages_and_names_the_bad(world: World, lock: Handle) -> None:
    batch = {
        "messages": [
            {"ts": NOW_MS - 60_000, "values": {"battery": 90}},
            {"ts": NOW_MS - 50_000, "values": {"battery": 101}},
            {"ts": "2026-03-01T01:59:30Z", "values": {"unlock_method": "telepathy"}},
            {"ts": NOW_MS + 10 * 60_000, "values": {"battery": 80}},
            {"ts": NOW_MS - 40_000, "values": {"colour": "red", "locked": "yes"}},
            {"values": {}},
        ]
    }
    response = world.device_client.post(TELEMETRY, json=batch, auth=lock.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["path"]) for r in body["rejected"]] == [
        (1, "messages[1].values.battery"),
        (2, "messages[2].values.unlock_method"),
        (3, "messages[3].ts"),
        (4, "messages[4].values.colour"),
        (4, "messages[4].values.locked"),
    ]
    assert stored(world, lock.id) == [("battery", NOW_MS - 60_000, 90.0, None)]

    detail = world.people["operator"].get(f"/api/iot/devices/{lock.id}").json()
    assert detail["state"]["rejected"] == 4
    assert "locked" in detail["state"]["last_reject"]
    kept = world.people["operator"].get(f"/api/iot/devices/{lock.id}/rejects").json()["items"]
    assert len(kept) == 4 and all(item["transport"] == "http" for item in kept)
    assert '"colour"' in kept[0]["payload"]


def test_nothing_accepted_is_a_422_naming_every_problem(world: World, lock: Handle) -> None:
    response = world.device_client.post(
        TELEMETRY, json={"values": {"battery": -1, "tamper": 1}}, auth=lock.auth
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert {d["path"] for d in error["details"]} == {"values.battery", "values.tamper"}
    assert stored(world, lock.id) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 422),
        (b'{"messages": []}', 422),
        (b'{"messages": ' + b"[" + b",".join([b'{"values": {}}'] * 1001) + b"]}", 422),
    ],
)
def test_unreadable_bodies_are_refused_and_counted(
    world: World, lock: Handle, body: bytes, status: int
) -> None:
    response = world.device_client.post(
        TELEMETRY, content=body, headers={"content-type": "application/json"}, auth=lock.auth
    )
    assert response.status_code == status
    assert response.json()["error"]["details"]
    detail = world.people["operator"].get(f"/api/iot/devices/{lock.id}").json()
    assert detail["state"]["rejected"] == 1 and detail["state"]["online"] is False


def test_a_message_sent_twice_is_stored_once(world: World, lock: Handle) -> None:
    HANDED_ON.clear()
    message = {"ts": NOW_MS - 1000, "values": {"battery": 55, "locked": False}}
    for _ in range(2):
        response = world.device_client.post(TELEMETRY, json=message, auth=lock.auth)
        assert response.json() == {"accepted": 1, "rejected": []}
    assert len(stored(world, lock.id)) == 2
    mine = [readings for code, readings in HANDED_ON if code == lock.code]
    assert len(mine) == 1 and mine[0][0].values == {"battery": 55, "locked": False}
    hourly = world.people["operator"].get(
        f"/api/iot/devices/{lock.id}/telemetry",
        params={"field": "battery", "resolution": "hour"},
    )
    assert [p["count"] for p in hourly.json()["points"]] == [1]


def test_readings_are_handed_on_oldest_first_with_the_values_before(
    world: World, lock: Handle
) -> None:
    HANDED_ON.clear()
    batch = {
        "messages": [
            {"ts": NOW_MS - 1000, "values": {"battery": 70}},
            {"ts": NOW_MS - 3000, "values": {"battery": 72, "locked": True}},
        ]
    }
    world.device_client.post(TELEMETRY, json=batch, auth=lock.auth)
    (code, readings), *_ = HANDED_ON
    assert code == lock.code
    assert [(r.ts, dict(r.values), dict(r.previous)) for r in readings] == [
        (NOW_MS - 3000, {"battery": 72, "locked": True}, {}),
        (NOW_MS - 1000, {"battery": 70}, {"battery": 72, "locked": True}),
    ]
    state = world.people["operator"].get(f"/api/iot/devices/{lock.id}").json()["state"]
    assert state["values"] == {"battery": 70, "locked": True}


def test_a_late_reading_is_stored_but_leaves_the_latest_values(world: World, lock: Handle) -> None:
    world.device_client.post(TELEMETRY, json={"values": {"battery": 60}}, auth=lock.auth)
    late = {"ts": NOW_MS - 3_600_000, "values": {"battery": 99}}
    assert world.device_client.post(TELEMETRY, json=late, auth=lock.auth).status_code == 200
    state = world.people["operator"].get(f"/api/iot/devices/{lock.id}").json()["state"]
    assert state["values"] == {"battery": 60}
    assert len(stored(world, lock.id)) == 2


@pytest.mark.parametrize(
    "auth", [("NO-SUCH-LOCK", "whatever"), ("LOCK", "wrong secret"), None], ids=str
)
def test_bad_credentials_are_401_and_unknown_codes_are_kept(
    world: World, lock: Handle, auth: tuple[str, str] | None
) -> None:
    if auth is not None and auth[0] == "LOCK":
        auth = (lock.code, auth[1])

    def unknown() -> int:
        with world.runtime.engine.connect() as conn:
            query = sa.select(sa.func.count()).where(rejects.c.code == "NO-SUCH-LOCK")
            return int(conn.execute(query).scalar_one())

    before = unknown()
    body = {"values": {"battery": 1}}
    if auth is None:
        response = world.device_client.post(TELEMETRY, json=body)
    else:
        response = world.device_client.post(TELEMETRY, json=body, auth=auth)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert unknown() - before == (1 if auth and auth[0] == "NO-SUCH-LOCK" else 0)
    assert stored(world, lock.id) == []


def test_a_person_cannot_post_telemetry(world: World) -> None:
    response = world.people["operator"].post(TELEMETRY, json={"values": {"battery": 1}})
    assert response.status_code == 401


def test_a_device_cannot_read_devices(world: World, lock: Handle) -> None:
    response = world.device_client.get(f"/api/iot/devices/{lock.id}", auth=lock.auth)
    assert response.status_code == 401


def test_the_device_list_filters_by_type_online_and_unit(world: World) -> None:
    unit = world.units()[5]["id"]
    breaker = world.add_device("smart_breaker", unit)
    meter = world.add_device("water_meter", unit)
    world.device_client.post(TELEMETRY, json={"values": {"volume": 12.5}}, auth=meter.auth)
    operator = world.people["operator"]
    listed = operator.get("/api/iot/devices", params={"unit": unit}).json()["items"]
    assert {item["code"]: item["online"] for item in listed} == {
        breaker.code: False,
        meter.code: True,
    }
    online = operator.get("/api/iot/devices", params={"unit": unit, "online": "true"}).json()
    assert [item["values"] for item in online["items"]] == [{"volume": 12.5}]
    typed = operator.get("/api/iot/devices", params={"unit": unit, "type": "smart_breaker"})
    assert [item["code"] for item in typed.json()["items"]] == [breaker.code]


def test_series_parameters_are_checked(world: World, lock: Handle) -> None:
    url = f"/api/iot/devices/{lock.id}/telemetry"
    operator = world.people["operator"]
    bad = operator.get(url, params={"field": "colour", "resolution": "week"})
    assert bad.status_code == 422
    assert {d["path"] for d in bad.json()["error"]["details"]} == {"resolution"}
    unknown = operator.get(url, params={"field": "colour"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["path"] == "field"
    assert operator.get("/api/iot/devices/999999/telemetry?field=battery").status_code == 404


def test_hourly_and_daily_rollups_follow_the_readings(world: World) -> None:
    meter = world.add_device("electricity_meter", world.units()[1]["id"])
    start = NOW_MS - 3 * 3_600_000
    batch = {
        "messages": [
            {"ts": start + i * 600_000, "values": {"energy": 100.0 + i, "power": 10.0 * i}}
            for i in range(18)
        ]
    }
    assert world.device_client.post(TELEMETRY, json=batch, auth=meter.auth).status_code == 200
    url = f"/api/iot/devices/{meter.id}/telemetry"
    span = {"from": start - 3_600_000, "to": NOW_MS}
    hours = world.people["operator"].get(
        url, params={"field": "energy", "resolution": "hour", **span}
    )
    assert [(p["count"], p["first"], p["last"]) for p in hours.json()["points"]] == [
        (6, 100.0, 105.0),
        (6, 106.0, 111.0),
        (6, 112.0, 117.0),
    ]
    day = world.people["operator"].get(url, params={"field": "power", "resolution": "day", **span})
    (point,) = day.json()["points"]
    assert point["count"] == 18 and point["min"] == 0 and point["max"] == 170
    assert point["avg"] == pytest.approx(85.0)
    local_midnight = DEMO_MOMENT.replace(hour=16) - timedelta(days=1)  # 00:00 in Shanghai
    assert point["ts"] == int(local_midnight.timestamp() * 1000)


def test_issuing_a_secret_needs_update_rights_and_is_audited(world: World, lock: Handle) -> None:
    answer = world.admin.post(f"/api/iot/devices/{lock.id}/secret")
    assert answer.status_code == 200, answer.text
    secret = answer.json()["secret"]
    old = world.device_client.post(TELEMETRY, json={"values": {}}, auth=lock.auth)
    assert old.status_code == 401
    new = world.device_client.post(TELEMETRY, json={"values": {}}, auth=(lock.code, secret))
    assert new.status_code == 200
    audit = world.admin.get("/api/audit", params={"action": "device.secret"}).json()
    assert any(str(item.get("record_id")) == str(lock.id) for item in audit["items"])
    assert secret not in str(audit)
