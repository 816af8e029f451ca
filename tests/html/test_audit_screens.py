"""`/audit…`: the auditor's view models (side-by-side diffs, the trail's filters) and the
screens over HTTP (versions and diffs, the filtered trail, chain verification, access)."""

from __future__ import annotations

import copy
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from engine.audit import AuditEvent, append
from engine.runtime import Runtime
from metamodel import store
from renderers.html.audit_diff import DiffLine, DiffRow, diff_page, side_by_side
from renderers.html.audit_texts import TEXTS
from renderers.html.audit_trail import trail_page
from renderers.html.chrome import Chrome
from renderers.html.texts import words
from tests.definitions import entity, estate, to_yaml
from tests.engine.test_audit import drop_trigger
from tests.html.browsing import Browser, browse
from tests.identity import USER_PASSWORD, create_user

UNIT_URL = "/api/meta/definitions/estate/entity/unit"
UTC_ZONE = ZoneInfo("UTC")


def chrome(language: str = "en") -> Chrome:
    return Chrome(
        language=language,
        texts=words(language, TEXTS),
        title="",
        path="/audit",
        username="shen",
        csrf_token="token",
        switch_language_url="/-/language",
    )


def auditor(client: TestClient, username: str = "shen") -> Browser:
    create_user(client, username, "auditor")
    return browse(client, username, USER_PASSWORD)


def publish_deposit(client: TestClient) -> None:
    """Version 2: the unit gains a `deposit` field, published through the JSON API."""
    unit = entity(estate(), "unit")
    unit["fields"]["deposit"] = {"type": "decimal", "min": 0}
    headers = {"content-type": "application/yaml"}
    put = client.put(UNIT_URL, content=to_yaml(unit), headers=headers)
    assert put.status_code == 200, put.text
    published = client.post("/api/meta/publish", json={"message": "押金字段"})
    assert published.status_code == 200, published.text


def cells(html: str, css_class: str) -> list[str]:
    """The text of the diff cells with `css_class`, without their line-number prefix."""
    pattern = rf'<pre class="{css_class}"><span class="muted">[^<]*</span> ([^<]*)</pre>'
    return re.findall(pattern, html)


# Side-by-side alignment -------------------------------------------------------------------


def test_removed_lines_are_left_only_added_right_only_changed_on_both() -> None:
    old = "name: unit\nlabel: 房屋\nmin: 0\nkeep: 1\n"
    new = "name: unit\nlabel: 住房\nkeep: 1\nextra: 2\n"

    rows = side_by_side(old, new)

    assert rows == [
        DiffRow("same", DiffLine(1, "name: unit"), DiffLine(1, "name: unit")),
        DiffRow("chg", DiffLine(2, "label: 房屋"), DiffLine(2, "label: 住房")),
        DiffRow("del", DiffLine(3, "min: 0"), None),
        DiffRow("same", DiffLine(4, "keep: 1"), DiffLine(3, "keep: 1")),
        DiffRow("add", None, DiffLine(4, "extra: 2")),
    ]


def test_long_unchanged_runs_fold_into_gaps_around_the_change() -> None:
    old = [f"line {n}" for n in range(1, 21)]
    new = [*old[:9], "line ten", *old[10:]]

    rows = side_by_side("\n".join(old), "\n".join(new))

    assert [(r.kind, r.skipped) for r in rows] == [
        ("gap", 6),
        *[("same", 0)] * 3,
        ("chg", 0),
        *[("same", 0)] * 3,
        ("gap", 7),
    ]
    changed = rows[4]
    assert (changed.old, changed.new) == (DiffLine(10, "line 10"), DiffLine(10, "line ten"))


