"""The home page: the user's task counts, their first open tasks, unread messages and quick
links, on the permit flow of tests/flows.py with a two-day SLA reminder in review."""

from __future__ import annotations

from renderers.html.chrome import Chrome, MenuApp, MenuEntity
from renderers.html.home import TEXTS, home_page
from renderers.html.texts import words
from tests.html.test_inbox import World, world

__all__ = ["world"]  # the inbox's fixture: a clerk, two city managers, one of another street


def chrome(language: str = "zh") -> Chrome:
    menus = [MenuApp("estate", "物业", [MenuEntity("许可", "/estate/permit", False)])]
    return Chrome(language, words(language, TEXTS), "", "/", "boss1", "token", "", menus)


# --- view model ---------------------------------------------------------------------------


def test_home_counts_the_tasks_and_lists_the_first_open_ones(world: World) -> None:
    for title in ("Shop sign", "Awning", "Banner"):
        world.permit_in_review(title)
    claimed = world.task_ids("boss1")[0]
    world.managers["boss1"].post(f"/api/inbox/{claimed}/claim")
    catalog = world.runtime.require_catalog()

    with world.runtime.engine.connect() as conn:
        page = home_page(conn, catalog, world.principal("boss1"), chrome(), world.clock.now())

    assert page.greeting == "您好，boss1"
    assert (page.counts.mine, page.counts.shared, page.counts.all) == (1, 2, 3)
    assert [t.title for t in page.tasks] == ["Shop sign", "Awning", "Banner"]
    assert page.tasks[0].url == f"/inbox/{claimed}" and page.tasks[0].holder == "boss1"
    assert page.roles == ["经理"]
    assert (page.unread, page.messages) == (0, [])


def test_home_shows_late_tasks_and_the_reminders_they_caused(world: World) -> None:
    permit_id = world.permit_in_review("Shop sign")
    world.clock.advance(days=3)
    world.sweep()  # the SLA reminder fires: a message to every manager above the street
    catalog = world.runtime.require_catalog()

    with world.runtime.engine.connect() as conn:
        page = home_page(conn, catalog, world.principal("boss1"), chrome(), world.clock.now())

    assert page.counts.urgent == 1
    assert page.tasks[0].urgency == "bad"
    assert page.unread == 1
    assert [(m.title, m.url) for m in page.messages] == [
        ("催办：Shop sign", f"/estate/permit/{permit_id}")
    ]


# --- over HTTP -----------------------------------------------------------------------------


def stat(html: str, name: str) -> str:
    """The number shown on one of the home page's counts."""
    start = html.index(f'id="count-{name}"')
    return html[html.index("<strong>", start) + 8 : html.index("</strong>", start)]


def test_home_counts_change_after_a_claim(world: World) -> None:
    world.permit_in_review("Shop sign")
    boss, chief = world.browser("boss1"), world.browser("chief1")
    before = chief.get("/").text
    task_id = world.task_ids("boss1")[0]

    boss.post(f"/inbox/{task_id}/claim")

    after_boss, after_chief = boss.get("/").text, chief.get("/").text
    assert (stat(before, "mine"), stat(before, "shared")) == ("0", "1")
    assert (stat(after_boss, "mine"), stat(after_boss, "shared")) == ("1", "0")
    assert (stat(after_chief, "mine"), stat(after_chief, "shared")) == ("0", "0")
    assert f'href="/inbox/{task_id}"' in after_boss
    assert f'href="/inbox/{task_id}"' not in after_chief


def test_home_greets_the_user_with_quick_links_and_the_logout(world: World) -> None:
    page = world.browser("boss1").get("/?lang=en")

    assert page.status_code == 200
    assert "Hello, boss1" in page.text
    assert '<dd id="username">boss1</dd>' in page.text
    assert '<form method="post" action="/logout">' in page.text
    assert 'id="quick-links"' in page.text and 'href="/estate/permit"' in page.text
    assert "No unread messages." in page.text and "No open tasks." in page.text
