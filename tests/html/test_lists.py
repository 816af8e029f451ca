"""The list screen: columns, masked and hidden fields, labels in both languages, filters by
field type, sort, pages, bulk delete (all or none), the notice a delete leaves for it, CSV
export and its audit entry.

Units are listed by `admin`, by an `officer` (every action, buildings only its own) and by a
`clerk` (read only; `rent` hidden, `phone` masked).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from engine.audit.trail import audit_table
from engine.principal import Principal
from engine.runtime import Runtime
from engine.settings import Settings
from renderers.app import create_app
from renderers.html.chrome import Chrome
from renderers.html.list_page import TEXTS, ListPage, load_list_page
from renderers.html.texts import words
from tests.databases import ADMIN_PASSWORD
from tests.definitions import entity, estate, write_folder
from tests.html.browsing import Browser, browse
from tests.identity import USER_PASSWORD, authorize, create_user

UNITS = [  # code, rent, floor, status, phone
    ("A-1", "1000.00", 1, "vacant", "13812345678"),
    ("A-2", "2500.00", 5, "let", "13912345678"),
    ("A-3", "4000.00", 9, "let", None),
    ("B-1", "1500.50", 2, "vacant", None),
    ("B-2", "3000.00", 12, "let", None),
]


def listing_folder() -> dict[str, Any]:
    folder = estate()
    folder["estate/roles.yaml"]["roles"].update(
        {"clerk": {"label": "文员"}, "officer": {"label": "主管"}}
    )
    unit = entity(folder, "unit")
    unit["fields"]["phone"] = {
        "type": "string",
        "sensitive": True,
        "mask": "3*4",
        "label": {"zh": "电话", "en": "Phone"},
    }
    unit["fields"]["status"]["label"] = {"zh": "状态", "en": "Status"}
    unit["list_fields"] = ["code", "rent", "floor", "status", "building", "phone"]
    unit["permissions"] = {
        "clerk": {"actions": ["read"], "scope": "all", "fields": {"rent": "hidden"}},
        "officer": {
            "actions": ["read", "create", "update", "delete", "export", "unmask"],
            "scope": "all",
        },
    }
    entity(folder, "building")["permissions"] = {
        "officer": {"actions": ["read", "create"], "scope": "own"},
    }
    return folder


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    """The app on the listing folder with a building and five units, as admin, plus the
    users `clerk1` and `officer1`."""
    write_folder(settings.apps_config, listing_folder())
    with TestClient(create_app(settings)) as client:
        authorize(client)
        building = client.post("/api/estate/building", json={"name": "北楼", "code": "N"})
        for code, rent, floor, status, phone in UNITS:
            body = {"code": code, "rent": rent, "floor": floor, "status": status, "phone": phone}
            created = client.post(
                "/api/estate/unit", json={**body, "building": building.json()["id"]}
            )
            assert created.status_code == 201, created.text
        create_user(client, "clerk1", "clerk")
        create_user(client, "officer1", "officer")
        yield client


def runtime_of(client: TestClient) -> Runtime:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def chrome(language: str = "zh") -> Chrome:
    return Chrome(language, words(language, TEXTS), "", "/estate/unit", "u", "token", "/")


def page_for(
    client: TestClient,
    principal: Principal,
    params: list[tuple[str, str]] | None = None,
    language: str = "zh",
    name: str = "unit",
) -> ListPage:
    runtime = runtime_of(client)
    found = runtime.require_catalog().entity("estate", name)
    assert found is not None
    with runtime.engine.begin() as conn:
        return load_list_page(
            conn, found, principal, params or [], chrome(language), (50, 500, 10_000)
        )


ADMIN = Principal("admin", roles=("admin",), user_id=1)
CLERK = Principal("clerk1", roles=("clerk",), user_id=2)
OFFICER = Principal("officer1", roles=("officer",), user_id=3)


def texts_of(page: ListPage) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in page.rows]


def codes(html: str) -> list[str]:
    return re.findall(r'<a href="/estate/unit/\d+">([A-Z]-\d+)</a>', html)


# --- the view model ---


def test_columns_follow_list_fields_with_labels_and_links(app_client: TestClient) -> None:
    page = page_for(app_client, ADMIN)

    assert [c.name for c in page.columns] == [
        "code",
        "rent",
        "floor",
        "status",
        "building",
        "phone",
    ]
    assert [c.numeric for c in page.columns] == [False, True, True, False, False, False]
    first = page.rows[0]
    assert texts_of(page)[0] == ["A-1", "1000.00", "1", "空置", "北楼", "13812345678"]
    assert first.cells[0].url == f"/estate/unit/{first.id}"
    assert first.cells[4].url == "/estate/building/1"
    assert page.pagination.count_text == "共 5 条"
    assert (page.can_create, page.can_delete, page.can_export) == (True, True, True)


def test_without_list_fields_the_title_leads_then_short_fields(
    app_client: TestClient, settings: Settings
) -> None:
    page = page_for(app_client, ADMIN, name="building")

    assert [c.name for c in page.columns] == ["name", "code"]
    assert texts_of(page) == [["北楼", "N"]]


@pytest.mark.parametrize(
    ("language", "labels"), [("zh", ["空置", "已租"]), ("en", ["Vacant", "Let"])]
)
def test_enum_values_show_as_their_labels(
    app_client: TestClient, language: str, labels: list[str]
) -> None:
    page = page_for(app_client, ADMIN, [("sort", "code")], language)

    assert [row[3] for row in texts_of(page)][:2] == labels
    assert page.columns[3].label == ("状态" if language == "zh" else "Status")


def test_a_clerk_sees_phones_masked_and_no_rent(app_client: TestClient) -> None:
    page = page_for(app_client, CLERK)

    assert [c.name for c in page.columns] == ["code", "floor", "status", "building", "phone"]
    assert texts_of(page)[0][-1] == "138****5678"
    assert "rent" not in {f.name for f in page.filters}
    assert (page.can_create, page.can_delete, page.can_export) == (False, False, False)


def test_reference_titles_outside_the_users_scope_show_as_numbers(app_client: TestClient) -> None:
    """The officer may read only buildings it created: admin's building shows as `#1`."""
    page = page_for(app_client, OFFICER)

    building = page.rows[0].cells[4]
    assert (building.text, building.url) == ("#1", None)
    assert page_for(app_client, CLERK).rows[0].cells[3].text == "#1"


