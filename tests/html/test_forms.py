"""Record forms: laid out by the form definition, conditions re-evaluated as the user types,
values converted from text, errors beside their fields, reference pickers and uploads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.catalog import Catalog, CompiledEntity, compile_catalog
from engine.expressions.definitions import load_definitions
from engine.principal import SYSTEM, Principal
from engine.runtime import Runtime
from engine.settings import Settings
from metamodel.kinds import KIND_FOLDERS
from metamodel.loader import document_from_content
from renderers.html.form_layout import evaluated_state, layout_of
from renderers.html.widgets import FormView, build_form_view
from tests.databases import ADMIN_PASSWORD, FAST_ARGON2
from tests.definitions import APP, Folder, entity, estate, write_folder
from tests.html.browsing import Browser, browse
from tests.identity import USER_PASSWORD, create_user, login

UNITS = f"/{APP}/unit"
KIND_OF_FOLDER = {folder: kind for kind, folder in KIND_FOLDERS.items()}
MANAGER = Principal("li", roles=("manager",), user_id=2)
CLERK = Principal("zhao", roles=("clerk",), user_id=3)


def form_estate() -> Folder:
    """The estate with a unit form of three sections, conditions, a computed field, a
    required yes/no, and a manager who may not set the rent and sees only own buildings."""
    folder = estate()
    unit = entity(folder, "unit")
    unit["fields"]["code"]["label"] = {"zh": "编号", "en": "Code"}
    unit["fields"]["rent_per_m2"] = {
        "type": "decimal",
        "computed": "rent / area",
        "label": {"zh": "每平米租金", "en": "Rent per m²"},
    }
    unit["fields"]["furnished"] = {"type": "boolean", "required": True, "default": False}
    unit["permissions"] = {
        "manager": {"actions": ["read", "create", "update"], "fields": {"rent": "readonly"}},
        "clerk": {"actions": ["create"]},  # registers units, reads none
    }
    folder[f"{APP}/roles.yaml"]["roles"]["clerk"] = {"label": {"zh": "登记员", "en": "Clerk"}}
    entity(folder, "building")["permissions"] = {
        "manager": {"actions": ["read", "create"], "scope": "own"}
    }
    folder[f"{APP}/forms/unit.yaml"] = {
        "entity": "unit",
        "label": {"zh": "房屋登记", "en": "Unit register"},
        "sections": [
            {
                "title": {"zh": "基本", "en": "Basics"},
                "columns": 2,
                "fields": ["code", "building", "floor", "status", "let_on"],
            },
            {
                "title": {"zh": "租金", "en": "Rent"},
                "columns": 3,
                "fields": ["rent", "area", "rent_per_m2"],
                "visible": 'status != "vacant"',
            },
            {
                "title": {"zh": "其他", "en": "Other"},
                "fields": ["notes", "extras", "photo", "checked_at", "active", "furnished"],
            },
        ],
        "fields": {
            "let_on": {"visible": 'status == "let"', "required": 'status == "let"'},
            "floor": {"readonly": 'building.name == "Low"'},
        },
    }
    return folder


def catalog_of(folder: Folder) -> Catalog:
    """The folder's definitions compiled in memory: no files, no database."""
    documents = []
    for relative, content in folder.items():
        app, *rest = relative.removesuffix(".yaml").split("/")
        kind, name = (rest[0], rest[0]) if len(rest) == 1 else (KIND_OF_FOLDER[rest[0]], rest[1])
        documents.append(document_from_content(app, kind, name, content))
    return compile_catalog(1, load_definitions(documents))


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return catalog_of(form_estate())


def unit_of(catalog: Catalog) -> CompiledEntity:
    found = catalog.entity(APP, "unit")
    assert found is not None
    return found


def view_of(catalog: Catalog, language: str = "en", **options: Any) -> FormView:
    values = options.pop("values", {})
    principal = options.pop("principal", SYSTEM)
    unit = unit_of(catalog)
    return build_form_view(catalog, unit, None, values, [], principal, language, **options)


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        apps_config=write_folder(tmp_path / "apps_config", form_estate()),
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        job_threads=False,
        **FAST_ARGON2,
    )


