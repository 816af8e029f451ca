"""The alert screens: a street officer finds a new alert through the top bar's badge, opens it
(which marks it read), acknowledges, disposes with an opinion, feeds back and resolves it;
a colleague's earlier action is a 409 notice; auditors look without buttons; people who
are not its recipients get a 404 page.

The world of tests/engine/alerts/world.py: units in streets S1 and S2, officers per street.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.alerts.scanning import scan_rule
from engine.database import write_transaction
from tests.engine.alerts.world import World, alert_world
from tests.html.browsing import Browser, browse
from tests.identity import USER_PASSWORD


@pytest.fixture
def world(tmp_path: Path, database_url: str | None) -> Iterator[World]:
    with alert_world(tmp_path, database_url) as built:
        yield built


def scan(world: World, rule: str = "vacant_unit") -> None:
    catalog = world.runtime.require_catalog()
    with write_transaction(world.runtime.engine) as conn:
        scan_rule(conn, world.runtime, catalog, "estate", rule, world.clock.now())


def officer(world: World, name: str = "officer1") -> Browser:
    return browse(world.admin, name, USER_PASSWORD)


def badge(html: str) -> str | None:
    """The unread count in the top bar, or None when there is no badge."""
    link = re.search(r'<a href="/alerts[^"]*" id="nav-alerts"[^>]*>(.*?)</a>', html, re.S)
    assert link, "every page has the alerts link"
    found = re.search(r'<span class="count"[^>]*>(\d+)</span>', link.group(1))
    return found.group(1) if found else None


def alert_ids(world: World, name: str = "officer1") -> list[int]:
    items = world.people[name].get("/api/alerts").json()["items"]
    return [a["id"] for a in items]


def status_of(html: str) -> str:
    found = re.search(r'id="alert-status" data-status="([a-z]+)"', html)
    assert found, html
    return found.group(1)


def test_the_badge_counts_unread_alerts_on_every_page_and_opening_one_reads_it(
    world: World,
) -> None:
    world.unit("A-1")
    world.unit("A-2")
    world.unit("B-1", street="S2")
    scan(world)
    page = officer(world)
    for path in ("/", "/estate/unit", "/inbox", "/alerts"):
        assert badge(page.get(path).text) == "2", path
    listing = page.get("/alerts").text
    assert listing.count('class="unread"') == 2
    assert '<span class="badge sev-yellow">黄色</span>' in listing  # a word, not colour only
    assert "房屋 A-1 空置" in listing and "B-1" not in listing  # another street's alert
    first = alert_ids(world)[-1]
    detail = page.get(f"/alerts/{first}")
    assert detail.status_code == 200
    assert badge(detail.text) == "1"  # read as it opened
    assert re.search(r'<a href="/estate/unit/\d+" id="alert-record">', detail.text)
    listing = page.get("/alerts").text
    assert listing.count('class="unread"') == 1
    assert f'<tr id="alert-{first}">' in listing  # no longer bold
    assert badge(page.get("/alerts?unread=1").text) == "1"
    assert page.get("/alerts?unread=1").text.count('<tr id="alert-') == 1


def test_an_officer_takes_an_alert_through_its_lifecycle(world: World) -> None:
    world.unit("A-1")
    scan(world)
    [alert_id] = alert_ids(world)
    page = officer(world)
    opened = page.get(f"/alerts/{alert_id}").text
    assert status_of(opened) == "open"
    assert 'id="action-acknowledge"' in opened and 'id="action-resolve"' in opened
    assert 'id="action-dispose"' not in opened  # dispose follows acknowledging

    done = page.post(f"/alerts/{alert_id}/acknowledge", {"comment": "已联系街道"})
    assert done.status_code == 303 and done.headers["location"] == f"/alerts/{alert_id}"
    after = page.get(f"/alerts/{alert_id}").text
    assert status_of(after) == "acknowledged"
    assert 'id="notice"' in after and "已签收。" in after
    assert "已联系街道" in after and "officer1" in after  # on the timeline

    refused = page.post(f"/alerts/{alert_id}/dispose", {"opinion": "  "})
    assert refused.status_code == 422
    assert 'id="action-dispose-opinion-error"' in refused.text
    assert status_of(refused.text) == "acknowledged"

    page.post(f"/alerts/{alert_id}/dispose", {"opinion": "限期出租"})
    disposed = page.get(f"/alerts/{alert_id}").text
    assert status_of(disposed) == "disposed"
    assert re.search(r'id="alert-opinion">限期出租<', disposed)

    page.post(f"/alerts/{alert_id}/feedback", {"feedback": "已挂牌招租"})
    fed_back = page.get(f"/alerts/{alert_id}").text
    assert re.search(r'id="alert-feedback">已挂牌招租<', fed_back)

    page.post(f"/alerts/{alert_id}/resolve", {})
    resolved = page.get(f"/alerts/{alert_id}").text
    assert status_of(resolved) == "resolved"
    assert 'id="no-actions"' in resolved
    api = world.people["officer1"].get(f"/api/alerts/{alert_id}").json()
    actions = [e["action"] for e in api["timeline"]]
    assert actions == ["open", "acknowledge", "dispose", "feedback", "resolve"]


def test_an_action_a_colleague_took_first_is_a_notice_not_a_failure(world: World) -> None:
    world.unit("A-1")
    scan(world)
    [alert_id] = alert_ids(world)
    page = officer(world)
    page.get(f"/alerts/{alert_id}")  # the page with its acknowledge button
    world.people["officer1"].post(f"/api/alerts/{alert_id}/acknowledge", json={})
    late = page.post(f"/alerts/{alert_id}/acknowledge", {})
    assert late.status_code == 409
    assert 'role="alert" id="notice"' in late.text and "已签收" in late.text
    assert status_of(late.text) == "acknowledged"


def test_auditors_look_without_buttons_and_strangers_get_a_404_page(world: World) -> None:
    world.unit("A-1")
    scan(world)
    [alert_id] = alert_ids(world)
    auditor = browse(world.admin, "auditor1", USER_PASSWORD)
    seen = auditor.get(f"/alerts/{alert_id}")
    assert seen.status_code == 200 and 'id="no-actions"' in seen.text
    assert auditor.post(f"/alerts/{alert_id}/acknowledge", {}).status_code == 403
    stranger = officer(world, "officer2")
    missing = stranger.get(f"/alerts/{alert_id}")
    assert missing.status_code == 404 and "<html" in missing.text
    assert stranger.get("/alerts").text.count('<tr id="alert-') == 0
    assert stranger.get("/alerts/99999999").status_code == 404


def test_filters_narrow_the_list_and_a_bad_one_is_shown(world: World) -> None:
    world.unit("A-1")
    world.unit("A-2", status="let", floor=-1)
    scan(world)
    scan(world, "morning_check")
    page = officer(world)
    assert page.get("/alerts").text.count('<tr id="alert-') == 2
    assert page.get("/alerts?severity=red").text.count('<tr id="alert-') == 0
    yellow = page.get("/alerts?severity=yellow&family=unit").text
    assert yellow.count('<tr id="alert-') == 1 and "房屋 A-1 空置" in yellow
    assert '<option value="unit" selected>' in yellow
    wrong = page.get("/alerts?status=lost")
    assert wrong.status_code == 422 and 'id="errors"' in wrong.text


def test_pages_of_alerts_follow_by_cursor(world: World) -> None:
    for n in range(55):
        world.unit(f"A-{n}")
    scan(world)
    page = officer(world)
    first = page.get("/alerts").text
    assert first.count('<tr id="alert-') == 50 and "共 55 条" in first
    next_url = re.search(r'href="([^"]+)" rel="next"', first)
    assert next_url
    second = page.get(next_url.group(1).replace("&amp;", "&")).text
    assert second.count('<tr id="alert-') == 5


def test_the_home_page_lists_my_open_alerts(world: World) -> None:
    world.unit("A-1")
    scan(world)
    home = officer(world).get("/").text
    assert 'id="my-alerts"' in home and "房屋 A-1 空置" in home
    assert 'id="my-alerts"' not in officer(world, "officer2").get("/").text
