"""A street officer submits a public rental application and verifies it from the inbox;
after the street publicity runs out, a district reviewer approves it from the inbox."""

from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace

from engine.flows.jobs import sweep_timers
from tests.browser.live import LiveServer, journey
from tests.features.test_prh_flow import apply, local, organisations, region_records
from tests.identity import USER_PASSWORD, create_user


def test_a_street_officer_submits_and_a_district_reviewer_approves_from_the_inbox(
    server: LiveServer,
) -> None:
    admin = server.admin
    orgs = organisations(admin)  # type: ignore[arg-type]  # an httpx client, as TestClient
    create_user(admin, "jiang", "street_officer", org_id=orgs["430104001"])  # type: ignore[arg-type]
    create_user(admin, "chen", "district_centre", org_id=orgs["430104"])  # type: ignore[arg-type]
    scene = SimpleNamespace(
        regions=region_records(admin),  # type: ignore[arg-type]
        numbers=iter(range(1, 100)),
        families=iter(range(10)),
    )
    officer = server.api("jiang", USER_PASSWORD)
    application = apply(scene, officer)  # type: ignore[arg-type]  # a draft, at the window
    record = f"/public_rental/application/{application['id']}"

    with journey(server, "approval") as tab:
        tab.log_in("jiang", USER_PASSWORD)
        tab.go(record)
        assert tab.page.locator("#flow-state").get_attribute("data-state") == "draft"
        tab.page.click("#transition-submit")  # its confirm() is accepted
        tab.page.wait_for_url(re.compile(re.escape(record)))
        state = tab.page.locator("#flow-state")
        assert state.get_attribute("data-state") == "street_review"  # pre-review passed
        tab.screenshot("1-submitted")

        server.clock.set(local(date(2026, 4, 29)))
        tab.go("/inbox")
        task = tab.page.locator("#tasks tbody tr", has_text=application["application_no"])
        task.locator("button[id^=claim-]").click()
        tab.page.locator("#notice").wait_for()
        tab.page.locator("#tasks a", has_text=application["application_no"]).first.click()
        tab.page.click("#transition-street_approve")
        tab.page.wait_for_url(re.compile(r".*/inbox.*"))
        tab.log_out()

    server.clock.set(local(date(2026, 5, 13), 0, 0, 1))  # 7 working days of publicity over
    runtime = server.runtime
    assert sweep_timers(runtime.engine, runtime.require_catalog(), server.clock.now()).moved == 1
    server.clock.set(local(date(2026, 5, 13)))

    with journey(server, "approval-district") as tab:
        tab.log_in("chen", USER_PASSWORD)
        tab.go("/inbox")
        tab.page.locator("#tasks a", has_text=application["application_no"]).first.click()
        assert "张伟" in tab.page.inner_text("main")  # the record beside the task
        tab.screenshot("1-task")
        tab.page.fill("#transition-district_approve-field-review_opinion", "材料齐全，同意。")
        tab.page.click("#transition-district_approve")
        tab.page.wait_for_url(re.compile(r".*/inbox.*"))

        tab.go(record)
        latest = tab.page.locator("#flow .timeline li").first.inner_text()
        assert "chen" in latest, latest
        steps = tab.page.locator("#flow-approval-steps li")
        assert "done" in (steps.first.get_attribute("class") or "")  # the first review
        tab.screenshot("2-approved")
    moved = admin.get(f"/api/public_rental/application/{application['id']}").json()
    assert moved["review_opinion"] == "材料齐全，同意。"
