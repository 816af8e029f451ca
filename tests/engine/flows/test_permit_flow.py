"""The permit flow through every path, over HTTP, with a clock the tests move."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.flows import permit_client, permit_settings
from tests.identity import client_as, create_org


@pytest.fixture
def world(tmp_path: Path, database_url: str | None):
    settings = permit_settings(tmp_path, database_url)
    with permit_client(settings) as (admin, runtime, clock):
        city = create_org(admin, "C01", "city")
        street = create_org(admin, "S01", "street", parent_id=city["id"])
        clerk = client_as(admin, "clerk1", "clerk", org_id=street["id"])
        boss = client_as(admin, "boss1", "manager", org_id=city["id"])
        chief = client_as(admin, "chief1", "manager", org_id=city["id"])
        yield {
            "admin": admin,
            "runtime": runtime,
            "clock": clock,
            "clerk": clerk,
            "boss": boss,
            "chief": chief,
        }


def new_permit(clerk: TestClient, **values) -> dict:
    response = clerk.post(
        "/api/estate/permit", json={"title": "Shop sign", "amount": 500, **values}
    )
    assert response.status_code == 201, response.text
    return response.json()


def take(client: TestClient, record_id: int, name: str, **body):
    return client.post(f"/api/estate/permit/{record_id}/transitions/{name}", json=body)


def test_happy_path_to_granted(world) -> None:
    clerk, boss, chief = world["clerk"], world["boss"], world["chief"]
    permit = new_permit(clerk)
    assert permit["state"] == "draft"
    submitted = take(clerk, permit["id"], "submit")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["state"] == "review"
    inbox = boss.get("/api/inbox").json()
    assert [t["step"] for t in inbox["items"]] == ["first"]
    first = take(boss, permit["id"], "approve", comment="ok")
    assert first.status_code == 200, first.text
    assert first.json()["state"] == "review"
    second = take(chief, permit["id"], "approve")
    assert second.status_code == 200, second.text
    assert second.json()["state"] == "publicity"
    view = clerk.get(f"/api/estate/permit/{permit['id']}/flow").json()
    print(view)
