"""A configurator adds a field in the studio and publishes it; the field is in the form and
the list at once, with no restart; an auditor then opens the diff of that version."""

from __future__ import annotations

import re

from tests.browser.live import LiveServer, journey
from tests.databases import ADMIN_PASSWORD
from tests.identity import USER_PASSWORD, create_user

ENTITY = "/studio/housing_stock/entity/housing_unit"


def test_a_configurator_adds_a_field_and_an_auditor_reads_the_diff(server: LiveServer) -> None:
    create_user(server.admin, "fang", "configurator")  # type: ignore[arg-type]
    create_user(server.admin, "shen", "auditor")  # type: ignore[arg-type]

    with journey(server, "studio") as tab:
        tab.log_in("fang", USER_PASSWORD)
        tab.go(ENTITY)
        assert "housing_unit" in tab.page.locator("#definition-yaml").input_value()
        add = tab.page.locator("#add-field")
        add.locator("#new-name").fill("heating")
        add.locator("#new-type").select_option("string")
        add.locator("#new-label_zh").fill("供暖方式")
        add.locator("#new-label_en").fill("Heating")
        add.locator("#new-in_list").check()
        add.locator("#new-form-housing_unit").check()
        add.locator("#add-field-button").click()
        tab.page.locator("#notice").wait_for()
        assert "heating:" in tab.page.locator("#definition-yaml").input_value()  # the draft

        tab.go("/studio/diff")
        assert "heating" in tab.page.inner_text("#diff")
        tab.page.fill("#publish-message", "房屋增加供暖方式字段")
        tab.screenshot("1-diff")
        tab.page.click("#publish")
        tab.page.wait_for_url(re.compile(r".*/studio(\?.*)?$"))
        assert "2" in tab.page.inner_text("#notice")  # version 2 is published

        tab.log_out()

        tab.log_in("admin", ADMIN_PASSWORD)  # who keeps the housing stock
        tab.go("/housing_stock/housing_unit/new")  # the same server, no restart
        assert tab.page.locator("label[for=field-heating]").inner_text() == "供暖方式"
        tab.go("/housing_stock/housing_unit")
        assert "供暖方式" in tab.page.inner_text("#records thead")
        tab.screenshot("2-list")
        tab.log_out()

    with journey(server, "audit") as tab:
        tab.log_in("shen", USER_PASSWORD)
        tab.go("/audit")
        tab.page.click("#version-2 a")
        diff = tab.page.locator("#diff")
        assert "房屋增加供暖方式字段" in tab.page.inner_text("main")
        added = diff.locator(".add", has_text="heating")
        assert added.count() >= 1  # the new lines, on the right-hand side
        tab.screenshot("1-diff")
        tab.go("/audit/verify")
        assert tab.page.locator(".badge.ok").count() == 1
