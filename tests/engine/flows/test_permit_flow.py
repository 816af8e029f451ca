"""The permit flow (tests/flows.py) through every path over HTTP, with a clock the tests move:
approvals in two steps, refusal, return, withdrawal, timers, claims and concurrency."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from engine.flows.jobs import sweep_timers
from engine.flows.tables import history
from tests.flows import PERMIT_FLOW, permit_client, permit_settings
from tests.identity import client_as, create_org

World = dict[str, Any]


@pytest.fixture
def world(tmp_path: Path, database_url: str | None) -> Iterator[World]:
    """A city with two streets; a clerk in street 1, two managers in the city, a manager and
    a clerk in street 2."""
    settings = permit_settings(tmp_path, database_url)
    with permit_client(settings) as (admin, runtime, clock):
        city = create_org(admin, "C01", "city")
        street = create_org(admin, "S01", "street", parent_id=city["id"])
        other = create_org(admin, "S02", "street", parent_id=city["id"])
        yield {
            "admin": admin,
            "runtime": runtime,
            "clock": clock,
            "clerk": client_as(admin, "clerk1", "clerk", org_id=street["id"]),
            "boss": client_as(admin, "boss1", "manager", org_id=city["id"]),
            "chief": client_as(admin, "chief1", "manager", org_id=city["id"]),
            "outsider": client_as(admin, "clerk2", "clerk", "manager", org_id=other["id"]),
        }


def new_permit(clerk: TestClient, **values: Any) -> dict[str, Any]:
    body = {"title": "Shop sign", "amount": 500, **values}
    response = clerk.post("/api/estate/permit", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def take(client: TestClient, record_id: int, name: str, **body: Any) -> Any:
    return client.post(f"/api/estate/permit/{record_id}/transitions/{name}", json=body)


def state_of(client: TestClient, record_id: int) -> str:
    return client.get(f"/api/estate/permit/{record_id}").json()["state"]


def in_review(world: World) -> dict[str, Any]:
    permit = new_permit(world["clerk"])
    assert take(world["clerk"], permit["id"], "submit").json()["state"] == "review"
    return permit


def in_publicity(world: World) -> dict[str, Any]:
    permit = in_review(world)
    assert take(world["boss"], permit["id"], "approve").status_code == 200
    assert take(world["chief"], permit["id"], "approve").json()["state"] == "publicity"
    return permit


def timeline(client: TestClient, record_id: int) -> list[dict[str, Any]]:
    return client.get(f"/api/estate/permit/{record_id}/flow").json()["timeline"]


def test_a_new_record_starts_in_the_initial_state_with_a_timeline(world: World) -> None:
    permit = new_permit(world["clerk"])

    assert permit["state"] == "draft"
    assert [
        (e["kind"], e["to_state"], e["actor"]) for e in timeline(world["clerk"], permit["id"])
    ] == [("create", "draft", "clerk1")]


def test_records_are_listed_by_their_state(world: World) -> None:
    draft = new_permit(world["clerk"], title="Awning")
    review = in_review(world)

    def listed(query: str) -> list[int]:
        response = world["clerk"].get(f"/api/estate/permit?{query}")
        assert response.status_code == 200, response.text
        return sorted(item["id"] for item in response.json()["items"])

    assert listed("state=review") == [review["id"]]
    assert listed("state__in=draft,review") == sorted([draft["id"], review["id"]])
    assert listed("state=publicity") == []


def test_two_step_approval_moves_on_only_when_both_steps_are_in(world: World) -> None:
    permit = in_review(world)
    boss, chief = world["boss"], world["chief"]
    assert [t["step"] for t in boss.get("/api/inbox").json()["items"]] == ["first"]

    first = take(boss, permit["id"], "approve", comment="材料齐全")
    assert first.json()["state"] == "review"
    assert [t["step"] for t in chief.get("/api/inbox").json()["items"]] == ["second"]
    second = take(chief, permit["id"], "approve")

    assert second.json()["state"] == "publicity"
    assert second.json()["decided_on"] == "2026-03-02"
    entries = timeline(chief, permit["id"])
    assert [(e["kind"], e["step"], e["actor"], e["comment"]) for e in entries[-2:]] == [
        ("approval", "first", "boss1", "材料齐全"),
        ("transition", "second", "chief1", None),
    ]
    assert entries[-1]["changes"] == {"decided_on": [None, "2026-03-02"]}
    assert boss.get("/api/inbox").json()["count"] == 0


def test_one_person_does_not_decide_two_steps(world: World) -> None:
    permit = in_review(world)
    take(world["boss"], permit["id"], "approve")
    assert world["boss"].get("/api/inbox").json()["count"] == 0  # step two is not offered
    assert [t["step"] for t in world["chief"].get("/api/inbox").json()["items"]] == ["second"]

    again = take(world["boss"], permit["id"], "approve")

    assert again.status_code == 403
    assert "another person" in again.json()["error"]["message"]
    assert take(world["chief"], permit["id"], "approve").json()["state"] == "publicity"


def test_the_check_result_is_stored_with_its_inputs_and_a_failure_returns_the_record(
    world: World,
) -> None:
    permit = new_permit(world["clerk"], amount=5000)

    moved = take(world["clerk"], permit["id"], "submit").json()

    assert moved["state"] == "returned"
    assert moved["check_report"]["passed"] is False
    assert moved["check_report"]["reasons"] == ["amount 5000 is above the limit"]
    assert moved["check_report"]["inputs"] == {"amount": 5000}
    assert moved["check_report"]["version"] == "1.2"
    # enough to re-run the decision: who decided, under which definitions, on which day
    report = moved["check_report"]
    assert (report["plugin"], report["definitions_version"]) == ("permit_checks", 1)
    assert report["plugin_version"] != ""
    assert (report["today"], report["params"]["amount_limit"]) == ("2026-03-02", 1000)
    failed = [e for e in timeline(world["clerk"], permit["id"]) if e["checks"]]
    assert failed[0]["checks"][0]["level"] == "red"


def test_returned_records_are_editable_and_resubmitted(world: World) -> None:
    clerk = world["clerk"]
    permit = new_permit(clerk, amount=5000)
    take(clerk, permit["id"], "submit")

    edited = clerk.patch(f"/api/estate/permit/{permit['id']}", json={"amount": 800})
    assert edited.status_code == 200, edited.text
    again = take(clerk, permit["id"], "submit")

    assert again.json()["state"] == "review"


def test_fields_are_fixed_outside_the_states_that_leave_them_editable(world: World) -> None:
    permit = in_review(world)

    refused = world["clerk"].patch(f"/api/estate/permit/{permit['id']}", json={"amount": 1})
    allowed = world["boss"].patch(f"/api/estate/permit/{permit['id']}", json={"note": "ok"})

    assert refused.status_code == 409
    assert refused.json()["error"]["details"][0]["path"] == "amount"
    assert allowed.status_code == 200


def test_refusal_needs_a_reason_of_fifteen_characters(world: World) -> None:
    permit = in_review(world)
    boss = world["boss"]

    missing = take(boss, permit["id"], "refuse")
    short = take(boss, permit["id"], "refuse", note="太短")
    refused = take(boss, permit["id"], "refuse", note="申请材料与现场核查情况不符，且无法补正")

    assert missing.status_code == 422
    assert missing.json()["error"]["details"] == [{"path": "note", "message": "is required"}]
    assert short.status_code == 422
    assert short.json()["error"]["details"][0]["path"] == "note"
    assert refused.status_code == 200, refused.text
    assert refused.json()["state"] == "refused"
    assert boss.get("/api/inbox").json()["count"] == 0
    assert "note" in timeline(boss, permit["id"])[-1]["changes"]
    assert "note" not in timeline(world["clerk"], permit["id"])[-1]["changes"]  # hidden to clerks


def test_return_to_the_previous_step_then_to_the_clerk(world: World) -> None:
    permit = in_review(world)
    boss, chief = world["boss"], world["chief"]
    take(boss, permit["id"], "approve")

    back = take(chief, permit["id"], "send_back", comment="请复核面积")
    assert back.json()["state"] == "review"
    assert [t["step"] for t in boss.get("/api/inbox").json()["items"]] == ["first"]
    to_clerk = take(boss, permit["id"], "send_back", comment="请补充材料")

    assert to_clerk.json()["state"] == "returned"
    kinds = [(e["kind"], e["step"]) for e in timeline(boss, permit["id"])[-2:]]
    assert kinds == [("return", "first"), ("transition", "first")]


def test_a_comment_is_required_to_send_back(world: World) -> None:
    permit = in_review(world)

    response = take(world["boss"], permit["id"], "send_back")

    assert response.status_code == 422
    assert response.json()["error"]["details"] == [{"path": "comment", "message": "is required"}]


def test_only_the_submitter_withdraws(world: World) -> None:
    permit = in_review(world)

    by_boss = take(world["boss"], permit["id"], "withdraw", comment="撤回申请")
    short = take(world["clerk"], permit["id"], "withdraw", comment="撤")
    by_clerk = take(world["clerk"], permit["id"], "withdraw", comment="撤回申请")

    assert by_boss.status_code == 403
    assert short.status_code == 422
    assert by_clerk.json()["state"] == "withdrawn"
    assert world["boss"].get("/api/inbox").json()["count"] == 0


def test_roles_and_data_scope_decide_who_takes_a_transition(world: World) -> None:
    permit = new_permit(world["clerk"])

    by_manager = take(world["boss"], permit["id"], "submit")
    by_other_street = take(world["outsider"], permit["id"], "submit")
    unknown = take(world["clerk"], permit["id"], "approve_all")
    wrong_state = take(world["clerk"], permit["id"], "withdraw", comment="撤回申请")

    assert by_manager.status_code == 403
    assert by_other_street.status_code == 404
    assert unknown.status_code == 404
    assert wrong_state.status_code == 409
    assert state_of(world["clerk"], permit["id"]) == "draft"


def test_a_manager_of_another_street_has_no_task(world: World) -> None:
    permit = in_review(world)

    response = take(world["outsider"], permit["id"], "approve")

    assert response.status_code == 404
    assert world["outsider"].get("/api/inbox").json()["count"] == 0


def test_platform_transitions_cannot_be_taken_by_users(world: World) -> None:
    permit = in_publicity(world)

    response = take(world["admin"], permit["id"], "publicity_ends")

    assert response.status_code == 403


def test_claiming_is_exclusive(world: World) -> None:
    permit = in_review(world)
    boss, chief = world["boss"], world["chief"]
    task = boss.get("/api/inbox").json()["items"][0]

    claimed = boss.post(f"/api/inbox/{task['id']}/claim")
    second = chief.post(f"/api/inbox/{task['id']}/claim")
    decided_by_other = take(chief, permit["id"], "approve")

    assert claimed.status_code == 200
    assert claimed.json()["claimed_by"] == "boss1"
    assert second.status_code == 409
    assert decided_by_other.status_code == 409
    assert chief.get("/api/inbox").json()["count"] == 0
    released = boss.post(f"/api/inbox/{task['id']}/release")
    assert released.json()["claimed_by"] is None
    assert take(chief, permit["id"], "approve").json()["state"] == "review"


def test_the_flow_view_offers_what_the_user_may_do(world: World) -> None:
    permit = in_review(world)

    for_boss = world["boss"].get(f"/api/estate/permit/{permit['id']}/flow").json()
    for_clerk = world["clerk"].get(f"/api/estate/permit/{permit['id']}/flow").json()

    assert for_boss["state"] == "review"
    assert {c["name"] for c in for_boss["transitions"]} == {"approve", "send_back", "refuse"}
    assert {c["name"] for c in for_clerk["transitions"]} == {"withdraw"}
    assert [t["step"] for t in for_clerk["tasks"]] == ["first"]


def test_publicity_ends_after_three_working_days(world: World) -> None:
    runtime, clock = world["runtime"], world["clock"]
    permit = in_publicity(world)  # entered on Monday 2 March

    clock.advance(days=3, hours=13)  # Thursday 5 March, 23:00 in Shanghai: still running
    early = sweep_timers(runtime.engine, runtime.require_catalog(), clock.now())
    assert state_of(world["clerk"], permit["id"]) == "publicity"
    clock.advance(hours=1)  # Friday 00:00: three working days have passed
    due = sweep_timers(runtime.engine, runtime.require_catalog(), clock.now())
    again = sweep_timers(runtime.engine, runtime.require_catalog(), clock.now())

    assert (early.moved, due.moved, again.moved) == (0, 1, 0)
    granted = world["clerk"].get(f"/api/estate/permit/{permit['id']}").json()
    assert granted["state"] == "granted"
    document = world["clerk"].get(f"/api/files/{granted['certificate']}")
    assert document.status_code == 200
    assert "许可证 Shop sign" in document.text
    last = timeline(world["clerk"], permit["id"])[-1]
    assert (last["transition"], last["actor"]) == ("publicity_ends", "system")


def test_the_reminder_reaches_the_managers(world: World) -> None:
    runtime, clock = world["runtime"], world["clock"]
    in_publicity(world)

    clock.advance(days=2)
    result = sweep_timers(runtime.engine, runtime.require_catalog(), clock.now())

    assert result.fired == 1
    inbox = world["boss"].get("/api/messages").json()
    assert inbox["unread"] == 1
    assert inbox["items"][0]["title"] == "公示中：Shop sign"
    message_id = inbox["items"][0]["id"]
    assert world["boss"].post(f"/api/messages/{message_id}/read").status_code == 204
    assert world["boss"].get("/api/messages").json()["unread"] == 0


def test_leaving_a_state_cancels_its_timers(world: World) -> None:
    runtime, clock = world["runtime"], world["clock"]
    permit = in_publicity(world)
    take(world["clerk"], permit["id"], "withdraw", comment="不再需要")

    clock.advance(days=10)
    result = sweep_timers(runtime.engine, runtime.require_catalog(), clock.now())

    assert (result.moved, result.fired) == (0, 0)
    assert state_of(world["clerk"], permit["id"]) == "withdrawn"


def test_every_transition_is_on_the_audit_chain(world: World) -> None:
    permit = in_review(world)

    entries = world["admin"].get("/api/audit", params={"action": "record.transition"}).json()

    mine = [e for e in entries["items"] if e["record_id"] == str(permit["id"])]
    assert mine[0]["detail"]["moves"][0]["transition"] == "submit"
    assert world["admin"].get("/api/audit/verify").json()["ok"] is True


def test_a_refused_transition_writes_nothing(world: World) -> None:
    runtime = world["runtime"]
    permit = in_review(world)
    with runtime.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(history)).scalar()

    take(world["boss"], permit["id"], "refuse", note="太短")

    with runtime.engine.connect() as conn:
        after = conn.execute(sa.select(sa.func.count()).select_from(history)).scalar()
    assert after == before
    assert state_of(world["boss"], permit["id"]) == "review"


def at_once(*calls: Any) -> list[int]:
    """Run the calls in threads released together; their status codes, sorted."""
    barrier = threading.Barrier(len(calls))
    codes: list[int] = []

    def run(call: Any) -> None:
        barrier.wait()
        codes.append(call().status_code)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(codes)


def test_two_reviewers_deciding_one_task_at_once_one_wins(world: World) -> None:
    permit = in_review(world)
    seen = {"If-Match": str(permit["row_version"] + 1)}  # as the reviewers both loaded it

    def approve(name: str) -> Any:
        url = f"/api/estate/permit/{permit['id']}/transitions/approve"
        return lambda: world[name].post(url, json={}, headers=seen)

    assert at_once(approve("boss"), approve("chief")) == [200, 412]
    approvals = [e for e in timeline(world["boss"], permit["id"]) if e["kind"] == "approval"]
    assert len(approvals) == 1


def test_a_refusal_and_a_withdrawal_at_once_one_wins_the_other_gets_409(world: World) -> None:
    permit = in_review(world)
    note = "申请材料与现场核查情况不符，且无法补正"

    codes = at_once(
        lambda: take(world["boss"], permit["id"], "refuse", note=note),
        lambda: take(world["clerk"], permit["id"], "withdraw", comment="撤回申请"),
    )

    assert codes == [200, 409]
    assert state_of(world["clerk"], permit["id"]) in ("refused", "withdrawn")
    moves = [e for e in timeline(world["clerk"], permit["id"]) if e["from_state"] == "review"]
    assert len(moves) == 1


def test_a_flow_version_that_removes_a_state_keeps_records_until_mapped(world: World) -> None:
    admin, clerk = world["admin"], world["clerk"]
    permit = in_publicity(world)
    changed = copy.deepcopy(PERMIT_FLOW)
    del changed["states"]["publicity"]
    changed["transitions"]["approve"]["to"] = "granted"
    del changed["transitions"]["publicity_ends"]
    changed["transitions"]["withdraw"]["from"] = ["checking", "review"]
    put = admin.put("/api/meta/definitions/estate/flow/permit", json=changed)
    assert put.status_code == 200, put.text

    report = admin.post("/api/meta/dry-run").json()
    stranded = [f for f in report["report"]["findings"] if f["field"] == "state"]
    assert [(f["severity"], f["rows"]) for f in stranded] == [("warning", 1)]
    assert admin.post("/api/meta/publish", json={"message": "no publicity"}).status_code == 200
    kept = clerk.get(f"/api/estate/permit/{permit['id']}").json()
    assert (kept["state"], kept["flow_version"]) == ("publicity", 1)
    still_leaves = take(clerk, permit["id"], "withdraw", comment="按旧流程撤回")
    assert still_leaves.json()["state"] == "withdrawn"
    assert still_leaves.json()["flow_version"] == 2

    other = in_review(world)
    take(world["boss"], other["id"], "approve")
    changed["states"]["vetting"] = changed["states"].pop("review")
    for transition in changed["transitions"].values():
        sources = (
            transition["from"] if isinstance(transition["from"], list) else [transition["from"]]
        )
        transition["from"] = ["vetting" if s == "review" else s for s in sources]
    changed["transitions"]["check_passed"]["to"] = "vetting"
    changed["migrate"] = {"review": "vetting"}
    admin.put("/api/meta/definitions/estate/flow/permit", json=changed)
    assert admin.post("/api/meta/publish", json={"message": "review is vetting"}).status_code == 200

    moved = clerk.get(f"/api/estate/permit/{other['id']}").json()
    assert (moved["state"], moved["flow_version"]) == ("vetting", 3)
    assert timeline(clerk, other["id"])[-1]["kind"] == "migrate"
    assert [t["step"] for t in world["boss"].get("/api/inbox").json()["items"]] == ["first"]


def test_openapi_lists_the_flow_calls(world: World) -> None:
    document = world["admin"].get("/openapi.json").json()

    validate(document)
    transition = document["paths"]["/api/estate/permit/{id}/transitions/{name}"]["post"]
    names = transition["parameters"][1]["schema"]["enum"]
    assert names == ["submit", "approve", "send_back", "refuse", "withdraw"]
    assert "/api/inbox" in document["paths"]
