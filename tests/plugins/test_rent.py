"""The rent plugin: monthly rent = rent standard × usable area, half up to the fen, in Python,
in stored and virtual computed fields (SQL), and on the shipped housing unit."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.settings import Settings
from plugins.builtin.rent import monthly_rent
from renderers.app import create_app
from tests.databases import ADMIN_PASSWORD, FAST_ARGON2, estate_settings
from tests.definitions import entity, estate, write_folder
from tests.identity import authorize

APPS_CONFIG = Path(__file__).resolve().parents[2] / "apps_config"
UNITS = "/api/estate/unit"


@pytest.mark.parametrize(
    ("standard", "area", "rent"),
    [
        ("2.6", "43.0", "111.80"),  # the deck's contract form and rent account (DOMAIN.md)
        ("2.60", "43.00", "111.80"),
        ("2.45", "38.5", "94.33"),  # 94.325: half up, where banker's rounding gives 94.32
        ("2.8", "57", "159.60"),
        ("3", "0", "0.00"),
        ("0", "43.0", "0.00"),
    ],
)
def test_monthly_rent_is_standard_times_area_half_up_to_the_fen(
    standard: str, area: str, rent: str
) -> None:
    found = monthly_rent(Decimal(standard), Decimal(area))
    assert (found, str(found)) == (Decimal(rent), rent)


@pytest.mark.parametrize(
    ("standard", "area", "message"),
    [("-2.6", "43.0", "rent standard must not be negative"), ("2.6", "-1", "usable area")],
)
def test_a_negative_standard_or_area_is_refused(standard: str, area: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        monthly_rent(Decimal(standard), Decimal(area))


# In definitions: the expression function, stored and virtual (SQL) ------------------------


@pytest.fixture
def estate_client(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    """The estate app with a unit that has a rent standard, an area and both rent fields."""
    settings = estate_settings(tmp_path, database_url)
    folder = estate()
    fields = entity(folder, "unit")["fields"]
    fields["standard"] = {"type": "decimal", "scale": 2, "min": 0}
    fields["usable"] = {"type": "decimal", "scale": 2, "min": 0}
    fields["stored_rent"] = {
        "type": "decimal",
        "scale": 2,
        "computed": "monthly_rent(standard, usable)",
    }
    fields["live_rent"] = {
        "type": "decimal",
        "scale": 2,
        "computed": "monthly_rent(standard, usable)",
        "virtual": True,
    }
    write_folder(settings.apps_config, folder)
    with TestClient(create_app(settings)) as client:
        authorize(client)
        yield client


def add_unit(client: TestClient, code: str, standard: str, usable: str) -> dict[str, Any]:
    response = client.post(UNITS, json={"code": code, "standard": standard, "usable": usable})
    assert response.status_code == 201, response.text
    unit: dict[str, Any] = response.json()
    return unit


def test_the_database_computes_the_rent_as_python_does(estate_client: TestClient) -> None:
    deck = add_unit(estate_client, "A-1", "2.60", "43.00")
    half = add_unit(estate_client, "A-2", "2.45", "38.50")
    small = add_unit(estate_client, "A-3", "2.80", "30.10")
    assert [(u["stored_rent"], u["live_rent"]) for u in (deck, half, small)] == [
        ("111.80", "111.80"),
        ("94.33", "94.33"),
        ("84.28", "84.28"),
    ]
    found = estate_client.get(UNITS, params={"live_rent__gte": "94.33", "sort": "live_rent"})
    assert [u["code"] for u in found.json()["items"]] == ["A-2", "A-1"]


def test_a_unit_without_an_area_has_no_rent(estate_client: TestClient) -> None:
    unit = add_unit(estate_client, "A-1", "2.60", "43.00")
    changed = estate_client.patch(f"{UNITS}/{unit['id']}", json={"usable": None})
    assert changed.status_code == 200, changed.text
    assert (changed.json().get("stored_rent"), changed.json().get("live_rent")) == (None, None)


# The shipped housing unit ---------------------------------------------------------------------


@pytest.fixture
def housing(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    """The shipped apps, over HTTP as admin."""
    settings = Settings(
        data_dir=tmp_path / "var",
        apps_config=APPS_CONFIG,
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        job_threads=False,
        **FAST_ARGON2,
    )
    with TestClient(create_app(settings)) as client:
        authorize(client)
        yield client


def new_unit(client: TestClient, **changes: Any) -> Any:
    district = client.post(
        "/api/housing_stock/region", json={"name": "岳麓区", "code": "430104", "level": "district"}
    ).json()
    project = client.post(
        "/api/housing_stock/project",
        json={
            "name": "洋湖公租房小区",
            "code": "XM4301040001",
            "housing_type": "public_rental",
            "district": district["id"],
            "address": "长沙市岳麓区洋湖大道 88 号",
        },
    ).json()
    building = client.post(
        "/api/housing_stock/building",
        json={
            "project": project["id"],
            "code": "430104-0001-001",
            "building_no": "1",
            "name": "1 栋",
            "floors_above_ground": 18,
        },
    ).json()
    body = {
        "code": "430104-0001-001-01-0401",
        "project": project["id"],
        "building": building["id"],
        "district": district["id"],
        "floor": 4,
        "room_no": "0401",
        "building_area": "57.00",
        "usable_area": "43.00",
        "housing_type": "public_rental",
        "rent_standard": "2.60",
        "address": "长沙市岳麓区洋湖大道 88 号 1 栋 0401",
        **changes,
    }
    return client.post("/api/housing_stock/housing_unit", json=body)


def test_a_housing_unit_gets_its_monthly_rent_from_standard_and_area(housing: TestClient) -> None:
    created = new_unit(housing)
    assert created.status_code == 201, created.text
    unit = created.json()
    assert unit["monthly_rent"] == "111.80"  # 2.6 × 43.0, the deck's two-room flat
    raised = housing.patch(
        f"/api/housing_stock/housing_unit/{unit['id']}", json={"rent_standard": "2.80"}
    )
    assert raised.status_code == 200, raised.text
    assert raised.json()["monthly_rent"] == "120.40"  # 2.8 × 43.0
    cheaper = housing.get("/api/housing_stock/housing_unit", params={"monthly_rent__lt": "120"})
    assert cheaper.json()["items"] == []


def test_the_monthly_rent_cannot_be_entered(housing: TestClient) -> None:
    refused = new_unit(housing, monthly_rent="100.00")
    assert refused.status_code == 422
    assert "computed" in refused.text


def test_the_plugin_is_listed_with_its_description(housing: TestClient) -> None:
    plugins = {p["name"]: p for p in housing.get("/api/meta/plugins").json()["items"]}
    assert plugins["rent"]["status"] == "active"
    assert plugins["rent"]["description"].startswith("Public rental rent: monthly rent")
    assert plugins["rent"]["hooks"] == ["anju_functions"]
