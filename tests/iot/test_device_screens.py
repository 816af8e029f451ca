"""The device screens as people use them: the list of the devices they may read (connection
in words, latest values, filters, pages), one device's page (facts, telemetry, chart,
counters, command history) and requesting a command from it, high-risk ones through a
second person's approval in the inbox."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from engine.database import write_transaction
from iot.tables import commands, device_states, rollups, telemetry
from tests.databases import isolated_database
from tests.html.browsing import HTML, Browser, browse
from tests.identity import USER_PASSWORD, create_user
from tests.iot.world import Handle, World, device_world

HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for the module (a fresh schema on PostgreSQL): the tests add their own
    devices and read only what they added."""
    with (
        isolated_database() as url,
        device_world(tmp_path_factory.mktemp("screens"), url) as built,
    ):
        yield built


@pytest.fixture(scope="module")
def fleet(world: World) -> dict[str, Handle]:
    """A lock heard from a minute ago, a water meter gone quiet, a breaker never heard
    from, and an environment monitor in maintenance."""
    units = world.units()
    found = {
        "lock": world.add_device("smart_lock", units[0]["id"], name="Front door"),
        "water": world.add_device("water_meter", units[1]["id"], name="Cold water"),
        "breaker": world.add_device("smart_breaker", units[2]["id"], name="Main breaker"),
        "monitor": world.add_device(
            "env_monitor", units[3]["id"], name="Air", status="maintenance"
        ),
    }
    now = _ms(world)
    values = {"locked": True, "battery": 87, "tamper": False}
    _heard(world, found["lock"], values, now - 60_000, online=True, messages=12, rejected=2)
    _heard(world, found["water"], {"volume": 12.5, "valve_open": True}, now - 5 * HOUR_MS)
    return found


@pytest.fixture(scope="module")
def operator(world: World) -> Browser:
    return browse(world.admin, "operator", USER_PASSWORD)


def _ms(world: World) -> int:
    return int(world.clock.now().timestamp() * 1000)


def _heard(
    world: World,
    device: Handle,
    values: dict[str, Any],
    at: int,
    online: bool = False,
    messages: int = 1,
    rejected: int = 0,
) -> None:
    """The state ingest leaves behind a device's last message."""
    with write_transaction(world.runtime.engine) as conn:
        conn.execute(
            device_states.insert().values(
                device_id=device.id,
                device_type=f"devices.{device.type_name}",
                online=online,
                last_seen=at,
                last_ts=at,
                values=json.dumps(values),
                messages=messages,
                points=messages * len(values),
                rejected=rejected,
                last_reject="values.battery: 140 is above the maximum 100" if rejected else None,
                online_since=None,
                offline_since=None,
            )
        )


def _page(browser: Browser, url: str) -> Any:
    response = browser.get(url)
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    return response


def _codes(html: str) -> set[str]:
    return set(re.findall(r'<tr id="device-\d+">\s*<td><a href="[^"]+">([^<]+)</a>', html))


# --- the list ------------------------------------------------------------------------------


def test_the_list_says_in_words_whether_each_device_is_online_with_its_latest_values(
    world: World, fleet: dict[str, Handle], operator: Browser
) -> None:
    html = _page(operator, "/iot/devices").text
    lock, water, breaker = fleet["lock"], fleet["water"], fleet["breaker"]
    assert {lock.code, water.code, breaker.code} <= _codes(html)
    row = html[html.index(f'id="device-{lock.id}"') :]
    row = row[: row.index("</tr>")]
    assert 'data-online="online">在线<' in row
    assert "电量: 87 %" in row and "已上锁: 是" in row
    assert "智能门锁" in row  # the type's label
    assert 'data-online="offline">离线<' in html
    assert 'data-online="never">从未上报<' in html
    assert 'href="/iot/devices/devices' not in html  # rows link to the device's own page
    assert f'href="/iot/devices/{lock.id}"' in html


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ("type=smart_lock", {"lock"}),
        ("online=online", {"lock"}),
        ("online=offline", {"water", "breaker", "monitor"}),
        ("status=maintenance", {"monitor"}),
    ],
)
def test_the_list_filters_by_type_connection_and_status(
    fleet: dict[str, Handle], operator: Browser, query: str, kept: set[str]
) -> None:
    html = _page(operator, f"/iot/devices?{query}").text
    assert _codes(html) & {h.code for h in fleet.values()} == {fleet[k].code for k in kept}


def test_the_list_finds_devices_by_their_housing_unit(
    world: World, fleet: dict[str, Handle], operator: Browser
) -> None:
    unit = world.units(
        world.table("housing_stock", "housing_unit").c.id == fleet["water"].housing_unit_id
    )[0]
    html = _page(operator, f"/iot/devices?unit={unit['code']}").text
    assert _codes(html) == {fleet["water"].code}
    assert f'value="{unit["code"]}"' in html  # the search stays in its box
    assert "没有符合条件的设备" in _page(operator, "/iot/devices?unit=NO-SUCH-UNIT").text


