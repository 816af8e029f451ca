"""The inbox screens: a manager's tasks with their deadlines, claiming a shared task (only one
of two colleagues gets it), releasing it, and a task with its record and flow beside it.

The permit flow of tests/flows.py, with a two-day SLA reminder added to its review state."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from engine.auth.principals import principal_for_user
from engine.clock import FixedClock
from engine.flows.jobs import sweep_timers
from engine.principal import Principal
from engine.runtime import Runtime
from renderers.html.chrome import Chrome
from renderers.html.inbox import TEXTS, inbox_counts, inbox_page, task_page, urgency
from renderers.html.texts import words
from tests.definitions import write_folder
from tests.flows import PERMIT_FLOW, permit_client, permit_folder, permit_settings
from tests.html.browsing import Browser, browse
from tests.identity import USER_PASSWORD, client_as, create_org

REVIEW_SLA = {
    "name": "review_sla",
    "after": 2,
    "actions": [{"notify": {"role": "manager"}, "title": "催办：{{ record.title }}"}],
}


@dataclass
class World:
    """A clerk in street S01; two managers in the city C01 above it; a manager of street S02."""

    admin: TestClient
    runtime: Runtime
    clock: FixedClock
    clerk: TestClient
    managers: dict[str, TestClient]

    def permit_in_review(self, title: str) -> int:
        created = self.clerk.post("/api/estate/permit", json={"title": title, "amount": 500})
        permit_id: int = created.json()["id"]
        moved = self.clerk.post(f"/api/estate/permit/{permit_id}/transitions/submit", json={})
        assert moved.json()["state"] == "review", moved.text
        return permit_id

    def browser(self, username: str) -> Browser:
        return browse(self.admin, username, USER_PASSWORD)

    def principal(self, username: str) -> Principal:
        """The user as the engine sees them when they log in."""
        user_id = self.managers[username].get("/api/auth/me").json()["user"]["id"]
        with self.runtime.engine.connect() as conn:
            found = principal_for_user(conn, user_id, None)
        assert found is not None
        return found

    def task_ids(self, username: str) -> list[int]:
        return [t["id"] for t in self.managers[username].get("/api/inbox").json()["items"]]

    def sweep(self) -> None:
        sweep_timers(self.runtime.engine, self.runtime.require_catalog(), self.clock.now())


@pytest.fixture
def world(tmp_path: Path, database_url: str | None) -> Iterator[World]:
    settings = permit_settings(tmp_path, database_url)
    folder = permit_folder()
    flow = copy.deepcopy(PERMIT_FLOW)
    flow["states"]["review"]["timers"] = [REVIEW_SLA]
    folder["estate/flows/permit.yaml"] = flow
    write_folder(settings.apps_config, folder)
    with permit_client(settings) as (admin, runtime, clock):
        city = create_org(admin, "C01", "city")
        street = create_org(admin, "S01", "street", parent_id=city["id"])
        other = create_org(admin, "S02", "street", parent_id=city["id"])
        managers = {
            "boss1": client_as(admin, "boss1", "manager", org_id=city["id"]),
            "chief1": client_as(admin, "chief1", "manager", org_id=city["id"]),
            "far1": client_as(admin, "far1", "manager", org_id=other["id"]),
        }
        clerk = client_as(admin, "clerk1", "clerk", org_id=street["id"])
        yield World(admin, runtime, clock, clerk, managers)


def chrome(language: str = "zh") -> Chrome:
    return Chrome(language, words(language, TEXTS), "", "/inbox", "boss1", "token", "")


# --- view models ------------------------------------------------------------------------------

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("deadline", "expected"),
    [
        (None, ""),
        (NOW + timedelta(days=2), ""),
        (NOW + timedelta(hours=23), "warn"),
        (NOW, "bad"),
        (NOW - timedelta(minutes=1), "bad"),
    ],
)
def test_a_deadline_within_a_day_warns_and_a_passed_one_is_overdue(
    deadline: datetime | None, expected: str
) -> None:
    assert urgency(deadline, NOW) == expected


def test_counts_split_held_and_shared_tasks_and_mark_the_late_ones(world: World) -> None:
    world.permit_in_review("Shop sign")
    world.permit_in_review("Awning")
    claimed = world.task_ids("boss1")[0]
    world.managers["boss1"].post(f"/api/inbox/{claimed}/claim")
    boss = world.principal("boss1")
    engine = world.runtime.engine

    with engine.connect() as conn:
        fresh = inbox_counts(conn, boss, world.clock.now())
        world.clock.advance(days=2)  # the SLA ends at midnight after two days: within a day
        late = inbox_counts(conn, boss, world.clock.now())

    assert (fresh.mine, fresh.shared, fresh.all, fresh.urgent) == (1, 1, 2, 0)
    assert late.urgent == 2


def test_the_inbox_rows_show_the_deadline_in_local_time_and_flag_overdue_work(
    world: World,
) -> None:
    world.permit_in_review("Shop sign")
    catalog = world.runtime.require_catalog()
    boss = world.principal("boss1")

    with world.runtime.engine.connect() as conn:
        on_time = inbox_page(conn, catalog, boss, chrome(), "all", world.clock.now())
        world.clock.advance(days=3)
        overdue = inbox_page(conn, catalog, boss, chrome(), "all", world.clock.now())

    row = on_time.rows[0]
    assert (row.title, row.entity_label, row.state_label) == ("Shop sign", "许可", "审核")
    assert row.holder == "共享：经理" and row.can_claim and not row.can_release
    assert row.received == "2026-03-02 10:00"
    assert row.deadline == "2026-03-05 00:00"  # Shanghai: two days after Monday end at Thursday
    assert row.urgency == ""
    assert overdue.rows[0].urgency == "bad"
    assert [(t.name, t.count, t.active) for t in on_time.tabs] == [
        ("mine", 0, False),
        ("shared", 1, False),
        ("all", 1, True),
    ]


def test_the_task_page_holds_the_record_and_the_transitions_of_the_step(world: World) -> None:
    permit_id = world.permit_in_review("Shop sign")
    task_id = world.task_ids("boss1")[0]
    boss = world.principal("boss1")

    with world.runtime.engine.begin() as conn:
        page = task_page(conn, world.runtime, boss, chrome("en"), task_id, world.clock.now())

    assert page.record_title == "Shop sign"
    assert page.task.record_url == f"/estate/permit/{permit_id}"
    assert {(f.label, f.value) for f in page.fields} >= {("title", "Shop sign"), ("amount", "500")}
    assert "check_report" not in {f.label for f in page.fields}  # raw JSON helps no decision
    assert page.flow is not None
    assert {t.name for t in page.flow.transitions} == {"approve", "send_back", "refuse"}


# --- over HTTP ---------------------------------------------------------------------------------


def test_the_inbox_lists_only_the_users_tasks(world: World) -> None:
    world.permit_in_review("Shop sign")

    boss = world.browser("boss1").get("/inbox")
    far = world.browser("far1").get("/inbox")
    clerk = world.browser("clerk1").get("/inbox")

    assert boss.status_code == 200
    assert 'id="tasks"' in boss.text and "Shop sign" in boss.text
    for other in (far, clerk):
        assert other.status_code == 200
        assert 'id="tasks"' not in other.text and "Shop sign" not in other.text
        assert "没有待办任务" in other.text


def test_claiming_is_exclusive_and_the_second_person_is_told_who_has_it(world: World) -> None:
    world.permit_in_review("Shop sign")
    task_id = world.task_ids("boss1")[0]
    boss, chief = world.browser("boss1"), world.browser("chief1")

    claimed = boss.post(f"/inbox/{task_id}/claim", {"next": "/inbox?box=shared"})
    second = chief.post(f"/inbox/{task_id}/claim", {"next": "/inbox?box=shared"})

    assert claimed.status_code == 303
    assert claimed.headers["location"] == f"/inbox?box=shared&done=claimed&task={task_id}"
    shown = boss.get(claimed.headers["location"])
    assert f"已认领任务 #{task_id}" in shown.text
    assert second.status_code == 409
    assert f"任务 #{task_id} 已被 boss1 认领" in second.text
    assert 'role="alert"' in second.text and "Traceback" not in second.text
    mine = boss.get("/inbox?box=mine")
    assert f'id="release-{task_id}"' in mine.text
    assert "Shop sign" not in chief.get("/inbox").text


def test_a_released_task_goes_back_to_the_shared_box(world: World) -> None:
    world.permit_in_review("Shop sign")
    task_id = world.task_ids("boss1")[0]
    boss, chief = world.browser("boss1"), world.browser("chief1")
    boss.post(f"/inbox/{task_id}/claim")

    refused = chief.post(f"/inbox/{task_id}/release")
    released = boss.post(f"/inbox/{task_id}/release", {"next": f"/inbox/{task_id}"})

    assert refused.status_code == 409
    assert f"任务 #{task_id} 不是您认领的" in refused.text
    assert released.status_code == 303
    assert released.headers["location"] == f"/inbox/{task_id}?done=released&task={task_id}"
    assert f'id="claim-{task_id}"' in chief.get("/inbox?box=shared").text
    assert chief.post(f"/inbox/{task_id}/claim").status_code == 303


def test_a_claim_never_redirects_off_site(world: World) -> None:
    world.permit_in_review("Shop sign")
    task_id = world.task_ids("boss1")[0]

    response = world.browser("boss1").post(f"/inbox/{task_id}/claim", {"next": "//evil.example/"})

    assert response.headers["location"].startswith("/?")


def test_the_task_page_shows_the_record_beside_the_flow(world: World) -> None:
    world.permit_in_review("Shop sign")
    task_id = world.task_ids("boss1")[0]

    page = world.browser("boss1").get(f"/inbox/{task_id}?lang=en")
    hidden = world.browser("far1").get(f"/inbox/{task_id}")

    assert page.status_code == 200
    assert 'id="record"' in page.text and "Shop sign" in page.text and "500" in page.text
    assert 'id="transition-approve"' in page.text
    assert 'name="next" value="/inbox"' in page.text
    assert hidden.status_code == 404
    assert "Shop sign" not in hidden.text


def test_a_reviewer_approves_from_the_task_page_and_the_task_leaves_the_inbox(
    world: World,
) -> None:
    permit_id = world.permit_in_review("Shop sign")
    task_id = world.task_ids("boss1")[0]
    boss = world.browser("boss1")
    boss.get(f"/inbox/{task_id}")

    approved = boss.post(
        f"/estate/permit/{permit_id}/transitions/approve", {"comment": "材料齐全", "next": "/inbox"}
    )

    assert approved.status_code == 303 and approved.headers["location"].startswith("/inbox")
    assert f'id="task-{task_id}"' not in boss.get("/inbox").text
    assert boss.get(f"/inbox/{task_id}").status_code == 404
    late_claim = boss.post(f"/inbox/{task_id}/claim")
    assert late_claim.status_code == 404 and f"任务 #{task_id} 已办结" in late_claim.text
    assert boss.get("/inbox/99999999999999999999999").status_code == 404
    second_step = world.task_ids("chief1")
    assert len(second_step) == 1 and second_step[0] != task_id
    assert f'id="task-{second_step[0]}"' in world.browser("chief1").get("/inbox").text


def test_the_inbox_speaks_english(world: World) -> None:
    world.permit_in_review("Shop sign")

    page = world.browser("boss1").get("/inbox?lang=en")

    assert "To claim" in page.text and "Shared: Manager" in page.text
    assert 'href="/inbox?box=mine"' in page.text