def test_version_1_shows_every_definition_as_added(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        page = diff_page(conn, chrome(), 1, None, UTC_ZONE)

    assert page.base is None and page.version.number == 1
    assert {d.change for d in page.definitions} == {"added"}
    assert ("estate", "entity", "unit") in {(d.app, d.kind, d.name) for d in page.definitions}
    assert all(row.kind == "add" and row.old is None for d in page.definitions for row in d.rows)
    assert page.summary.startswith(f"{len(page.definitions)} added, 0 removed, 0 changed")


def test_a_changed_definition_shows_the_new_field_and_its_path(runtime: Runtime) -> None:
    with runtime.engine.begin() as conn:
        contents = copy.deepcopy(store.read_contents(conn, 1))
        unit = contents[("estate", "entity", "unit")]
        unit["fields"]["deposit"] = {"type": "decimal"}
        store.write_version(conn, contents, "li", "Add deposit")
    with runtime.engine.connect() as conn:
        page = diff_page(conn, chrome(), 2, None, UTC_ZONE)
        backwards = diff_page(conn, chrome(), 1, 2, UTC_ZONE)

    [changed] = page.definitions
    assert (changed.name, changed.change) == ("unit", "modified")
    assert [(p.path, p.change) for p in changed.paths] == [("fields.deposit", "added")]
    added = [row.new.text.strip() for row in changed.rows if row.kind == "add" and row.new]
    assert added == ["deposit:", "type: decimal"]
    assert page.base is not None and page.base.number == 1
    assert (page.version.author, page.version.message) == ("li", "Add deposit")
    [undone] = backwards.definitions
    assert [row.kind for row in undone.rows if row.kind != "same" and row.kind != "gap"] == [
        "del",
        "del",
    ]


# The trail's filters ----------------------------------------------------------------------


def write_events(engine: sa.Engine) -> None:
    events = [
        AuditEvent("record.create", "wang", "estate.building", 1, {"values": {"name": "一号楼"}}),
        AuditEvent("record.update", "wang", "estate.building", 1, {"changes": {"n": [1, 2]}}),
        AuditEvent("auth.login_failed", "li", "user:li", outcome="failed", address="10.0.0.9"),
    ]
    with engine.begin() as conn:
        for event in events:
            append(conn, event)


@pytest.mark.parametrize(
    ("params", "actions"),
    [
        ([("action", "record.")], ["record.update", "record.create"]),
        ([("action", "record.create")], ["record.create"]),
        ([("actor", "li"), ("lang", "en")], ["auth.login_failed"]),
        ([("outcome", "failed")], ["auth.login_failed"]),
        ([("target", "estate.building"), ("record_id", "1")], ["record.update", "record.create"]),
        ([("to", "2000-01-01")], []),
    ],
)
def test_trail_filters_choose_the_entries(
    runtime: Runtime, params: list[tuple[str, str]], actions: list[str]
) -> None:
    write_events(runtime.engine)
    with runtime.engine.connect() as conn:
        page = trail_page(conn, chrome(), params, runtime.settings)

    assert not page.invalid
    assert [e.action for e in page.entries if e.actor != "system"] == actions
    shown = {f.name: f.value for f in page.filters}
    assert all(shown[name] == value for name, value in params if name != "lang")


def test_a_malformed_date_is_named_beside_its_filter(runtime: Runtime) -> None:
    write_events(runtime.engine)
    with runtime.engine.connect() as conn:
        page = trail_page(
            conn, chrome(), [("from", "2026-13-45"), ("actor", "li")], runtime.settings
        )

    assert page.invalid and page.entries == []
    errors = {f.name: f.error for f in page.filters if f.error}
    assert list(errors) == ["from"] and "2026-03-31" in errors["from"]
    assert {f.name: f.value for f in page.filters}["actor"] == "li"


# Over HTTP --------------------------------------------------------------------------------


def test_an_auditor_sees_the_versions_and_opens_the_diff_of_an_added_field(
    client: TestClient,
) -> None:
    publish_deposit(client)
    browser = auditor(client)

    overview = browser.get("/audit")
    assert overview.status_code == 200
    assert re.findall(r'<tr id="version-(\d+)">', overview.text) == ["2", "1"]
    assert "押金字段" in overview.text and 'href="/audit/versions/2"' in overview.text

    diff = browser.get("/audit/versions/2")
    assert diff.status_code == 200
    assert 'id="diff"' in diff.text and 'id="version-author">admin<' in diff.text
    assert "<code>fields.deposit</code>" in diff.text
    assert [line.strip() for line in cells(diff.text, "add")] == [
        "deposit:",
        "type: decimal",
        "min: &#39;0&#39;",
    ]
    assert cells(diff.text, "del") == [] and "estate / entity / unit" in diff.text


def test_comparing_backwards_shows_the_field_removed(client: TestClient) -> None:
    publish_deposit(client)
    browser = auditor(client)

    diff = browser.get("/audit/versions/1?against=2")

    assert diff.status_code == 200
    assert [line.strip() for line in cells(diff.text, "del")][0] == "deposit:"
    assert cells(diff.text, "add") == []


def test_a_version_that_does_not_exist_is_a_404_page(client: TestClient) -> None:
    response = auditor(client).get("/audit/versions/7")
    assert response.status_code == 404
    assert 'id="error-message"' in response.text and "Traceback" not in response.text


def test_the_trail_filtered_by_action_shows_only_those_entries(client: TestClient) -> None:
    for name in ("一号楼", "二号楼", "三号楼"):
        assert client.post("/api/estate/building", json={"name": name}).status_code == 201
    browser = auditor(client)

    everything = browser.get("/audit/trail")
    filtered = browser.get("/audit/trail", params={"action": "record.create"})

    actions = re.compile(r'href="/audit/trail\?action=([^"]+)"')
    assert {"auth.login", "record.create"} <= set(actions.findall(everything.text))
    assert filtered.status_code == 200
    assert actions.findall(filtered.text) == ["record.create"] * 3
    assert 'value="record.create"' in filtered.text


def test_the_trail_pages_with_a_cursor(client: TestClient) -> None:
    for n in range(3):
        client.post("/api/estate/building", json={"name": f"B{n}"})
    browser = auditor(client)
    first = browser.get("/audit/trail", params={"action": "record.create", "limit": "2"})
    seqs = re.findall(r'<tr id="entry-(\d+)">', first.text)
    next_url = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert len(seqs) == 2 and next_url

    second = browser.get(next_url.group(1).replace("&amp;", "&"))
    rest = re.findall(r'<tr id="entry-(\d+)">', second.text)
    assert len(rest) == 1 and int(rest[0]) < min(map(int, seqs))
    assert 'rel="next"' not in second.text


def test_a_malformed_date_shows_a_message_not_a_trace(client: TestClient) -> None:
    response = auditor(client).get("/audit/trail", params={"from": "last tuesday"})

    assert response.status_code == 422
    assert 'id="error-from"' in response.text and 'id="trail-errors"' in response.text
    assert "Traceback" not in response.text and 'id="entries"' not in response.text


def test_verify_says_intact_then_names_the_entry_edited_in_the_database(
    client: TestClient,
) -> None:
    client.post("/api/estate/building", json={"name": "一号楼"})
    browser = auditor(client)
    intact = browser.get("/audit/verify")
    assert intact.status_code == 200
    assert '<span class="badge ok" id="verdict-badge">' in intact.text
    edited = entry_seq(client, "record.create")

    engine: sa.Engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        drop_trigger(conn)
        conn.execute(
            sa.text("UPDATE anju_audit SET actor = 'nobody' WHERE seq = :seq"), {"seq": edited}
        )
    broken = browser.get("/audit/verify")

    assert '<span class="badge bad" id="verdict-badge">' in broken.text
    assert f'id="first-bad-seq">{edited}<' in broken.text
    assert 'id="first-bad-kind">内容被修改<' in broken.text


def entry_seq(client: TestClient, action: str) -> int:
    items: list[dict[str, Any]] = client.get("/api/audit", params={"action": action}).json()[
        "items"
    ]
    return int(items[0]["seq"])


def test_a_malformed_anchor_is_refused_beside_its_field(client: TestClient) -> None:
    response = auditor(client).get("/audit/verify", params={"anchor": "12:nothex"})
    assert response.status_code == 422
    assert 'id="error-anchor"' in response.text and 'id="verdict"' not in response.text


@pytest.mark.parametrize("url", ["/audit", "/audit/trail", "/audit/verify"])
def test_users_without_the_auditor_role_get_403(client: TestClient, url: str) -> None:
    create_user(client, "zhao", "configurator")
    response = browse(client, "zhao", USER_PASSWORD).get(url)
    assert response.status_code == 403
    assert 'id="error-message"' in response.text


def test_configurators_may_read_diffs_as_the_meta_api_allows(client: TestClient) -> None:
    create_user(client, "zhao", "configurator")
    create_user(client, "qian", "manager")
    assert browse(client, "zhao", USER_PASSWORD).get("/audit/versions/1").status_code == 200
    assert browse(client, "qian", USER_PASSWORD).get("/audit/versions/1").status_code == 403
