"""A city supervisor opens the supervision dashboard (its ECharts canvases drawn, no script
errors), opens units by street and status for one district, clicks a figure to see the
records behind it, downloads the Excel export; then opens an alert from the top bar's badge,
acknowledges it and disposes it with an opinion."""

from __future__ import annotations

import re
from typing import Any

from engine.alerts.scanning import scan_rule
from engine.database import write_transaction
from tests.browser.live import DEMO_PASSWORD, LiveServer, journey


def scan_supervision_rules(server: LiveServer) -> None:
    """Scan every supervision rule now (as the periodic job would)."""
    runtime = server.runtime
    catalog = runtime.require_catalog()
    with write_transaction(runtime.engine) as conn:
        for name in catalog.definitions.apps["supervision"].alerts:
            scan_rule(conn, runtime, catalog, "supervision", name, server.clock.now())


def test_a_supervisor_reads_the_dashboard_drills_down_and_disposes_an_alert(
    demo_server: LiveServer,
) -> None:
    for stale in demo_server.admin.get("/api/alerts?limit=200").json()["items"]:
        # opened while the demo data loaded, before its people existed: nobody to tell
        demo_server.admin.post(f"/api/alerts/{stale['id']}/resolve", json={})
    scan_supervision_rules(demo_server)
    demo_server.clock.advance(days=61)  # units vacant too long escalate to the supervisors
    scan_supervision_rules(demo_server)
    supervisor = demo_server.api("supervisor", DEMO_PASSWORD)
    unread = supervisor.get("/api/alerts?unread=1").json()["items"]
    assert unread, "the demo city raises alerts for the city supervisor"
    report = supervisor.get("/api/housing_stock/reports/units_by_street").json()
    district = next(r["_key"]["district"] for r in report["rows"] if r["_level"] == 3)

    with journey(demo_server, "reports") as tab:
        problems: list[str] = []

        def console(message: Any) -> None:
            where = message.location.get("url", "")
            if message.type == "error" and not where.endswith("/favicon.ico"):  # there is none
                problems.append(f"{message.text} {where}")

        tab.page.on("console", console)
        tab.page.on("pageerror", lambda error: problems.append(str(error)))
        tab.page.on(
            "response",
            lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        tab.log_in("supervisor", DEMO_PASSWORD)

        tab.go("/supervision/dashboards/home")
        tab.page.wait_for_selector("[data-chart][data-drawn] canvas")
        canvases = tab.page.locator("[data-chart] canvas")
        assert canvases.count() >= 3
        for n in range(canvases.count()):
            box = canvases.nth(n).bounding_box()
            assert box and box["width"] > 50 and box["height"] > 50, box
        assert tab.page.locator(".kpi strong").count() >= 3
        tab.screenshot("1-dashboard")

        tab.page.locator("#side-menu a[href='/housing_stock/reports/units_by_status']").click()
        tab.page.wait_for_selector("#report-chart [data-drawn] canvas")
        tab.screenshot("2-chart")

        tab.go("/housing_stock/reports/units_by_street")
        tab.page.fill("#param-district", str(district))
        tab.page.click("#run-report")
        tab.page.wait_for_url(re.compile(rf".*district={district}.*"))
        rows = tab.page.locator("#report-table tbody tr")
        assert rows.count() > 1
        name = next(r["district"] for r in report["rows"] if r["_key"].get("district") == district)
        assert rows.first.locator("th").inner_text() == name
        tab.screenshot("3-report")

        figure = tab.page.locator("#report-table tbody tr:not(.subtotal):not(.total) td.num a")
        shown = figure.first.inner_text()
        figure.first.click()
        tab.page.wait_for_url(re.compile(r".*/records\?.*"))
        assert tab.page.inner_text("#record-count") == f"共 {shown} 条记录"
        assert tab.page.locator("#records tbody tr").count() == min(int(shown), 50)
        tab.screenshot("4-records")

        tab.page.click("#back-to-report")
        with tab.page.expect_download() as download:
            tab.page.click("#export-xlsx")
        path = download.value.path()
        assert path is not None and path.read_bytes()[:2] == b"PK"

        badge = tab.page.locator("#nav-alerts .count")
        assert int(badge.inner_text()) == len(unread)
        tab.page.click("#nav-alerts")
        tab.page.wait_for_url(re.compile(r".*/alerts\?unread=1"))
        tab.page.locator("#alerts tbody tr.unread a").first.click()
        tab.page.wait_for_url(re.compile(r".*/alerts/\d+$"))
        assert tab.page.locator("#nav-alerts .count").count() == (1 if len(unread) > 1 else 0)
        tab.page.fill("#action-acknowledge-comment", "已收到，转街道核查。")
        tab.page.click("#action-acknowledge")
        tab.page.locator("#notice").wait_for()
        assert tab.page.get_attribute("#alert-status", "data-status") == "acknowledged"
        tab.page.fill("#action-dispose-opinion", "请街道一周内核实并反馈。")
        tab.page.click("#action-dispose")
        tab.page.locator("#alert-opinion").wait_for()
        assert tab.page.get_attribute("#alert-status", "data-status") == "disposed"
        assert "请街道一周内核实并反馈。" in tab.page.inner_text("#alert-timeline")
        tab.screenshot("5-alert")
        assert problems == [], problems