def test_a_bad_filter_is_named_above_an_empty_list(
    fleet: dict[str, Handle], operator: Browser
) -> None:
    response = operator.get("/iot/devices?type=toaster")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert 'id="errors"' in response.text and "device_type" in response.text  # type: ignore[attr-defined]


def test_the_list_pages_and_keeps_its_filters(world: World, fleet: dict[str, Handle]) -> None:
    units = world.units()
    extra = [world.add_device("water_meter", units[4]["id"]) for _ in range(50)]
    browser = browse(world.admin, "operator", USER_PASSWORD)
    first = _page(browser, "/iot/devices?type=water_meter").text
    assert "共 51 台设备" in first
    found = re.search(r'href="([^"]+)" rel="next"', first)
    assert found, first
    following = found.group(1).replace("&amp;", "&")
    assert "type=water_meter" in following
    second = _page(browser, following).text
    seen = _codes(first) | _codes(second)
    assert seen == {fleet["water"].code, *(h.code for h in extra)}
    assert len(_codes(second)) == 1


def test_street_officers_see_only_the_devices_of_their_own_street(
    world: World, fleet: dict[str, Handle]
) -> None:
    units = world.table("housing_stock", "housing_unit")
    regions = world.table("housing_stock", "region")
    unit = world.units(units.c.id == fleet["lock"].housing_unit_id)[0]
    street = world.rows("housing_stock", "region", regions.c.id == unit["street"])[0]
    elsewhere = world.rows(
        "housing_stock", "region", regions.c.level == "street", regions.c.id != street["id"]
    )[0]
    create_user(world.admin, "street_li", "street_officer", org_id=world.orgs[street["code"]])
    create_user(world.admin, "street_wu", "street_officer", org_id=world.orgs[elsewhere["code"]])
    own = browse(world.admin, "street_li", USER_PASSWORD)
    other = browse(world.admin, "street_wu", USER_PASSWORD)
    assert fleet["lock"].code in _codes(_page(own, "/iot/devices").text)
    assert _page(own, f"/iot/devices/{fleet['lock'].id}").status_code == 200
    assert _codes(_page(other, "/iot/devices").text) == set()
    assert other.get(f"/iot/devices/{fleet['lock'].id}").status_code == 404  # type: ignore[attr-defined]


def test_the_side_menu_leads_to_the_device_monitor(
    world: World, fleet: dict[str, Handle], operator: Browser
) -> None:
    home = _page(operator, "/").text
    menu = home[home.index('id="side-menu"') :]
    assert '<a href="/iot/devices">设备监控</a>' in menu[: menu.index("</nav>")]
    html = _page(operator, f"/iot/devices/{fleet['lock'].id}").text
    assert '<a href="/iot/devices" aria-current="page">设备监控</a>' in html


def test_the_screens_speak_english_when_asked(fleet: dict[str, Handle], operator: Browser) -> None:
    listing = _page(operator, "/iot/devices?lang=en").text
    assert 'data-online="online">Online<' in listing and "Battery: 87 %" in listing
    assert "Device monitor" in listing
    page = _page(operator, f"/iot/devices/{fleet['water'].id}?lang=en").text
    assert "Close the valve" in page and "another device supervisor approves it" in page