def test_filters_are_built_from_field_types(app_client: TestClient) -> None:
    page = page_for(app_client, ADMIN, [("status", "let"), ("rent__gte", "2000")])
    filters = {f.name: f for f in page.filters}

    assert list(filters) == ["rent", "floor", "status", "building", "let_on", "checked_at"]
    rent = filters["rent"]
    assert [(i.name, i.kind, i.step, i.value) for i in rent.inputs] == [
        ("rent__gte", "number", "any", "2000"),
        ("rent__lte", "number", "any", ""),
    ]
    status = filters["status"].inputs[0]
    assert [(c.value, c.label, c.selected) for c in status.choices] == [
        ("", "全部", False),
        ("vacant", "空置", False),
        ("let", "已租", True),
    ]
    assert [i.kind for i in filters["let_on"].inputs] == ["date", "date"]
    assert [i.kind for i in filters["checked_at"].inputs] == ["datetime-local"] * 2
    assert filters["building"].inputs[0].picker_url == "/estate/unit/pick/building"
    assert page.search is not None and page.search.name == "q"
    assert [r[0] for r in texts_of(page)] == ["A-2", "A-3", "B-2"]


def test_sort_links_reverse_the_current_column(app_client: TestClient) -> None:
    page = page_for(app_client, ADMIN, [("sort", "rent"), ("status", "let")])
    rent = page.columns[1]

    assert rent.aria_sort == "ascending"
    assert rent.sort_url == "/estate/unit?status=let&sort=-rent"
    assert page.columns[2].sort_url == "/estate/unit?status=let&sort=floor"
    assert page.columns[2].aria_sort is None


def test_a_bad_filter_value_becomes_an_error_on_the_page(app_client: TestClient) -> None:
    page = page_for(app_client, ADMIN, [("floor__gte", "high")])

    assert page.rows == []
    assert [e["path"] for e in page.errors] == ["floor__gte"]
    assert page.filters[1].inputs[0].value == "high"


# --- over HTTP ---


@pytest.fixture
def admin(app_client: TestClient) -> Browser:
    return browse(app_client, "admin", ADMIN_PASSWORD)


def test_list_page_filters_by_enum_and_number_range(admin: Browser) -> None:
    response: Any = admin.get("/estate/unit?status=let&rent__gte=2600&rent__lte=&floor__lte=12")

    assert response.status_code == 200
    assert codes(response.text) == ["A-3", "B-2"]
    assert 'id="filters"' in response.text and 'id="records"' in response.text
    assert '<option value="let" selected>已租</option>' in response.text
    assert re.search(r'<td class="num">4000.00</td>', response.text)


