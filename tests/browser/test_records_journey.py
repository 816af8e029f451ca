"""A housing officer creates a housing unit through its generated form and finds it again
with the list's filters."""

from __future__ import annotations

import re

from tests.browser.live import LiveServer, journey
from tests.databases import ADMIN_PASSWORD

UNITS = "/housing_stock/housing_unit"
ROOM = "09-0699"  # stairwell and room, after the building's own code


def test_create_a_housing_unit_and_find_it_by_filter(demo_server: LiveServer) -> None:
    with journey(demo_server, "housing-unit") as tab:
        tab.log_in("admin", ADMIN_PASSWORD)
        tab.go(UNITS)
        assert tab.page.locator("#records tbody tr").count() > 0
        tab.page.click("a[href='/housing_stock/housing_unit/new']")

        form = tab.page.locator("#record-form")
        form.locator("#field-code").fill("JOURNEY-1")  # not a one-house-one-code
        form.locator("#field-housing_type").select_option("public_rental")
        for reference in ("project", "building"):
            form.locator(f"#field-{reference}").select_option(index=1)
        building = form.locator("#field-building").input_value()
        prefix = demo_server.admin.get(f"/api/housing_stock/building/{building}").json()["code"]
        # the district through the picker's search: the building's county code
        regions = demo_server.admin.get("/api/housing_stock/region", params={"code": prefix[:6]})
        [district] = regions.json()["items"]
        tab.page.fill("#pick-district", district["name"])
        option = form.locator(f"#field-district option[value='{district['id']}']")
        option.wait_for(state="attached")
        form.locator("#field-district").select_option(str(district["id"]))
        form.locator("#field-floor").fill("6")
        form.locator("#field-room_no").fill("699")
        form.locator("#field-address").fill("岳麓区望岳街道旅程小区1栋699")
        form.locator("#field-building_area").fill("52.40")
        form.locator("#field-usable_area").fill("43.00")
        form.locator("#field-rent_standard").fill("2.60")
        form.locator("#field-status").select_option("vacant")
        form.locator("button[type=submit]").first.click()
        error = tab.page.locator("#error-code")
        error.wait_for()  # the server's message, beside the field, the rest kept
        assert tab.page.locator("#field-room_no").input_value() == "699"
        tab.screenshot("1-form-error")
        tab.page.fill("#field-code", f"{prefix}-{ROOM}")
        tab.page.locator("#record-form button[type=submit]").first.click()

        tab.page.wait_for_url(re.compile(r".*/housing_stock/housing_unit/\d+$"))
        record = tab.page.locator("#record")
        assert ROOM in record.inner_text()
        assert "111.80" in record.inner_text()  # the rent, computed: 2.6 × 43.0
        tab.screenshot("2-detail")

        tab.go(UNITS)
        tab.page.select_option("#filter-status", "vacant")
        tab.page.fill("#filter-usable_area-gte", "42.5")
        tab.page.fill("#filter-usable_area-lte", "43.5")
        tab.page.click("#apply-filters")
        rows = tab.page.locator("#records tbody tr")
        rows.filter(has_text=ROOM).wait_for()
        shown = rows.all_inner_texts()
        assert all("空置" in row for row in shown), shown
        assert "usable_area__gte=42.5" in tab.page.url  # the filter is in the address
        tab.screenshot("3-filtered")
