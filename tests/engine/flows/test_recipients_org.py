"""Flow recipients by role in another organisation than the record's: `{role, org}` on an
approval step gives a task for the role's holders in the organisation whose code `org`
gives (or one above it) — not those over the record — and a `notify` reaches them; a null
or unknown code notifies nobody, and leaves a step nobody to decide (409, nothing moves).
A bad `org` is refused at load with its path. (The permit flow of tests/flows.py.)"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from engine.expressions.definitions import load_definitions
from engine.flows.tables import messages, tasks
from metamodel.errors import DefinitionsInvalid
from metamodel.loader import read_folder
from tests.definitions import Folder, write_folder
from tests.flows import permit_client, permit_folder, permit_settings
from tests.identity import client_as, create_org

REVIEW = "estate/flows/permit.yaml"
ASSIGNEE = "states.review.approval.steps[0].assignee"


def operated_folder(mode: str = "single") -> Folder:
    """The permit flow with `operator` (the code of the street that decides the permit)
    and `watcher` (the code of the street told of it) on permits; the first review step
    goes to the managers over the operator, in `mode`, with no second step; entering review
    tells the managers over the watcher. Managers read every permit."""
    folder = copy.deepcopy(permit_folder())
    permit = folder["estate/entities/permit.yaml"]
    permit["fields"]["operator"] = {"type": "string", "max_length": 40}
    permit["fields"]["watcher"] = {"type": "string", "max_length": 40}
    permit["permissions"]["manager"]["scope"] = "all"
    flow = folder[REVIEW]
    flow["params"]["second_review"] = False
    review = flow["states"]["review"]
    review["approval"]["steps"][0]["assignee"] = {"role": "manager", "org": "operator"}
    review["approval"]["steps"][0]["mode"] = mode
    review["on_enter"] = [
        {"notify": {"role": "manager", "org": "watcher"}, "title": "待审：{{ record.title }}"}
    ]
    return folder


@pytest.fixture
def people(tmp_path: Path, database_url: str | None) -> Iterator[dict[str, Any]]:
    yield from _people(tmp_path, database_url, operated_folder())


@pytest.fixture
def any_people(tmp_path: Path, database_url: str | None) -> Iterator[dict[str, Any]]:
    yield from _people(tmp_path, database_url, operated_folder("any"))


def _people(root: Path, database_url: str | None, folder: Folder) -> Iterator[dict[str, Any]]:
    """A city C with streets S1 and S2: `clerk` in S1, managers `boss1` (S1), `boss2` (S2)
    and `chief` (C)."""
    settings = permit_settings(root, database_url)
    write_folder(settings.apps_config, folder)
    with permit_client(settings) as (admin, runtime, _clock):
        city = create_org(admin, "C", "city")
        s1 = create_org(admin, "S1", "street", parent_id=city["id"])
        s2 = create_org(admin, "S2", "street", parent_id=city["id"])
        yield {
            "runtime": runtime,
            "S2": s2,
            "clerk": client_as(admin, "clerk", "clerk", org_id=s1["id"]),
            "boss1": client_as(admin, "boss1", "manager", org_id=s1["id"]),
            "boss2": client_as(admin, "boss2", "manager", org_id=s2["id"]),
            "chief": client_as(admin, "chief", "manager", org_id=city["id"]),
        }


def submit(clerk: TestClient, **values: Any) -> tuple[int, Any]:
    body = {"title": "Shop sign", "amount": 500, **values}
    permit = clerk.post("/api/estate/permit", json=body)
    assert permit.status_code == 201, permit.text
    record_id = int(permit.json()["id"])
    return record_id, clerk.post(f"/api/estate/permit/{record_id}/transitions/submit", json={})


def inbox(client: TestClient) -> list[int]:
    return [task["record_id"] for task in client.get("/api/inbox").json()["items"]]


def approve(client: TestClient, record_id: int) -> Any:
    return client.post(f"/api/estate/permit/{record_id}/transitions/approve", json={})


def told(people: dict[str, Any]) -> list[str]:
    query = sa.select(messages.c.recipient).order_by(messages.c.recipient)
    with people["runtime"].engine.connect() as conn:
        return list(conn.execute(query).scalars())


def test_the_step_goes_to_the_managers_over_the_operator_not_the_record(
    people: dict[str, Any],
) -> None:
    record_id, moved = submit(people["clerk"], operator="S2", watcher="S1")
    assert moved.json()["state"] == "review", moved.text
    assert record_id in inbox(people["boss2"]) and record_id in inbox(people["chief"])
    assert record_id not in inbox(people["boss1"])  # the manager of the permit's own street
    assert approve(people["boss1"], record_id).status_code == 403
    approved = approve(people["boss2"], record_id)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "publicity"
    assert told(people) == ["boss1", "chief"]  # the watcher's managers, by notify


def test_no_watcher_notifies_nobody_and_the_move_goes_on(people: dict[str, Any]) -> None:
    _, moved = submit(people["clerk"], operator="S2", watcher=None)
    assert moved.json()["state"] == "review", moved.text
    _, moved = submit(people["clerk"], operator="S2", watcher="NO-SUCH-ORG")
    assert moved.json()["state"] == "review", moved.text
    assert told(people) == []


@pytest.mark.parametrize("operator", [None, "NO-SUCH-ORG"])
def test_a_step_whose_org_names_none_is_refused_and_nothing_moves(
    people: dict[str, Any], operator: str | None
) -> None:
    record_id, moved = submit(people["clerk"], operator=operator, watcher="S1")
    assert moved.status_code == 409, moved.text
    error = moved.json()["error"]
    assert "has nobody to decide it" in error["message"]
    assert error["details"] == [{"path": "assignee.org", "message": "names no organisation"}]
    permit = people["clerk"].get(f"/api/estate/permit/{record_id}").json()
    assert permit["state"] == "draft"
    assert told(people) == []


def test_a_task_per_holder_over_the_operator_in_mode_any(any_people: dict[str, Any]) -> None:
    record_id, moved = submit(any_people["clerk"], operator="S2")
    assert moved.json()["state"] == "review", moved.text
    query = sa.select(tasks.c.assignee, tasks.c.org_path).where(tasks.c.record_id == record_id)
    with any_people["runtime"].engine.connect() as conn:
        rows = sorted(conn.execute(query).all())
    street = any_people["S2"]["path"]  # the operator's, not the permit's street S1
    assert rows == [("boss2", street), ("chief", street)]


@pytest.mark.parametrize(
    ("assignee", "path", "message"),
    [
        ({"expression": "created_by", "org": "operator"}, f"{ASSIGNEE}.org", "with role"),
        ({"role": "manager", "org": "amount"}, f"{ASSIGNEE}.org", "must give a string"),
        ({"role": "manager", "org": "operater"}, f"{ASSIGNEE}.org", "operater"),
    ],
)
def test_a_bad_org_is_refused_at_load_with_its_path(
    tmp_path: Path, assignee: dict[str, Any], path: str, message: str
) -> None:
    folder = operated_folder()
    folder[REVIEW]["states"]["review"]["approval"]["steps"][0]["assignee"] = assignee
    write_folder(tmp_path, folder)
    with pytest.raises(DefinitionsInvalid) as raised:
        load_definitions(read_folder(tmp_path))
    found = [(e.file, e.path, e.message) for e in raised.value.errors]
    assert any(f == REVIEW and p == path and message in m for f, p, m in found), found