def test_htmx_filter_answers_only_the_results(admin: Browser) -> None:
    headers = {"Accept": "text/html", "HX-Request": "true", "HX-Target": "results"}
    response: Any = admin.client.get("/estate/unit?status=vacant", headers=headers)

    assert response.status_code == 200
    assert codes(response.text) == ["A-1", "B-1"]
    assert "<html" not in response.text and 'id="filters"' not in response.text


def test_clicking_a_header_sorts_and_clicking_again_reverses(admin: Browser) -> None:
    ascending: Any = admin.get("/estate/unit?sort=floor")
    link = re.search(r'aria-sort="ascending"><a href="([^"]+)"', ascending.text)
    assert link is not None
    descending: Any = admin.get(link.group(1).replace("&amp;", "&"))

    assert codes(ascending.text) == ["A-1", "B-1", "A-2", "A-3", "B-2"]
    assert codes(descending.text) == ["B-2", "A-3", "A-2", "B-1", "A-1"]
    assert 'aria-sort="descending"' in descending.text


def test_next_page_link_carries_the_cursor(admin: Browser) -> None:
    first: Any = admin.get("/estate/unit?limit=2&sort=code")
    link = re.search(r'id="next-page" href="([^"]+)"', first.text)
    assert link is not None and "cursor=" in link.group(1)
    second: Any = admin.get(link.group(1).replace("&amp;", "&"))

    assert codes(first.text) == ["A-1", "A-2"]
    assert codes(second.text) == ["A-3", "B-1"]
    assert 'id="first-page"' in second.text and "共 5 条" in second.text


def ids_by_code(client: TestClient) -> dict[str, int]:
    items = client.get("/api/estate/unit?limit=100").json()["items"]
    return {item["code"]: item["id"] for item in items}


def test_bulk_delete_deletes_only_the_selected_rows(app_client: TestClient, admin: Browser) -> None:
    ids = ids_by_code(app_client)
    selected = [str(ids["A-1"]), str(ids["B-2"])]

    response: Any = admin.client.post(
        "/estate/unit/bulk",
        data={"csrf_token": admin.csrf, "ids": selected, "action": "delete", "query": "status=let"},
        headers={"Accept": "text/html"},
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/estate/unit?status=let"
    assert sorted(ids_by_code(app_client)) == ["A-2", "A-3", "B-1"]
    after: Any = admin.get(response.headers["location"])
    assert "已删除 2 条记录。" in after.text
    again: Any = admin.get(response.headers["location"])
    assert "已删除" not in again.text  # a notice shows once, not on every reload


def test_bulk_delete_is_refused_without_the_delete_permission(app_client: TestClient) -> None:
    clerk = browse(app_client, "clerk1", USER_PASSWORD)
    ids = ids_by_code(app_client)

    response: Any = clerk.client.post(
        "/estate/unit/bulk",
        data={"csrf_token": clerk.csrf, "ids": [str(ids["A-1"])], "action": "delete"},
        headers={"Accept": "text/html"},
    )

    assert response.status_code == 403
    assert 'id="error-message"' in response.text
    assert len(ids_by_code(app_client)) == 5
    listed: Any = clerk.get("/estate/unit")
    assert 'id="bulk-delete"' not in listed.text and 'id="export"' not in listed.text
    assert 'id="new-record"' not in listed.text


def test_bulk_delete_deletes_nothing_when_one_is_still_referred_to(
    app_client: TestClient, admin: Browser
) -> None:
    ids = ids_by_code(app_client)
    building = app_client.post("/api/estate/building", json={"name": "南楼"}).json()["id"]

    response: Any = admin.client.post(
        "/estate/building/bulk",
        data={"csrf_token": admin.csrf, "ids": ["1", str(building)], "action": "delete"},
        headers={"Accept": "text/html"},
    )

    assert response.status_code == 409
    assert "estate.unit.building" in response.text
    names = [b["name"] for b in app_client.get("/api/estate/building").json()["items"]]
    assert names == ["北楼", "南楼"]
    assert len(ids) == 5


def test_bulk_delete_deletes_none_when_a_later_one_is_refused_and_names_it(
    app_client: TestClient, admin: Browser
) -> None:
    free = app_client.post("/api/estate/building", json={"name": "南楼"}).json()["id"]
    app_client.post("/api/estate/meter", json={"serial": "M1", "building": free})
    held = app_client.post("/api/estate/building", json={"name": "西楼"}).json()["id"]
    app_client.post("/api/estate/unit", json={"code": "C-1", "building": held})

    response: Any = admin.client.post(
        "/estate/building/bulk",
        data={"csrf_token": admin.csrf, "ids": [str(free), str(held)], "action": "delete"},
        headers={"Accept": "text/html"},
    )

    assert response.status_code == 409
    assert f"estate.building {held} is still referred to" in response.text
    names = [b["name"] for b in app_client.get("/api/estate/building").json()["items"]]
    assert names == ["北楼", "南楼", "西楼"]
    assert app_client.get("/api/estate/meter").json()["count"] == 1
    assert audit_entries(app_client, "record.delete") == []


@pytest.mark.parametrize(("language", "notice"), [("zh", "已删除：A-1"), ("en", "Deleted: A-1")])
def test_deleting_from_the_record_page_shows_a_notice_on_the_list_once(
    app_client: TestClient, admin: Browser, language: str, notice: str
) -> None:
    record = ids_by_code(app_client)["A-1"]

    deleted: Any = admin.post(f"/estate/unit/{record}/delete?lang={language}")
    elsewhere: Any = admin.get("/estate/building")
    listed: Any = admin.get(deleted.headers["location"])
    again: Any = admin.get(deleted.headers["location"])

    assert deleted.status_code == 303
    assert notice not in elsewhere.text  # the notice is for the list the delete led to
    assert f'id="notice">{notice}</p>' in listed.text
    assert notice not in again.text
    assert "A-1" not in ids_by_code(app_client)


def export_rows(response: Any) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def audit_entries(client: TestClient, action: str) -> list[dict[str, Any]]:
    runtime = runtime_of(client)
    with runtime.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_table).where(audit_table.c.action == action))
        return [dict(row._mapping) for row in rows]