@pytest.fixture
def admin(client: TestClient) -> Browser:
    return browse(client)


# view models ------------------------------------------------------------------------------


def test_sections_and_columns_follow_the_form_definition(catalog: Catalog) -> None:
    view = view_of(catalog)
    assert view.title == "Unit register"
    laid_out = [
        (s.title, s.columns, [[w.name for w in row] for row in s.rows]) for s in view.sections
    ]
    assert laid_out == [
        ("Basics", 2, [["code", "building"], ["floor", "status"], ["let_on"]]),
        ("Rent", 3, [["rent", "area", "rent_per_m2"]]),
        ("Other", 1, [["notes"], ["extras"], ["photo"], ["checked_at"], ["active"], ["furnished"]]),
    ]


def test_without_a_form_one_section_holds_every_field_a_client_may_set() -> None:
    folder = form_estate()
    del folder[f"{APP}/forms/unit.yaml"]
    view = view_of(catalog_of(folder))
    [section] = view.sections
    names = [w.name for w in section.widgets]
    assert names[:3] == ["code", "rent", "area"]
    assert "rent_per_m2" not in names and "furnished" in names
    assert (view.form_name, view.live) == (None, False)


def test_each_field_type_has_its_widget(catalog: Catalog) -> None:
    widgets = view_of(catalog).widgets
    assert {name: w.kind for name, w in widgets.items()} == {
        "code": "text",
        "building": "reference",
        "floor": "number",
        "status": "select",
        "let_on": "date",
        "rent": "number",
        "area": "number",
        "rent_per_m2": "number",
        "notes": "textarea",
        "extras": "json",
        "photo": "file",
        "checked_at": "datetime",
        "active": "select",  # optional yes/no: it can also say nothing
        "furnished": "checkbox",  # required yes/no
    }
    assert widgets["code"].maxlength == 20
    assert (widgets["rent"].step, widgets["rent"].minimum) == ("0.01", "0")
    assert (widgets["floor"].step, widgets["floor"].minimum, widgets["floor"].maximum) == (
        "1",
        "-3",
        "60",
    )
    assert widgets["building"].pick_url == "/estate/unit/pick/building"
    assert view_of(catalog).multipart


@pytest.mark.parametrize(
    ("language", "labels"),
    [("zh", ["请选择", "空置", "已租"]), ("en", ["Choose…", "Vacant", "Let"])],
)
def test_enum_options_are_labelled_in_the_users_language(
    catalog: Catalog, language: str, labels: list[str]
) -> None:
    status = view_of(catalog, language, values={"status": "let"}).widgets["status"]
    assert [o.label for o in status.options] == labels
    assert [o.value for o in status.options if o.selected] == ["let"]


def test_computed_fields_and_fields_the_user_may_not_set_are_read_only(catalog: Catalog) -> None:
    admin = view_of(catalog).widgets
    assert admin["rent_per_m2"].state.readonly
    assert admin["rent_per_m2"].note == "Computed by the system"
    assert not admin["rent"].state.readonly
    manager = view_of(catalog, principal=MANAGER).widgets
    assert manager["rent"].state.readonly and not manager["code"].state.readonly
    assert manager["code"].state.required
    clerk = view_of(catalog, principal=CLERK).widgets  # fills in what it may not read back
    assert not clerk["rent"].state.readonly
    assert "rent_per_m2" not in clerk


def test_values_and_errors_show_beside_their_fields(catalog: Catalog) -> None:
    errors = [
        {"path": "code", "message": "is required"},
        {"path": "", "message": "A rule said no"},
        {"path": "let_on", "message": "is too early"},  # let_on shows: no state evaluated
    ]
    unit = unit_of(catalog)
    view = build_form_view(catalog, unit, None, {"floor": "3"}, errors, SYSTEM, "zh")
    widgets = view.widgets
    assert (widgets["code"].error, widgets["code"].described_by) == ("必填", "error-code")
    assert widgets["floor"].value == "3"
    assert view.errors == ("A rule said no",)


