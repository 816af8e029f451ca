"""The studio over HTTP: browsing definitions, the YAML editor, the field editor and the
form preview, all on the draft (nothing published here)."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.definitions import entity, estate, to_yaml
from tests.html.browsing import Browser, browse

UNIT = "/studio/estate/entity/unit"
UNIT_FORM = "/studio/estate/form/unit"


def draft_keys(client: TestClient) -> list[tuple[str, str, str, bool]]:
    return [
        (d["app"], d["kind"], d["name"], d["removed"]) for d in client.get("/api/meta/draft").json()
    ]


def draft_of(client: TestClient, path: str) -> dict:
    response = client.get(f"/api/meta/definitions/{path}", params={"draft": "1"})
    assert response.status_code == 200, response.text
    return response.json()


def add_deposit(page: Browser, **extra: str) -> object:
    form = {"name": "deposit", "type": "decimal", "label_zh": "押金", "label_en": "Deposit"}
    return page.post(f"{UNIT}/fields", {**form, **extra})


def layout_order(html: str) -> list[str]:
    return re.findall(r'<li id="layout-([a-z_]+)"', html)


def test_browse_lists_definitions_by_kind_and_marks_the_drafts_changes(
    client: TestClient,
) -> None:
    page = browse(client)
    add_deposit(page)
    assert page.post("/studio/estate/entity/meter/delete").status_code == 303

    html = page.get("/studio").text

    assert 'id="published-version">1<' in html
    assert re.search(r'id="definition-estate-entity-building">.*?</li>', html)
    unit = re.search(r'id="definition-estate-entity-unit">(.*?)</li>', html)
    meter = re.search(r'id="definition-estate-entity-meter">(.*?)</li>', html)
    building = re.search(r'id="definition-estate-entity-building">(.*?)</li>', html)
    assert unit and 'data-change="changed"' in unit.group(1)
    assert meter and 'data-change="deleted"' in meter.group(1)
    assert building and "data-change" not in building.group(1)
    assert 'href="/studio/diff"' in html and 'href="/studio/history"' in html


def test_saving_bad_yaml_shows_each_error_with_its_line_and_keeps_the_text(
    client: TestClient,
) -> None:
    page = browse(
        client,
    )
    text = "fields:\n  code:\n    type: str\n  floor:\n    type: integer\n    min: low\n"

    response = page.post(UNIT, {"definition": text})

    assert response.status_code == 422
    problems = re.search(
        r'<div class="error" role="alert" id="problems">(.*?)</div>', response.text, re.S
    )
    assert problems
    assert "第 3 行" in problems.group(1) and "fields.code.type" in problems.group(1)
    assert "第 6 行" in problems.group(1) and "fields.floor.min" in problems.group(1)
    assert "    type: str\n  floor:" in response.text  # the textarea keeps what was typed
    assert draft_keys(client) == []


def test_malformed_yaml_points_at_its_line(client: TestClient) -> None:
    page = browse(client)

    response = page.post(UNIT, {"definition": "fields:\n  code: [\n"}, params={"lang": "en"})

    assert response.status_code == 422
    assert "line 3" in response.text and "malformed YAML" in response.text


def test_saving_good_yaml_makes_a_draft_and_the_editor_shows_it(client: TestClient) -> None:
    page = browse(client)
    unit = entity(estate(), "unit")
    unit["fields"]["deposit"] = {"type": "decimal", "min": 0}

    response = page.post(UNIT, {"definition": to_yaml(unit)})

    assert response.status_code == 303
    assert response.headers["location"] == f"{UNIT}?saved=1"
    assert draft_keys(client) == [("estate", "entity", "unit", False)]
    editor = page.get(response.headers["location"]).text
    assert 'id="notice"' in editor and "deposit:" in editor
    assert re.search(r'<span class="badge warn" id="status">已修改</span>', editor)
    assert "deposit" not in client.get("/api/meta/definitions/estate/entity/unit").json()["fields"]


def test_a_new_definition_opens_an_empty_editor_and_saves_into_the_draft(
    client: TestClient,
) -> None:
    page = browse(client)

    opened = page.get("/studio/new", params={"app": "estate", "kind": "entity", "name": "garage"})
    assert opened.status_code == 303
    editor = page.get(opened.headers["location"])
    assert editor.status_code == 200 and 'id="definition-yaml"' in editor.text
    saved = page.post(
        "/studio/estate/entity/garage",
        {"definition": "label: 车库\nfields:\n  spot:\n    type: string\n"},
    )

    assert saved.status_code == 303
    assert draft_keys(client) == [("estate", "entity", "garage", False)]
    assert 'data-change="new"' in page.get("/studio").text


def test_a_bad_new_definition_name_is_refused_beside_its_input(client: TestClient) -> None:
    page = browse(client)

    response = page.get("/studio/new", params={"app": "estate", "kind": "entity", "name": "Bad-1"})

    assert response.status_code == 422
    assert 'id="error-new-name"' in response.text
    assert 'value="Bad-1"' in response.text


def test_field_editor_adds_a_field_to_the_entity_and_its_form(client: TestClient) -> None:
    page = browse(client)

    response = add_deposit(page, forms="unit")

    assert response.status_code == 303
    assert draft_of(client, "estate/entity/unit")["fields"]["deposit"] == {
        "type": "decimal",
        "label": {"zh": "押金", "en": "Deposit"},
    }
    assert draft_of(client, "estate/form/unit")["sections"][1]["fields"][-1] == "deposit"


def test_field_editor_adds_an_enum_with_its_options(client: TestClient) -> None:
    page = browse(client)
    form = {
        "name": "heating",
        "type": "enum",
        "options": "gas=燃气|Gas\nnone=无\n",
        "required": "1",
    }

    assert page.post(f"{UNIT}/fields", form).status_code == 303

    assert draft_of(client, "estate/entity/unit")["fields"]["heating"] == {
        "type": "enum",
        "required": True,
        "options": [
            {"value": "gas", "label": {"zh": "燃气", "en": "Gas"}},
            {"value": "none", "label": {"zh": "无"}},
        ],
    }


def test_field_editor_refuses_a_taken_or_bad_name_beside_the_input(client: TestClient) -> None:
    page = browse(client)

    taken = page.post(f"{UNIT}/fields", {"name": "rent", "type": "string"})
    bad = page.post(f"{UNIT}/fields", {"name": "2nd", "type": "string", "label_zh": "第二"})

    assert taken.status_code == 422
    assert re.search(r'id="error-new-name">已有同名字段', taken.text)
    assert bad.status_code == 422
    assert 'id="error-new-name"' in bad.text and 'value="2nd"' in bad.text
    assert 'value="第二"' in bad.text  # what was typed stays
    assert draft_keys(client) == []


def test_field_editor_changes_a_label_and_an_enums_options(client: TestClient) -> None:
    page = browse(client)

    response = page.post(
        f"{UNIT}/fields/status",
        {
            "label_zh": "状态",
            "label_en": "Status",
            "options": "vacant=空置|Vacant\nlet=已租|Let\nsold=已售",
        },
    )

    assert response.status_code == 303
    status = draft_of(client, "estate/entity/unit")["fields"]["status"]
    assert status["label"] == {"zh": "状态", "en": "Status"}
    assert [o["value"] for o in status["options"]] == ["vacant", "let", "sold"]


def test_the_diff_shows_a_field_added_in_the_field_editor(client: TestClient) -> None:
    page = browse(client)
    add_deposit(page)

    html = page.get("/studio/diff").text

    diff = re.search(r'<div id="diff">(.*?)<section class="card" id="dry-run"', html, re.S)
    assert diff
    assert 'id="diff-estate-entity-unit"' in diff.group(1)
    assert 'data-path="fields.deposit"' in diff.group(1)
    assert "押金" in diff.group(1)


def test_reordering_moves_a_forms_field_up_down_and_to_another_section(
    client: TestClient,
) -> None:
    page = browse(client)
    assert layout_order(page.get(UNIT_FORM).text) == [
        "code",
        "building",
        "floor",
        "rent",
        "status",
        "let_on",
    ]

    page.post(f"{UNIT_FORM}/move", {"field": "floor", "direction": "up"})
    page.post(f"{UNIT_FORM}/move", {"field": "rent", "direction": "down"})
    page.post(f"{UNIT_FORM}/move", {"field": "code", "direction": "section", "section": "1"})

    sections = draft_of(client, "estate/form/unit")["sections"]
    assert [s["fields"] for s in sections] == [
        ["floor", "building"],
        ["status", "rent", "let_on", "code"],
    ]
    assert layout_order(page.get(UNIT_FORM).text) == [
        "floor",
        "building",
        "status",
        "rent",
        "let_on",
        "code",
    ]


def test_moving_a_sections_last_field_away_is_refused_beside_it(client: TestClient) -> None:
    page = browse(client)
    for name in ("code", "building"):
        page.post(f"{UNIT_FORM}/move", {"field": name, "direction": "section", "section": "1"})

    response = page.post(
        f"{UNIT_FORM}/move", {"field": "floor", "direction": "section", "section": "1"}
    )

    assert response.status_code == 422
    assert 'id="error-move-floor"' in response.text


def test_preview_renders_the_draft_form_with_the_new_field(client: TestClient) -> None:
    page = browse(client)
    add_deposit(page, forms="unit")

    response = page.get(f"{UNIT_FORM}/preview")

    assert response.status_code == 200
    preview = re.search(r'<div id="preview">(.*)</fieldset>\s*</div>', response.text, re.S)
    assert preview
    assert "<fieldset disabled>" in preview.group(0)
    assert 'id="field-deposit"' in preview.group(1) and "押金" in preview.group(1)
    assert 'id="field-code"' in preview.group(1)


def test_deleting_a_definition_is_a_draft_change(client: TestClient) -> None:
    page = browse(client)

    response = page.post("/studio/estate/entity/meter/delete")

    assert response.status_code == 303
    assert draft_keys(client) == [("estate", "entity", "meter", True)]
    assert "meter" in page.get(response.headers["location"]).text
    assert client.get("/api/estate/meter").status_code == 200  # still published


def test_deleting_an_entity_others_refer_to_is_refused_with_the_reason(
    client: TestClient,
) -> None:
    page = browse(client)

    response = page.post("/studio/estate/entity/building/delete")

    assert response.status_code == 422
    assert 'id="problems"' in response.text
    assert draft_keys(client) == []