def test_export_writes_the_filtered_rows_as_csv_and_audits_it(
    app_client: TestClient, admin: Browser
) -> None:
    response: Any = admin.get("/estate/unit/export?status=vacant&sort=code")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = export_rows(response)
    header, body = rows[0], rows[1:]
    assert header[:6] == ["id", "code", "rent", "area", "floor", "状态"]
    assert [(r[1], r[2], r[header.index("状态")], r[header.index("电话")]) for r in body] == [
        ("A-1", "1000.00", "空置", "13812345678"),
        ("B-1", "1500.50", "空置", ""),
    ]
    [entry] = audit_entries(app_client, "record.export")
    detail = orjson.loads(entry["detail"])
    assert (entry["actor"], entry["target"], detail["rows"]) == ("admin", "estate.unit", 2)
    assert detail["filters"] == [["status", "vacant"], ["sort", "code"]]


def test_export_neutralises_text_a_spreadsheet_would_run(
    app_client: TestClient, admin: Browser
) -> None:
    ids = ids_by_code(app_client)
    changed = app_client.patch(f"/api/estate/unit/{ids['A-1']}", json={"notes": "=HYPERLINK(1)"})
    assert changed.status_code == 200, changed.text

    rows = export_rows(admin.get("/estate/unit/export?sort=code"))

    assert "'=HYPERLINK(1)" in rows[1]


def test_exporting_selected_rows(app_client: TestClient, admin: Browser) -> None:
    ids = ids_by_code(app_client)

    response: Any = admin.client.post(
        "/estate/unit/bulk",
        data={
            "csrf_token": admin.csrf,
            "ids": [str(ids["A-2"]), str(ids["B-1"])],
            "action": "export",
        },
        headers={"Accept": "text/html"},
    )

    assert response.status_code == 200
    assert [row[1] for row in export_rows(response)[1:]] == ["A-2", "B-1"]


def test_export_is_refused_without_the_export_permission(app_client: TestClient) -> None:
    clerk = browse(app_client, "clerk1", USER_PASSWORD)

    response: Any = clerk.get("/estate/unit/export")

    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert 'id="error-message"' in response.text
    assert audit_entries(app_client, "record.export") == []


def test_a_bad_filter_value_shows_an_error_not_a_stack_trace(admin: Browser) -> None:
    response: Any = admin.get("/estate/unit?floor__gte=high&status=gone")

    assert response.status_code == 422
    assert 'id="filter-errors"' in response.text
    assert "floor__gte" in response.text and "status" in response.text
    assert "Traceback" not in response.text
    assert 'value="high"' in response.text


def test_values_are_escaped_in_the_table(app_client: TestClient, admin: Browser) -> None:
    app_client.patch("/api/estate/building/1", json={"name": "<b>北楼</b>"})

    response: Any = admin.get("/estate/unit")

    assert "&lt;b&gt;北楼&lt;/b&gt;" in response.text
    assert "<b>北楼" not in response.text


def test_an_unknown_entity_is_a_404_page(admin: Browser) -> None:
    response: Any = admin.get("/estate/nothing")

    assert response.status_code == 404
    assert 'id="error-message"' in response.text