def test_conditions_hide_fields_and_sections_for_the_values_entered(runtime: Runtime) -> None:
    catalog = runtime.require_catalog()
    unit = unit_of(catalog)
    layout = layout_of(catalog, unit)
    with runtime.engine.connect() as conn:
        vacant = evaluated_state(conn, catalog, unit, layout, {"status": "vacant"}, SYSTEM)
        let = evaluated_state(conn, catalog, unit, layout, {"status": "let"}, SYSTEM)
    hidden = view_of(catalog, values={"status": "vacant"}, state=vacant)
    assert not hidden.widgets["let_on"].state.visible
    assert [s.visible for s in hidden.sections] == [True, False, True]
    shown = view_of(catalog, values={"status": "let"}, state=let)
    assert shown.widgets["let_on"].state.visible and shown.widgets["let_on"].state.required
    assert all(s.visible for s in shown.sections)


# through HTTP -----------------------------------------------------------------------------


def error_beside(html: str, name: str) -> str:
    found = re.search(rf'<span class="field-error" id="error-{name}">([^<]*)</span>', html)
    assert found, f"no error beside {name}"
    return found.group(1)


def input_value(html: str, name: str) -> str:
    found = re.search(rf'id="field-{name}"[^>]*value="([^"]*)"', html)
    assert found, f"no input {name}"
    return found.group(1)


def row_version_in(html: str) -> str:
    found = re.search(r'name="row_version" value="([0-9]+)"', html)
    assert found
    return found.group(1)


def test_creating_through_the_form_stores_converted_values_and_opens_the_record(
    client: TestClient, admin: Browser
) -> None:
    building = client.post(f"/api/{APP}/building", json={"name": "East"}).json()
    page = admin.get(f"{UNITS}/new")
    assert page.status_code == 200
    assert f'<option value="{building["id"]}">East</option>' in page.text
    form = {
        "code": "A-1",
        "building": str(building["id"]),
        "floor": "3",
        "status": "let",
        "let_on": "2026-03-01",
        "rent": "1200.50",
        "area": "",
        "notes": "南向",
        "extras": '{"keys": 2}',
        "checked_at": "2026-03-01T09:30",
        "active": "false",
    }
    response = admin.post(f"{UNITS}/new", form)
    assert response.status_code == 303, response.text
    unit_id = int(response.headers["location"].rsplit("/", 1)[1])
    assert response.headers["location"] == f"{UNITS}/{unit_id}"
    stored = client.get(f"/api/{APP}/unit/{unit_id}").json()
    assert {k: stored[k] for k in form if k != "checked_at"} == {
        "code": "A-1",
        "building": building["id"],
        "floor": 3,
        "status": "let",
        "let_on": "2026-03-01",
        "rent": "1200.50",
        "area": None,
        "notes": "南向",
        "extras": {"keys": 2},
        "active": False,
    }
    assert stored["checked_at"].startswith("2026-03-01T01:30")  # 09:30 in Shanghai, in UTC
    assert stored["furnished"] is False  # an unchecked box
    edit = admin.get(f"{UNITS}/{unit_id}/edit").text
    assert input_value(edit, "checked_at") == "2026-03-01T09:30"
    assert f'<option value="{building["id"]}" selected>East</option>' in edit


def test_a_missing_required_field_shows_the_form_again_with_everything_typed(
    client: TestClient, admin: Browser
) -> None:
    response = admin.post(f"{UNITS}/new", {"code": "", "floor": "7", "notes": "朝南"})
    assert response.status_code == 422
    html = response.text
    assert error_beside(html, "code") == "必填"
    assert 'aria-describedby="error-code" aria-invalid="true"' in html
    assert input_value(html, "floor") == "7"
    assert "朝南</textarea>" in html
    assert "Traceback" not in html
    assert client.get(f"/api/{APP}/unit").json()["count"] == 0


def test_bad_text_and_condition_required_fields_are_reported_beside_them(admin: Browser) -> None:
    response = admin.post(
        f"{UNITS}/new", {"code": "A-1", "floor": "three", "status": "let", "let_on": ""}
    )
    assert response.status_code == 422
    assert "integer" in error_beside(response.text, "floor")
    assert error_beside(response.text, "let_on") == "必填"


