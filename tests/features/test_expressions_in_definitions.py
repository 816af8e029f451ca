"""Configurators write expressions in definitions: computed fields, defaults, rules, forms."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from engine.settings import Settings
from renderers.app import create_app
from tests.databases import ADMIN_PASSWORD, FAST_ARGON2
from tests.definitions import APP, Folder, entity, estate, to_yaml, write_folder
from tests.identity import authorize

UNITS = f"/api/{APP}/unit"
BUILDINGS = f"/api/{APP}/building"


def expressive_estate() -> Folder:
    folder = estate()
    unit = entity(folder, "unit")
    unit["fields"]["rent_per_m2"] = {
        "type": "decimal",
        "scale": 2,
        "computed": "rent / area",
        "label": {"zh": "每平米租金", "en": "Rent per m²"},
    }
    unit["fields"]["days_let"] = {
        "type": "integer",
        "computed": "days_between(let_on, today)",
        "virtual": True,
    }
    unit["fields"]["listed_on"] = {"type": "date", "default_expression": "today"}
    unit["rules"] = [
        {
            "when": 'status == "let" and let_on == null',
            "field": "let_on",
            "message": {"zh": "已租房屋须填写起租日期", "en": "A let unit needs its letting date"},
        },
        {"when": 'floor > 30 and building.name == "Low"', "message": "低层楼栋没有这么高的楼层"},
    ]
    building = entity(folder, "building")
    building["fields"]["units"] = {"type": "integer", "computed": "count(unit)", "virtual": True}
    building["fields"]["let_units"] = {
        "type": "integer",
        "computed": 'count(unit where status == "let")',
        "virtual": True,
    }
    folder[f"{APP}/forms/unit.yaml"]["fields"] = {
        "let_on": {"visible": 'status == "let"', "required": 'status == "let"'},
        "floor": {"readonly": 'building.name == "Low"'},
    }
    return folder


@pytest.fixture
def client(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    folder = write_folder(tmp_path / "apps_config", expressive_estate())
    settings = Settings(
        data_dir=tmp_path / "var",
        apps_config=folder,
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        **FAST_ARGON2,
    )
    with TestClient(create_app(settings)) as test_client:
        authorize(test_client)
        yield test_client


def test_stored_computed_fields_follow_every_write(client: TestClient) -> None:
    created = client.post(UNITS, json={"code": "A-1", "rent": "1000.00", "area": "30.00"})
    assert created.status_code == 201, created.text
    assert created.json()["rent_per_m2"] == "33.33"
    unit_id = created.json()["id"]

    changed = client.patch(f"{UNITS}/{unit_id}", json={"area": "40.00"})
    assert changed.json()["rent_per_m2"] == "25.00"
    cleared = client.patch(f"{UNITS}/{unit_id}", json={"area": None})
    assert cleared.json()["rent_per_m2"] is None  # null in, null out
    listed = client.get(UNITS, params={"rent_per_m2__isnull": "true"}).json()
    assert [u["code"] for u in listed["items"]] == ["A-1"]


def test_clients_cannot_set_computed_fields(client: TestClient) -> None:
    response = client.post(UNITS, json={"code": "A-1", "rent_per_m2": "1.00"})
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"path": "rent_per_m2", "message": "is computed from other fields and cannot be set"}
    ]


def test_expression_defaults_fill_fields_left_out(client: TestClient) -> None:
    today = client.post(UNITS, json={"code": "A-1"}).json()["listed_on"]
    assert abs(date.fromisoformat(today) - date.today()) <= timedelta(days=1)
    given = client.post(UNITS, json={"code": "A-2", "listed_on": "2026-01-05"}).json()
    assert given["listed_on"] == "2026-01-05"


def test_rules_refuse_a_record_in_the_callers_language_and_keep_nothing(
    client: TestClient,
) -> None:
    low = client.post(BUILDINGS, json={"name": "Low"}).json()
    refused = client.post(
        UNITS, json={"code": "A-1", "status": "let", "floor": 40, "building": low["id"]}
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [
        {"path": "let_on", "message": "已租房屋须填写起租日期"},
        {"path": "", "message": "低层楼栋没有这么高的楼层"},
    ]
    english = client.post(
        UNITS, json={"code": "A-1", "status": "let"}, headers={"Accept-Language": "en-GB,en"}
    )
    assert english.json()["error"]["details"] == [
        {"path": "let_on", "message": "A let unit needs its letting date"}
    ]
    assert client.get(UNITS).json()["count"] == 0

    vacant = client.post(UNITS, json={"code": "A-1", "status": "vacant"}).json()
    patched = client.patch(f"{UNITS}/{vacant['id']}", json={"status": "let"})
    assert patched.status_code == 422  # rules see the whole record, not just the change
    assert client.get(f"{UNITS}/{vacant['id']}").json()["status"] == "vacant"


def test_virtual_fields_are_computed_on_read_and_can_be_filtered_and_sorted(
    client: TestClient,
) -> None:
    building = client.post(BUILDINGS, json={"name": "East"}).json()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # `today` in the settings' zone
    for code, days in (("A-1", 10), ("A-2", 400), ("A-3", None)):
        let_on = (today - timedelta(days=days)).isoformat() if days is not None else None
        status = "let" if days is not None else "vacant"
        body = {"code": code, "status": status, "let_on": let_on, "building": building["id"]}
        assert client.post(UNITS, json=body).status_code == 201

    long_let = client.get(UNITS, params={"days_let__gte": "365"}).json()
    assert [(u["code"], u["days_let"]) for u in long_let["items"]] == [("A-2", 400)]
    ordered = client.get(UNITS, params={"sort": "-days_let"}).json()["items"]
    assert [u["code"] for u in ordered] == ["A-2", "A-1", "A-3"]
    counted = client.get(f"{BUILDINGS}/{building['id']}").json()
    assert (counted["units"], counted["let_units"]) == (3, 2)


def test_form_conditions_answer_as_the_user_types(client: TestClient) -> None:
    low = client.post(BUILDINGS, json={"name": "Low"}).json()
    state = f"/api/meta/forms/{APP}/unit/state"
    vacant = client.post(state, json={"status": "vacant"}).json()["fields"]
    assert vacant["let_on"] == {"visible": False, "readonly": False, "required": False}
    assert vacant["floor"] == {"visible": True, "readonly": False, "required": False}
    assert vacant["code"]["required"] is True

    let = client.post(state, json={"status": "let", "building": str(low["id"]), "let_on": "20"})
    fields = let.json()["fields"]
    assert fields["let_on"] == {"visible": True, "readonly": False, "required": True}
    assert fields["floor"]["readonly"] is True
    assert client.post(f"/api/meta/forms/{APP}/nope/state", json={}).status_code == 404


def test_a_bad_expression_is_refused_with_its_column(client: TestClient) -> None:
    unit = entity(expressive_estate(), "unit")
    unit["rules"][0]["when"] = 'status == "leased"'
    response = client.put(
        f"/api/meta/definitions/{APP}/entity/unit",
        content=to_yaml(unit),
        headers={"content-type": "application/yaml"},
    )
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["path"] == "rules[0].when"
    assert detail["column"] == 11
    assert detail["message"] == (
        "'leased' is not an option of status; options: vacant, let (column 11)"
    )
    assert detail["excerpt"] == '    status == "leased"\n              ^^^^^^^^'


def test_publishing_a_computed_field_fills_existing_rows(client: TestClient) -> None:
    existing = client.post(UNITS, json={"code": "A-1", "rent": "900.00", "floor": 3}).json()
    unit = entity(expressive_estate(), "unit")
    unit["fields"]["yearly_rent"] = {"type": "decimal", "computed": "rent * 12"}
    unit["fields"]["upper_floor"] = {"type": "boolean", "computed": "floor >= 3"}
    unit["rules"].append({"when": "rent > 800", "message": "rent too high", "field": "rent"})
    client.put(f"/api/meta/definitions/{APP}/entity/unit", json=unit)

    findings = client.post("/api/meta/dry-run").json()["report"]["findings"]
    assert {
        (f["severity"], f["message"], f["rows"]) for f in findings if "rule" in f["message"]
    } == {("warning", "1 rows break the new rule 'rent > 800'", 1)}
    published = client.post("/api/meta/publish", json={"message": "Yearly rent"})
    assert published.status_code == 200, published.text
    record = client.get(f"{UNITS}/{existing['id']}").json()
    assert (record["yearly_rent"], record["upper_floor"]) == ("10800.00", True)
