"""Downloads follow the records: a file is served to its uploader and to whoever may read a
record holding it, and is not found for anyone else."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from engine.settings import Settings
from renderers.app import create_app
from tests.definitions import write_folder
from tests.engine.test_permissions import secured_folder
from tests.identity import authorize, client_as, create_org

PLAN = b"%PDF-1.7 floor plan"


@pytest.fixture
def admin(settings: Settings) -> Iterator[TestClient]:
    write_folder(settings.apps_config, secured_folder())
    with TestClient(create_app(settings)) as client:
        authorize(client)
        yield client


def unit_with_photo(admin: TestClient, street_code: str, code: str) -> str:
    building = admin.post("/api/estate/building", json={"name": code, "street_code": street_code})
    assert building.status_code == 201, building.text
    upload = admin.post("/api/files", files={"file": ("plan.pdf", PLAN, "application/pdf")})
    file_id: str = upload.json()["id"]
    unit = {"code": code, "building": building.json()["id"], "photo": file_id}
    assert admin.post("/api/estate/unit", json=unit).status_code == 201
    return file_id


def test_a_file_is_served_only_where_its_record_may_be_read(admin: TestClient) -> None:
    own_district = create_org(admin, "430102")
    other_district = create_org(admin, "430103")
    create_org(admin, "430102001", kind="street", parent_id=own_district["id"])
    create_org(admin, "430103001", kind="street", parent_id=other_district["id"])
    inside = unit_with_photo(admin, "430102001", "A-1")
    outside = unit_with_photo(admin, "430103001", "B-1")
    officer = client_as(admin, "wang", "district_officer", org_id=own_district["id"])
    client_as(admin, "zhao", "district_officer", org_id=other_district["id"])

    assert officer.get(f"/api/files/{inside}").content == PLAN
    refused = officer.get(f"/api/files/{outside}")
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"


def test_the_uploader_may_fetch_a_file_no_record_holds_yet(admin: TestClient) -> None:
    district = create_org(admin, "430102")
    officer = client_as(admin, "wang", "district_officer", org_id=district["id"])
    mine = officer.post("/api/files", files={"file": ("a.pdf", PLAN, "application/pdf")})
    theirs = admin.post("/api/files", files={"file": ("b.pdf", PLAN, "application/pdf")})

    assert officer.get(f"/api/files/{mine.json()['id']}").status_code == 200
    assert officer.get(f"/api/files/{theirs.json()['id']}").status_code == 404