def test_the_screens_need_a_login(world: World, fleet: dict[str, Handle]) -> None:
    response = world.device_client.get("/iot/devices", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


# --- one device ----------------------------------------------------------------------------


def test_the_device_page_shows_facts_latest_telemetry_and_counters(
    world: World, fleet: dict[str, Handle], operator: Browser
) -> None:
    lock = fleet["lock"]
    html = _page(operator, f"/iot/devices/{lock.id}").text
    assert f"{lock.code} · Front door" in html
    assert 'id="device-online" data-online="online">在线<' in html
    assert "2026-03-01 09:59:00" in html  # last seen, on Shanghai's clock
    assert re.search(r"<th scope=\"row\">电量</th><td class=\"num\">87 %</td>", html)
    assert "智能门锁" in html and "启用" in html  # type and status by their labels
    assert re.search(r'id="counter-messages">12<', html)
    assert re.search(r'id="counter-rejected">2<', html)
    assert "140 is above the maximum 100" in html
    assert f'href="/devices/device/{lock.id}"' in html  # the record's own page


def test_the_chart_draws_raw_readings_for_a_day_and_rollups_for_longer(
    world: World, fleet: dict[str, Handle], operator: Browser
) -> None:
    breaker = fleet["breaker"]
    now = _ms(world)
    with write_transaction(world.runtime.engine) as conn:
        conn.execute(
            telemetry.insert(),
            [
                {
                    "device_id": breaker.id,
                    "field": "temperature",
                    "ts": now - m * 60_000,
                    "value": 40.0 + m,
                }
                for m in (10, 20, 30)
            ]
            + [
                {
                    "device_id": breaker.id,
                    "field": "temperature",
                    "ts": now - 3 * 24 * HOUR_MS,
                    "value": 99.0,
                }
            ],
        )
        bucket = (now // HOUR_MS - 30) * HOUR_MS
        conn.execute(
            rollups.insert().values(
                device_id=breaker.id,
                field="temperature",
                period="h",
                bucket=bucket,
                count=4,
                sum=200.0,
                min=35.0,
                max=65.0,
                first=35.0,
                last=65.0,
                first_ts=bucket,
                last_ts=bucket + 1,
            )
        )
    html = _page(operator, f"/iot/devices/{breaker.id}?field=temperature&range=24h").text
    island = re.search(
        r'<script type="application/json" id="device-chart-options">(.+?)</script>', html
    )
    assert island, html
    options = json.loads(island.group(1))
    points = options["series"][0]["data"]
    assert [p[1] for p in points] == [70.0, 60.0, 50.0]  # oldest first; 3 days ago is out
    assert points[-1][0] == "2026-03-01 09:50:00"
    assert "温度" in html and "°C" in html and "原始数据" in html

    week = _page(operator, f"/iot/devices/{breaker.id}?field=temperature&range=7d").text
    island = re.search(r'id="device-chart-options">(.+?)</script>', week)
    assert island
    series = {s["name"]: s["data"] for s in json.loads(island.group(1))["series"]}
    assert [p[1] for p in series["温度 · 均值"]] == [50.0]
    assert [p[1] for p in series["最小值"]] == [35.0] and [p[1] for p in series["最大值"]] == [65.0]
    assert "小时均值" in week

    empty = _page(operator, f"/iot/devices/{breaker.id}?field=power&range=30d").text
    assert 'id="no-points"' in empty


def test_the_chart_island_cannot_close_its_script(world: World, operator: Browser) -> None:
    units = world.units()
    device = world.add_device("env_monitor", units[5]["id"])
    now = _ms(world)
    with write_transaction(world.runtime.engine) as conn:
        conn.execute(
            telemetry.insert().values(device_id=device.id, field="co2", ts=now - 1000, value=900.0)
        )
    html = _page(operator, f"/iot/devices/{device.id}?field=co2").text
    island = html[html.index('id="device-chart-options">') :]
    assert "</script>" in island and "<\\/" not in island.split("</script>")[0]


# --- commands ------------------------------------------------------------------------------


def _command_rows(world: World, device: Handle) -> list[dict[str, Any]]:
    with world.runtime.engine.connect() as conn:
        query = sa.select(commands).where(commands.c.device_id == device.id).order_by(commands.c.id)
        return [dict(r) for r in conn.execute(query).mappings()]


def test_the_command_forms_follow_each_commands_parameter_schema(
    fleet: dict[str, Handle], operator: Browser
) -> None:
    html = _page(operator, f"/iot/devices/{fleet['lock'].id}").text
    assert 'id="command-form-read_unlock_log"' in html
    limit = 'id="command-read_unlock_log-limit" name="param.limit" value="" min="1" max="1000"'
    assert f'<input type="number" {limit} step="1">' in html
    assert re.search(r'<input type="datetime-local" id="command-read_unlock_log-since"', html)
    kind = html[html.index('id="command-issue_credential-kind"') :]
    assert " required" in kind[: kind.index(">")]
    assert '<option value="card">card</option>' in kind[: kind.index("</select>")]
    unlock = html[html.index('id="command-unlock"') :]
    unlock = unlock[: unlock.index("</details>")]
    assert "高风险" in unlock and "另一位设备主管批准" in unlock
    assert (
        'name="reason" placeholder="说明下发此指令的原因" maxlength="1000" required minlength="10"'
        in unlock
    )


def test_an_operator_requests_a_command_and_sees_it_in_the_history(
    world: World, fleet: dict[str, Handle], operator: Browser
) -> None:
    water = fleet["water"]
    form = {"command": "set_report_period", "param.minutes": "15"}
    response = operator.post(f"/iot/devices/{water.id}/commands", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    assert response.headers["location"] == f"/iot/devices/{water.id}"  # type: ignore[attr-defined]
    html = _page(operator, f"/iot/devices/{water.id}").text
    assert "指令已提交：设置上报周期（排队中）" in html
    [command] = _command_rows(world, water)
    assert json.loads(command["params"]) == {"minutes": 15}
    assert command["requested_by"] == "operator" and command["source"] == "user"
    row = html[html.index(f'id="command-row-{command["id"]}"') :]
    assert 'data-status="queued">排队中' in row and "operator" in row
    assert "指令已提交" not in _page(operator, f"/iot/devices/{water.id}").text  # shown once


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (
            {"command": "set_report_period", "param.minutes": "0"},
            "command-set_report_period-minutes",
            "minimum",
        ),
        (
            {"command": "set_report_period", "param.minutes": "many"},
            "command-set_report_period-minutes",
            "whole number",
        ),
        ({"command": "set_report_period"}, None, "minutes"),
        ({"command": "close_valve", "reason": "too short"}, "command-close_valve-reason", "10"),
    ],
)
def test_a_refused_command_comes_back_with_the_reason_and_nothing_is_queued(
    world: World, operator: Browser, form: dict[str, str], field: str | None, message: str
) -> None:
    units = world.units()
    meter = world.add_device("water_meter", units[6]["id"])
    response = operator.post(f"/iot/devices/{meter.id}/commands", data=form)
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    html = response.text  # type: ignore[attr-defined]
    assert "指令未提交" in html
    opened = html[html.index(f'<details id="command-{form["command"]}"') :]
    assert opened.startswith(f'<details id="command-{form["command"]}" open>')
    if field is not None:
        assert f'id="{field}-error">' in html
        error = html[html.index(f'id="{field}-error">') :]
        assert message in error[: error.index("</span>")]
    else:
        assert message in opened[: opened.index("</form>")]
    if "reason" in form:
        assert ">too short</textarea>" in html  # what was entered stays
    assert _command_rows(world, meter) == []


def test_a_high_risk_command_waits_for_a_second_person_in_the_inbox(
    world: World, fleet: dict[str, Handle], operator: Browser
) -> None:
    water = fleet["water"]
    reason = "住户报修漏水，需要远程关阀止损"
    form = {"command": "close_valve", "reason": reason}
    response = operator.post(f"/iot/devices/{water.id}/commands", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    html = _page(operator, f"/iot/devices/{water.id}").text
    assert "远程关阀（待审批）" in html
    command = _command_rows(world, water)[-1]
    assert command["status"] == "awaiting_approval" and command["approval_id"]
    row = html[html.index(f'id="command-row-{command["id"]}"') :]
    assert reason in row[: row.index("</tr>")]
    assert f'href="/devices/command_request/{command["approval_id"]}"' in row

    approver = browse(world.admin, "approver", USER_PASSWORD)
    inbox = _page(approver, "/inbox").text
    assert water.code in inbox and "远程关阀" in inbox
    request_page = _page(approver, f"/devices/command_request/{command['approval_id']}").text
    assert reason in request_page and "operator" in request_page and water.code in request_page


def test_a_form_without_the_sessions_csrf_token_is_refused(
    world: World, fleet: dict[str, Handle], operator: Browser
) -> None:
    water = fleet["water"]
    before = len(_command_rows(world, water))
    response = operator.client.post(
        f"/iot/devices/{water.id}/commands",
        data={"command": "read"},
        headers=HTML,
    )
    assert response.status_code == 403
    assert len(_command_rows(world, water)) == before


def test_readers_see_the_history_but_no_command_forms(
    world: World, fleet: dict[str, Handle]
) -> None:
    create_user(world.admin, "city_wang", "city_centre", org_id=min(world.orgs.values()))
    reader = browse(world.admin, "city_wang", USER_PASSWORD)
    water = fleet["water"]
    html = _page(reader, f"/iot/devices/{water.id}").text
    assert 'id="command-history"' in html and 'id="command-form-' not in html
    response = reader.post(f"/iot/devices/{water.id}/commands", data={"command": "read"})
    assert response.status_code in (403, 404)  # type: ignore[attr-defined]
    assert all(c["requested_by"] != "city_wang" for c in _command_rows(world, water))


def test_a_device_out_of_service_takes_no_commands(
    world: World, fleet: dict[str, Handle], operator: Browser
) -> None:
    monitor = fleet["monitor"]
    html = _page(operator, f"/iot/devices/{monitor.id}").text
    assert 'id="not-active"' in html and 'id="command-form-' not in html
    response = operator.post(
        f"/iot/devices/{monitor.id}/commands",
        data={"command": "set_report_period", "param.minutes": "5"},
    )
    assert response.status_code == 409  # type: ignore[attr-defined]
    assert _command_rows(world, monitor) == []


def test_an_unknown_device_is_a_not_found_page(operator: Browser, fleet: dict[str, Handle]) -> None:
    response = operator.get("/iot/devices/999999")
    assert response.status_code == 404  # type: ignore[attr-defined]
    assert "找不到" in response.text  # type: ignore[attr-defined]
