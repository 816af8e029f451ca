"""A device operator finds a breaker from the side menu, reads its latest values and its
temperature chart (drawn, no script errors), and asks for a power cut with a reason; a
device supervisor approves it from the inbox, and the operator sees the command queued."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from iot.registry import load_device
from iot.telemetry.ingest import ingest
from tests.browser.live import LiveServer, journey
from tests.identity import USER_PASSWORD, create_user

REASON = "线路过热冒烟，需立即远程断电排查"


def _breaker(server: LiveServer) -> dict[str, Any]:
    """A breaker in the first demo unit, which has reported its temperature for an hour."""
    admin = server.admin
    unit = admin.get("/api/housing_stock/housing_unit?limit=1").json()["items"][0]
    body = {"code": "BRK-JOURNEY-01", "name": "配电箱空开", "device_type": "smart_breaker"}
    response = admin.post("/api/devices/device", json={**body, "housing_unit": unit["id"]})
    assert response.status_code == 201, response.text
    device: dict[str, Any] = response.json()
    runtime = server.runtime
    catalog = runtime.require_catalog()
    now = server.clock.now()
    messages = [
        {
            "ts": (now - timedelta(minutes=m)).isoformat(),
            "values": {"switched_on": True, "temperature": 40.0 + m / 6, "power": 800.0},
        }
        for m in range(60, -1, -5)
    ]
    with runtime.engine.connect() as conn:
        breaker = load_device(conn, catalog, device["id"])
    result = ingest(runtime, catalog, breaker, messages, "http", now)  # as POST /api/iot/telemetry
    assert result.accepted == len(messages), result
    return device


def test_an_operator_asks_for_a_power_cut_and_a_supervisor_approves_it(
    demo_server: LiveServer,
) -> None:
    admin = demo_server.admin
    orgs = admin.get("/api/auth/orgs?limit=500").json()
    items = orgs["items"] if isinstance(orgs, dict) else orgs
    city = min(items, key=lambda org: len(org["code"]))["id"]
    create_user(admin, "zhou", "device_operator", org_id=city)  # type: ignore[arg-type]
    create_user(admin, "qian", "device_supervisor", org_id=city)  # type: ignore[arg-type]
    device = _breaker(demo_server)
    page_url = f"/iot/devices/{device['id']}"

    with journey(demo_server, "devices") as tab:
        problems: list[str] = []
        tab.page.on("pageerror", lambda error: problems.append(str(error)))
        tab.page.on(
            "console",
            lambda m: (
                problems.append(m.text)
                if m.type == "error" and "favicon" not in m.location.get("url", "")
                else None
            ),
        )
        tab.log_in("zhou", USER_PASSWORD)
        tab.page.click("#side-menu a[href='/iot/devices']")
        tab.page.wait_for_url(re.compile(r".*/iot/devices$"))
        row = tab.page.locator(f"#device-{device['id']}")
        assert row.locator("[data-online]").inner_text() == "在线"
        assert "温度: 40 °C" in row.inner_text()
        tab.screenshot("1-list")

        row.locator("a", has_text="BRK-JOURNEY-01").click()
        tab.page.wait_for_url(re.compile(re.escape(page_url)))
        tab.page.wait_for_selector("#device-chart[data-drawn] canvas")
        assert tab.page.locator("#latest-values").inner_text().count("°C") == 1
        tab.screenshot("2-device")

        tab.page.click("#command-switch_off summary")
        assert "另一位设备主管批准" in tab.page.inner_text("#command-switch_off")
        tab.page.fill("#command-switch_off-reason", REASON)
        tab.page.click("#send-switch_off")
        tab.page.wait_for_selector("#notice")
        assert "待审批" in tab.page.inner_text("#notice")
        history = tab.page.locator("#command-history tbody tr").first
        assert history.locator("[data-status]").first.get_attribute("data-status") == (
            "awaiting_approval"
        )
        tab.screenshot("3-requested")
        tab.log_out()

        tab.log_in("qian", USER_PASSWORD)
        tab.go("/inbox")
        task = tab.page.locator("#tasks tbody tr", has_text="BRK-JOURNEY-01")
        assert task.count() == 1
        task.locator("a").first.click()
        assert REASON in tab.page.inner_text("main")
        tab.screenshot("4-task")
        tab.page.click("#transition-approve")  # its confirm() is accepted
        tab.page.wait_for_url(re.compile(r".*/inbox.*"))
        tab.log_out()

        tab.log_in("zhou", USER_PASSWORD)
        tab.go(page_url)
        status = tab.page.locator("#command-history tbody tr [data-status]").first
        assert status.get_attribute("data-status") == "queued"
        tab.screenshot("5-approved")
        assert problems == []