def test_a_field_hidden_by_its_condition_is_not_written(client: TestClient, admin: Browser) -> None:
    response = admin.post(
        f"{UNITS}/new", {"code": "A-1", "status": "vacant", "let_on": "2026-03-01"}
    )
    assert response.status_code == 303, response.text
    stored = client.get(f"/api/{APP}/unit").json()["items"][0]
    assert (stored["status"], stored["let_on"]) == ("vacant", None)


def test_the_engines_refusals_show_beside_their_fields(client: TestClient, admin: Browser) -> None:
    client.post(f"/api/{APP}/unit", json={"code": "A-1"})
    duplicate = admin.post(f"{UNITS}/new", {"code": "A-1"})
    assert duplicate.status_code == 409
    assert "already has code=A-1" in error_beside(duplicate.text, "code")
    bad_pattern = admin.post(f"{UNITS}/new", {"code": "lower"})
    assert bad_pattern.status_code == 422
    assert "pattern" in error_beside(bad_pattern.text, "code")


def test_editing_changes_only_what_the_user_changed(client: TestClient, admin: Browser) -> None:
    unit = client.post(f"/api/{APP}/unit", json={"code": "A-1", "floor": 2, "rent": "900.00"})
    unit_id = unit.json()["id"]
    page = admin.get(f"{UNITS}/{unit_id}/edit")
    assert page.status_code == 200
    assert input_value(page.text, "rent") == "900.00"
    version = row_version_in(page.text)
    response = admin.post(
        f"{UNITS}/{unit_id}/edit",
        {"code": "A-1", "floor": "5", "rent": "900.00", "row_version": version},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{UNITS}/{unit_id}"
    stored = client.get(f"/api/{APP}/unit/{unit_id}").json()
    assert (stored["floor"], stored["rent"], stored["row_version"]) == (5, "900.00", 2)


def test_editing_a_record_someone_changed_meanwhile_keeps_what_was_typed(
    client: TestClient, admin: Browser
) -> None:
    unit_id = client.post(f"/api/{APP}/unit", json={"code": "A-1"}).json()["id"]
    version = row_version_in(admin.get(f"{UNITS}/{unit_id}/edit").text)
    client.patch(f"/api/{APP}/unit/{unit_id}", json={"floor": 9})  # someone else
    response = admin.post(
        f"{UNITS}/{unit_id}/edit", {"code": "A-1", "notes": "我的备注", "row_version": version}
    )
    assert response.status_code == 409
    assert 'id="form-notice"' in response.text and "第 2 版" in response.text
    assert "我的备注</textarea>" in response.text
    assert row_version_in(response.text) == "2"  # saving again is a deliberate overwrite
    assert client.get(f"/api/{APP}/unit/{unit_id}").json()["notes"] is None


def test_form_state_answers_for_the_values_typed(client: TestClient, admin: Browser) -> None:
    low = client.post(f"/api/{APP}/building", json={"name": "Low"}).json()
    url = f"{UNITS}/form-state?form=unit"
    vacant = admin.htmx("POST", url, data={"status": "vacant"}).json()
    assert vacant["fields"]["let_on"] == {"visible": False, "readonly": False, "required": False}
    assert vacant["sections"] == [True, False, True]
    typed = {"status": "let", "building": str(low["id"])}
    let = admin.htmx("POST", url, data=typed).json()
    assert let["fields"]["let_on"] == {"visible": True, "readonly": False, "required": True}
    assert let["fields"]["floor"]["readonly"] is True
    assert let["fields"]["rent_per_m2"]["readonly"] is True
    assert let["sections"] == [True, True, True]


def test_the_form_opens_in_the_state_of_the_records_values(
    client: TestClient, admin: Browser
) -> None:
    unit_id = client.post(f"/api/{APP}/unit", json={"code": "A-1", "status": "vacant"}).json()["id"]
    html = admin.get(f"{UNITS}/{unit_id}/edit").text
    assert 'id="wrap-let_on" hidden' in html
    assert 'id="section-1" hidden' in html
    assert f'data-form-state="{UNITS}/form-state?form=unit&amp;id={unit_id}"' in html
    assert '<script src="/static/forms.js" defer></script>' in html


def test_fields_the_user_may_not_set_are_read_only_and_not_written(
    client: TestClient,
) -> None:
    create_user(client, "li", "manager")
    manager = browse(client, "li", USER_PASSWORD)
    page = manager.get(f"{UNITS}/new")
    assert re.search(r'id="field-rent"[^>]* readonly', page.text)
    response = manager.post(f"{UNITS}/new", {"code": "A-1", "rent": "999.00"})
    assert response.status_code == 303, response.text
    assert client.get(f"/api/{APP}/unit").json()["items"][0]["rent"] is None


def test_the_picker_offers_the_records_the_user_may_list(client: TestClient) -> None:
    client.post(f"/api/{APP}/building", json={"name": "Tower A"})
    create_user(client, "li", "manager")
    own = login(client, "li").post(f"/api/{APP}/building", json={"name": "Tower B"}).json()
    login(client, "li").post(f"/api/{APP}/building", json={"name": "Garden"})
    manager = browse(client, "li", USER_PASSWORD)
    found = manager.htmx("GET", f"{UNITS}/pick/building", params={"q": "tower"})
    assert found.status_code == 200
    assert re.findall(r'<option value="([0-9]*)"[^>]*>([^<]*)</option>', found.text) == [
        ("", "请选择"),
        (str(own["id"]), "Tower B"),  # Tower A is not the manager's
    ]
    admin = browse(client)
    everything = admin.htmx("GET", f"{UNITS}/pick/building", params={"q": "tower"})
    assert everything.text.count("<option") == 3
    assert admin.get(f"{UNITS}/pick/code").status_code == 404


def test_an_uploaded_file_is_stored_and_linked(client: TestClient, admin: Browser) -> None:
    response = admin.client.post(
        f"{UNITS}/new",
        data={"csrf_token": admin.csrf, "code": "A-1"},
        files={"photo": ("front.jpg", b"\xff\xd8 a photo", "image/jpeg")},
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 303, response.text
    unit = client.get(f"/api/{APP}/unit").json()["items"][0]
    assert re.fullmatch(r"[0-9a-f]{32}", unit["photo"])
    assert client.get(f"/api/files/{unit['photo']}").content == b"\xff\xd8 a photo"
    edit = admin.get(f"{UNITS}/{unit['id']}/edit").text
    assert f'href="/api/files/{unit["photo"]}"' in edit


def test_a_file_survives_a_refused_form(client: TestClient, admin: Browser) -> None:
    response = admin.client.post(
        f"{UNITS}/new",
        data={"csrf_token": admin.csrf, "code": ""},
        files={"photo": ("front.jpg", b"a photo", "image/jpeg")},
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 422
    kept = re.search(r'<input type="hidden" name="photo" value="([0-9a-f]{32})">', response.text)
    assert kept
    again = admin.post(f"{UNITS}/new", {"code": "A-1", "photo": kept.group(1)})
    assert again.status_code == 303
    assert client.get(f"/api/{APP}/unit").json()["items"][0]["photo"] == kept.group(1)


def test_a_form_without_its_csrf_token_is_refused(client: TestClient, admin: Browser) -> None:
    response = admin.client.post(f"{UNITS}/new", data={"code": "A-1"})
    assert response.status_code == 403
    assert client.get(f"/api/{APP}/unit").json()["count"] == 0


def test_a_user_who_may_create_but_not_read_goes_home_after_saving(client: TestClient) -> None:
    create_user(client, "zhao", "clerk")
    clerk = browse(client, "zhao", USER_PASSWORD)
    response = clerk.post(f"{UNITS}/new", {"code": "A-1", "rent": "800.00"})
    assert (response.status_code, response.headers["location"]) == (303, "/")
    assert client.get(f"/api/{APP}/unit").json()["items"][0]["rent"] == "800.00"


def test_a_user_who_may_not_create_gets_no_form(client: TestClient) -> None:
    create_user(client, "wang")
    response = browse(client, "wang", USER_PASSWORD).get(f"{UNITS}/new")
    assert response.status_code == 403
    assert "Traceback" not in response.text
