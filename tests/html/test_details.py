"""The record page: fields by form section, masked and hidden fields, related lists loaded by
htmx, deleting; its view model built directly, and the page over HTTP as users see it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.auth.principals import principal_for_user
from engine.principal import Principal
from engine.runtime import Runtime
from renderers.app import create_app
from renderers.html.chrome import Chrome
from renderers.html.details import TEXTS, DetailPage, detail_page, related_list
from renderers.html.texts import words
from tests.databases import estate_settings
from tests.definitions import entity, estate, write_folder
from tests.html.browsing import browse
from tests.identity import USER_PASSWORD, authorize, create_user

VIEWER = "viewer1"


@pytest.fixture
def admin(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    """The estate app with a `viewer` role: units on floor 0 and up, `notes` masked, `rent`
    hidden; buildings; no meters or inspections."""
    settings = estate_settings(tmp_path, database_url)
    folder = estate()
    folder["estate/roles.yaml"]["roles"]["viewer"] = {"label": "查看"}
    entity(folder, "unit")["permissions"] = {
        "viewer": {
            "actions": ["read"],
            "scope": "floor >= 0",
            "fields": {"notes": "masked", "rent": "hidden"},
        }
    }
    entity(folder, "building")["permissions"] = {"viewer": {"actions": ["read"]}}
    write_folder(settings.apps_config, folder)
    with TestClient(create_app(settings)) as client:
        authorize(client)
        create_user(client, VIEWER, "viewer")
        yield client


def create(client: TestClient, entity_name: str, **values: Any) -> dict[str, Any]:
    response = client.post(f"/api/estate/{entity_name}", json=values)
    assert response.status_code == 201, response.text
    return response.json()


def estate_data(admin: TestClient) -> dict[str, Any]:
    tower = create(admin, "building", name="Tower", code="T1")
    up = create(
        admin,
        "unit",
        code="A-1",
        floor=3,
        rent="1200.50",
        status="let",
        building=tower["id"],
        notes="keys with the porter",
    )
    down = create(admin, "unit", code="B-1", floor=-1, building=tower["id"])
    create(admin, "meter", serial="M-9", building=tower["id"])
    create(admin, "inspection", unit=up["id"], remark="ok")
    return {"tower": tower, "up": up, "down": down}


def chrome(language: str = "en") -> Chrome:
    return Chrome(
        language=language,
        texts=words(language, TEXTS),
        title="",
        path="/",
        username="someone",
        csrf_token="token",
        switch_language_url="/-/language",
    )


def principal(admin: TestClient, username: str) -> Principal:
    runtime: Runtime = admin.app.state.runtime  # type: ignore[attr-defined]
    users = admin.get("/api/auth/users").json()["items"]
    user_id = next(u["id"] for u in users if u["username"] == username)
    with runtime.engine.connect() as conn:
        found = principal_for_user(conn, user_id, None)
    assert found is not None
    return found


def page_of(admin: TestClient, entity_name: str, record_id: int, username: str) -> DetailPage:
    runtime: Runtime = admin.app.state.runtime  # type: ignore[attr-defined]
    entity_of = runtime.require_catalog().entity("estate", entity_name)
    assert entity_of is not None
    who = principal(admin, username)
    with runtime.engine.begin() as conn:
        return detail_page(conn, runtime, entity_of, record_id, who, chrome())


def values(page: DetailPage) -> dict[str, str]:
    return {f.name: f.text for section in page.sections for f in section.fields}


def test_fields_are_grouped_by_the_sections_of_the_form(admin: TestClient) -> None:
    data = estate_data(admin)

    page = page_of(admin, "unit", data["up"]["id"], "admin")

    assert [(s.title, [f.name for f in s.fields]) for s in page.sections] == [
        ("Unit", ["code", "building", "floor"]),
        ("Rent", ["rent", "status", "let_on"]),
        (
            "Other details",
            ["area", "checked_at", "notes", "extras", "photo", "active"],
        ),
    ]
    shown = {f.name: f for s in page.sections for f in s.fields}
    assert shown["building"].text == "Tower"
    assert shown["building"].href == f"/estate/building/{data['tower']['id']}"
    shown_texts = (shown["status"].text, shown["rent"].text, shown["active"].text)
    assert shown_texts == ("Let", "1200.50", "Yes")
    assert page.edit_url == f"/estate/unit/{data['up']['id']}/edit"
    assert page.delete_url == f"/estate/unit/{data['up']['id']}/delete"
    assert page.flow is None


def test_without_a_form_the_fields_come_in_definition_order(admin: TestClient) -> None:
    data = estate_data(admin)

    page = page_of(admin, "building", data["tower"]["id"], "admin")

    assert [(s.title, [f.name for f in s.fields]) for s in page.sections] == [
        ("", ["name", "code"])
    ]
    assert page.title == "Tower"


def test_masked_fields_stay_masked_and_hidden_ones_are_left_out(admin: TestClient) -> None:
    data = estate_data(admin)

    page = page_of(admin, "unit", data["up"]["id"], VIEWER)

    shown = values(page)
    assert shown["notes"] == "****"
    assert "rent" not in shown
    assert (page.edit_url, page.delete_url) == (None, None)


def test_related_lists_are_offered_for_referrers_the_user_may_read(admin: TestClient) -> None:
    data = estate_data(admin)
    tower = data["tower"]["id"]

    as_admin = page_of(admin, "building", tower, "admin")
    as_viewer = page_of(admin, "building", tower, VIEWER)

    assert [(r.title, r.view_all) for r in as_admin.related] == [
        ("meter", f"/estate/meter?building={tower}"),
        ("Unit", f"/estate/unit?building={tower}"),
    ]
    assert [r.url for r in as_viewer.related] == [
        f"/estate/building/{tower}/related/estate/unit/building"
    ]


def test_a_related_list_holds_only_the_records_in_the_users_scope(admin: TestClient) -> None:
    data = estate_data(admin)
    runtime: Runtime = admin.app.state.runtime  # type: ignore[attr-defined]
    building = runtime.require_catalog().entity("estate", "building")
    assert building is not None
    [units] = [r for r in building.referrers if r.entity.name == "unit"]

    with runtime.engine.begin() as conn:
        everything = related_list(
            conn, runtime, units, data["tower"]["id"], principal(admin, "admin"), "en"
        )
        scoped = related_list(
            conn, runtime, units, data["tower"]["id"], principal(admin, VIEWER), "en"
        )

    assert [(i.title, i.href) for i in everything.items] == [
        ("A-1", f"/estate/unit/{data['up']['id']}"),
        ("B-1", f"/estate/unit/{data['down']['id']}"),
    ]
    assert everything.count_text == "2 in all"
    assert [i.title for i in scoped.items] == ["A-1"]


def test_the_page_shows_the_record_with_links_and_loads_related_lists(
    admin: TestClient,
) -> None:
    data = estate_data(admin)
    browser = browse(admin)

    response = browser.get(f"/estate/unit/{data['up']['id']}?lang=en")

    assert response.status_code == 200
    html = response.text
    assert 'id="record"' in html
    assert f'<a href="/estate/building/{data["tower"]["id"]}">Tower</a>' in html
    assert "keys with the porter" in html
    related = f"/estate/unit/{data['up']['id']}/related/estate/inspection/unit"
    assert f'hx-get="{related}"' in html
    fragment = browser.htmx("GET", related)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert re.search(r'<a href="/estate/inspection/\d+">#\d+</a>', fragment.text)
    assert 'href="/estate/inspection?unit=' in fragment.text


def test_a_masked_value_is_masked_on_the_page(admin: TestClient) -> None:
    data = estate_data(admin)
    viewer = browse(admin, VIEWER, USER_PASSWORD)

    html = viewer.get(f"/estate/unit/{data['up']['id']}").text

    assert "****" in html
    assert "keys with the porter" not in html
    assert "1200.50" not in html
    assert 'id="edit"' not in html and 'id="delete"' not in html


@pytest.mark.parametrize("who", ["admin", VIEWER])
def test_missing_and_out_of_scope_records_are_not_found(admin: TestClient, who: str) -> None:
    data = estate_data(admin)
    browser = browse(admin) if who == "admin" else browse(admin, who, USER_PASSWORD)

    missing = browser.get("/estate/unit/99999")
    huge = browser.get("/estate/unit/99999999999999999999")
    outside = browser.get(f"/estate/unit/{data['down']['id']}")

    assert missing.status_code == huge.status_code == 404
    assert outside.status_code == (200 if who == "admin" else 404)
    assert "Traceback" not in missing.text
    assert 'id="error-message"' in missing.text


def test_deleting_goes_to_the_list_with_a_notice(admin: TestClient) -> None:
    data = estate_data(admin)
    browser = browse(admin)

    response = browser.post(f"/estate/unit/{data['down']['id']}/delete?lang=en")

    assert response.status_code == 303
    assert response.headers["location"] == "/estate/unit"
    assert "B-1" in response.headers["set-cookie"]
    assert admin.get(f"/api/estate/unit/{data['down']['id']}").status_code == 404


def test_a_record_still_referred_to_is_not_deleted_and_the_page_says_why(
    admin: TestClient,
) -> None:
    data = estate_data(admin)
    browser = browse(admin)

    response = browser.post(f"/estate/building/{data['tower']['id']}/delete")

    assert response.status_code == 409
    assert 'id="error-message"' in response.text
    assert "estate.unit records refer to it" in response.text
    assert admin.get(f"/api/estate/building/{data['tower']['id']}").status_code == 200


def test_a_user_who_may_not_delete_is_refused(admin: TestClient) -> None:
    data = estate_data(admin)
    viewer = browse(admin, VIEWER, USER_PASSWORD)

    response = viewer.post(f"/estate/unit/{data['up']['id']}/delete")

    assert response.status_code == 403
    assert admin.get(f"/api/estate/unit/{data['up']['id']}").status_code == 200


def test_a_related_list_the_user_may_not_read_is_neither_offered_nor_served(
    admin: TestClient,
) -> None:
    data = estate_data(admin)
    viewer = browse(admin, VIEWER, USER_PASSWORD)
    unit = f"/estate/unit/{data['up']['id']}"

    page = viewer.get(unit).text
    fragment = viewer.htmx("GET", f"{unit}/related/estate/inspection/unit")
    unknown = viewer.htmx("GET", f"{unit}/related/estate/meter/building")

    assert "/related/estate/inspection/unit" not in page
    assert fragment.status_code == unknown.status_code == 404
