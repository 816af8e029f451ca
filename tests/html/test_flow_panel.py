"""The flow panel on the permit flow (tests/flows.py): progress and approval steps, the
timeline, the transitions each user may take; and taking them through the HTML forms."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.auth.principals import principal_for_user
from engine.records import get_record
from engine.runtime import Runtime
from renderers.html.flow_panel import FlowPanel, TransitionAttempt, flow_panel
from tests.flows import permit_client, permit_settings
from tests.html.browsing import Browser, browse
from tests.identity import USER_PASSWORD, client_as, create_org

World = dict[str, Any]
PERMITS = "/api/estate/permit"
REASON = "申请材料与现场核查情况不符，且无法补正"


@pytest.fixture
def world(tmp_path: Path, database_url: str | None) -> Iterator[World]:
    """A clerk in a street, two managers in the city above it."""
    settings = permit_settings(tmp_path, database_url)
    with permit_client(settings) as (admin, runtime, _clock):
        city = create_org(admin, "C01", "city")
        street = create_org(admin, "S01", "street", parent_id=city["id"])
        yield {
            "admin": admin,
            "runtime": runtime,
            "clerk": client_as(admin, "clerk1", "clerk", org_id=street["id"]),
            "boss": client_as(admin, "boss1", "manager", org_id=city["id"]),
            "chief": client_as(admin, "chief1", "manager", org_id=city["id"]),
        }


def in_review(world: World, approvals: int = 0) -> dict[str, Any]:
    """A permit the clerk created and submitted; `approvals` steps approved since."""
    permit = world["clerk"].post(PERMITS, json={"title": "Shop sign", "amount": 500}).json()
    moved = world["clerk"].post(f"{PERMITS}/{permit['id']}/transitions/submit", json={})
    assert moved.json()["state"] == "review", moved.text
    if approvals:
        first = world["boss"].post(
            f"{PERMITS}/{permit['id']}/transitions/approve", json={"comment": "材料齐全"}
        )
        assert first.status_code == 200, first.text
    return permit


def panel_for(
    world: World,
    username: str,
    record_id: int,
    language: str = "en",
    attempt: TransitionAttempt | None = None,
) -> FlowPanel:
    runtime: Runtime = world["runtime"]
    entity = runtime.require_catalog().entity("estate", "permit")
    assert entity is not None
    user_id = next(
        u["id"]
        for u in world["admin"].get("/api/auth/users").json()["items"]
        if u["username"] == username
    )
    with runtime.engine.begin() as conn:
        principal = principal_for_user(conn, user_id, None)
        assert principal is not None
        record = get_record(conn, entity, record_id, principal)
        panel = flow_panel(conn, runtime, entity, record, principal, language, "/inbox", attempt)
    assert panel is not None
    return panel


def user(world: World, username: str) -> Browser:
    return browse(world["admin"], username, USER_PASSWORD)


def state_of(world: World, record_id: int) -> str:
    state: str = world["admin"].get(f"{PERMITS}/{record_id}").json()["state"]
    return state


def test_progress_shows_the_states_passed_the_current_one_and_what_is_ahead(
    world: World,
) -> None:
    permit = in_review(world, approvals=1)

    panel = panel_for(world, "chief1", permit["id"])

    assert (panel.state, panel.state_label, panel.category) == ("review", "Review", "active")
    assert [(s.label, s.status) for s in panel.steps] == [
        ("Draft", "done"),
        ("checking", "done"),
        ("Review", "current"),
        ("publicity", "ahead"),
        ("granted", "ahead"),
    ]
    assert [(s.label, s.status) for s in panel.approval_steps] == [
        ("first", "done"),
        ("second", "current"),
    ]
    assert panel.waiting_for == ["Manager"]


def test_the_timeline_says_who_did_what_newest_first(world: World) -> None:
    permit = in_review(world, approvals=1)

    panel = panel_for(world, "chief1", permit["id"])

    rows = [
        (r.what, r.actor, r.from_label, r.to_label, r.step_label, r.comment) for r in panel.timeline
    ]
    assert rows == [
        ("Approved", "boss1", "Review", "Review", "first", "材料齐全"),
        ("check_passed", "system", "checking", "Review", "", ""),
        ("submit", "clerk1", "Draft", "checking", "", ""),
        ("Created", "clerk1", "", "Draft", "", ""),
    ]
    assert panel.timeline[0].at == "2026-03-02 10:00"  # Shanghai time
    assert [(c.name, c.passed) for c in panel.timeline[1].checks] == [("amount_ok", True)]


def test_each_user_is_offered_only_the_transitions_it_may_take(world: World) -> None:
    permit = in_review(world, approvals=1)

    for_chief = panel_for(world, "chief1", permit["id"])
    for_boss = panel_for(world, "boss1", permit["id"])
    for_clerk = panel_for(world, "clerk1", permit["id"])

    assert [t.name for t in for_chief.transitions] == ["approve", "send_back", "refuse"]
    assert for_boss.transitions == []  # decided the first step; the second is someone else's
    [withdraw] = for_clerk.transitions
    assert (withdraw.name, withdraw.comment_required, withdraw.comment_min_length) == (
        "withdraw",
        True,
        4,
    )
    refuse = for_chief.transitions[2]
    [note] = refuse.inputs
    assert (note.name, note.input_type, note.required) == ("note", "textarea", True)
    assert refuse.danger and not for_chief.transitions[0].danger
    assert refuse.action == f"/estate/permit/{permit['id']}/transitions/refuse"


def test_an_attempt_keeps_what_was_typed_beside_its_errors(world: World) -> None:
    permit = in_review(world)
    attempt = TransitionAttempt("refuse", {"note": "太短", "comment": "看看"}, {"note": "短"})

    panel = panel_for(world, "admin", permit["id"], "zh", attempt)

    refuse = next(t for t in panel.transitions if t.name == "refuse")
    [note] = refuse.inputs
    assert (note.value, note.error, refuse.comment) == ("太短", "短", "看看")
    approve = next(t for t in panel.transitions if t.name == "approve")
    assert approve.comment == "" and approve.comment_error is None


def test_a_transition_through_the_form_moves_the_record_and_shows_in_the_timeline(
    world: World,
) -> None:
    permit = world["clerk"].post(PERMITS, json={"title": "Shop sign", "amount": 500}).json()
    clerk = user(world, "clerk1")
    page = f"/estate/permit/{permit['id']}"
    assert 'id="transition-submit"' in clerk.get(page).text

    response = clerk.post(f"{page}/transitions/submit?lang=en", {"comment": "请审核"})

    assert response.status_code == 303
    assert response.headers["location"] == page
    assert state_of(world, permit["id"]) == "review"
    shown = clerk.get(f"{page}?lang=en").text
    assert 'data-state="review"' in shown
    assert 'id="notice"' in shown and "Done: submit" in shown
    assert "请审核" in shown


def test_a_missing_field_is_shown_beside_its_input_and_nothing_changes(world: World) -> None:
    permit = in_review(world, approvals=1)
    chief = user(world, "chief1")
    url = f"/estate/permit/{permit['id']}/transitions/refuse?lang=en"

    missing = chief.post(url, {"comment": "不予许可"})
    short = chief.post(url, {"note": "太短了", "comment": "不予许可"})

    assert missing.status_code == short.status_code == 422
    assert 'id="transition-refuse-error-note">This is required<' in missing.text
    assert "不予许可</textarea>" in missing.text  # the comment typed is kept
    assert 'id="transition-refuse-error-note">give at least 15 characters<' in short.text
    assert "太短了</textarea>" in short.text
    assert state_of(world, permit["id"]) == "review"
    assert chief.post(url, {"note": REASON}).status_code == 303
    assert state_of(world, permit["id"]) == "refused"


def test_a_missing_or_short_comment_is_shown_beside_the_comment(world: World) -> None:
    permit = in_review(world)
    boss, clerk = user(world, "boss1"), user(world, "clerk1")
    base = f"/estate/permit/{permit['id']}/transitions"

    no_comment = boss.post(f"{base}/send_back?lang=en", {"comment": ""})
    short = clerk.post(f"{base}/withdraw?lang=en", {"comment": "撤"})

    assert no_comment.status_code == short.status_code == 422
    assert 'id="transition-send_back-error-comment">This is required<' in no_comment.text
    assert 'id="transition-withdraw-error-comment">Give at least 4 characters<' in short.text
    assert state_of(world, permit["id"]) == "review"


def test_a_value_not_of_its_type_is_refused_before_the_engine(world: World) -> None:
    permit = world["clerk"].post(PERMITS, json={"title": "Shop sign", "amount": 500}).json()
    admin = browse(world["admin"])

    response = admin.post(
        f"/estate/permit/{permit['id']}/transitions/submit?lang=en", {"amount": "lots"}
    )

    assert response.status_code == 422
    assert "Not valid:" in response.text
    assert state_of(world, permit["id"]) == "draft"


def test_a_user_without_the_role_gets_no_button_and_is_refused(world: World) -> None:
    permit = in_review(world)
    clerk = user(world, "clerk1")
    page = f"/estate/permit/{permit['id']}"

    shown = clerk.get(page).text
    refused = clerk.post(f"{page}/transitions/approve")

    assert 'id="transition-approve"' not in shown
    assert 'id="transition-withdraw"' in shown
    assert refused.status_code == 403
    assert 'id="error-message"' in refused.text
    assert state_of(world, permit["id"]) == "review"


def test_a_record_moved_by_someone_else_first_answers_409_with_a_notice(world: World) -> None:
    permit = world["clerk"].post(PERMITS, json={"title": "Shop sign", "amount": 500}).json()
    clerk = user(world, "clerk1")
    world["clerk"].post(f"{PERMITS}/{permit['id']}/transitions/submit", json={})

    late = clerk.post(f"/estate/permit/{permit['id']}/transitions/submit?lang=en")

    assert late.status_code == 409
    assert 'id="notice"' in late.text and "Someone else moved this record first" in late.text
    assert 'data-state="review"' in late.text


@pytest.mark.parametrize(
    ("sent", "location"),
    [("/inbox", "/inbox"), ("//evil.example/", "/"), ("https://evil.example/", "/")],
)
def test_after_a_transition_the_user_returns_only_to_a_local_page(
    world: World, sent: str, location: str
) -> None:
    permit = world["clerk"].post(PERMITS, json={"title": "Shop sign", "amount": 500}).json()
    clerk = user(world, "clerk1")

    response = clerk.post(f"/estate/permit/{permit['id']}/transitions/submit", {"next": sent})

    assert response.status_code == 303
    assert response.headers["location"] == location


def test_errors_are_in_chinese_by_default(world: World) -> None:
    permit = in_review(world)
    boss = user(world, "boss1")

    response = boss.post(f"/estate/permit/{permit['id']}/transitions/send_back")

    assert response.status_code == 422
    assert 'id="transition-send_back-error-comment">此项必填<' in response.text
    assert "请按提示修改后重新提交" in response.text
