"""The two-person rule of approval steps (`exclude_submitter: true`): whoever created the
record never decides that step, even holding the step's role, nor sees it in their inbox;
steps without the option keep the usual rule (tests/flows.py's permit flow)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.definitions import write_folder
from tests.flows import permit_client, permit_folder, permit_settings
from tests.identity import client_as, create_org


@pytest.fixture
def people(tmp_path: Path, database_url: str | None) -> Iterator[dict[str, TestClient]]:
    settings = permit_settings(tmp_path, database_url)
    folder = permit_folder()
    flow = copy.deepcopy(folder["estate/flows/permit.yaml"])
    first = flow["states"]["review"]["approval"]["steps"][0]
    first["exclude_submitter"] = True
    flow["params"]["second_review"] = False
    folder["estate/flows/permit.yaml"] = flow
    write_folder(settings.apps_config, folder)
    with permit_client(settings) as (admin, _runtime, _clock):
        city = create_org(admin, "C01", "city")
        yield {
            "admin": admin,
            "maker": client_as(admin, "maker", "clerk", "manager", org_id=city["id"]),
            "checker": client_as(admin, "checker", "manager", org_id=city["id"]),
        }


def submitted(client: TestClient) -> int:
    permit = client.post("/api/estate/permit", json={"title": "Shop sign", "amount": 500})
    assert permit.status_code == 201, permit.text
    record_id = int(permit.json()["id"])
    moved = client.post(f"/api/estate/permit/{record_id}/transitions/submit", json={})
    assert moved.json()["state"] == "review", moved.text
    return record_id


def inbox_records(client: TestClient) -> list[int]:
    return [task["record_id"] for task in client.get("/api/inbox").json()["items"]]


def approve(client: TestClient, record_id: int) -> Any:
    return client.post(f"/api/estate/permit/{record_id}/transitions/approve", json={})


def test_the_submitter_may_not_approve_even_holding_the_role(people: dict[str, Any]) -> None:
    record_id = submitted(people["maker"])
    assert record_id not in inbox_records(people["maker"])
    refused = approve(people["maker"], record_id)
    assert refused.status_code == 403
    assert "two-person rule" in refused.json()["error"]["message"]
    flow = people["maker"].get(f"/api/estate/permit/{record_id}/flow")
    if flow.status_code == 200:  # the record's flow view offers the submitter no decision
        assert "approve" not in [t["name"] for t in flow.json()["transitions"]]

    assert record_id in inbox_records(people["checker"])
    approved = approve(people["checker"], record_id)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "publicity"


def test_not_even_an_administrator_approves_their_own(people: dict[str, Any]) -> None:
    record_id = submitted(people["admin"])
    assert record_id not in inbox_records(people["admin"])
    assert approve(people["admin"], record_id).status_code == 403


def test_a_step_without_the_option_lets_the_submitter_decide(
    tmp_path: Path, database_url: str | None
) -> None:
    settings = permit_settings(tmp_path, database_url)
    with permit_client(settings) as (admin, _runtime, _clock):
        city = create_org(admin, "C01", "city")
        maker = client_as(admin, "maker", "clerk", "manager", org_id=city["id"])
        record_id = submitted(maker)
        assert record_id in inbox_records(maker)
        assert approve(maker, record_id).status_code == 200
