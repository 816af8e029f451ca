"""Field types from plugins (`type: id_number`, `type: uscc`): checked and normalised on the
way in, encrypted and masked as the type says, found by exact filter, converted by a
publish, and reported as definition errors when no loaded plugin adds them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from engine.errors import ValidationFailed
from engine.expressions.definitions import load_definitions
from engine.extensions import load_extensions
from engine.publishing import DataLossRefused
from engine.runtime import Runtime
from engine.settings import Settings
from metamodel.errors import DefinitionsInvalid
from metamodel.loader import read_folder
from renderers.app import create_app
from tests.databases import estate_settings, started_runtime
from tests.definitions import Folder, estate, write_folder
from tests.identity import authorize, client_as

TENANTS = "/api/estate/tenant"
TENANT_FILE = "estate/entities/tenant.yaml"
VALID_ID = "11010519491231002X"  # the published GB 11643 example
OTHER_ID = "110105199003074536"
VALID_USCC = "91350100M000100Y43"


def with_tenant(folder: Folder, **fields: dict[str, Any]) -> Folder:
    """The estate folder with a `tenant` entity: a name, an ID number and a company code;
    managers may read and create tenants, but not unmask them."""
    folder[TENANT_FILE] = {
        "fields": {
            "name": {"type": "string", "required": True},
            "id_number": {"type": "id_number", "required": True, "unique": True},
            "company": {"type": "uscc"},
            **fields,
        },
        "permissions": {"manager": {"actions": ["read", "create"]}},
    }
    return folder


@pytest.fixture
def admin(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    settings = estate_settings(tmp_path, database_url)
    write_folder(settings.apps_config, with_tenant(estate()))
    with TestClient(create_app(settings)) as client:
        authorize(client)
        yield client


def add_tenant(client: TestClient, id_number: str, **values: Any) -> dict[str, Any]:
    response = client.post(TENANTS, json={"name": "张伟", "id_number": id_number, **values})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# Input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id_number", "reason"),
    [
        ("110105194912310021", "校验位错误（check digit wrong）"),
        ("11010519491231002", "must be 18 characters, not 17"),
        ("11010519491231002X1", "must be 18 characters, not 19"),
        ("11010519491331002X", "birth date 19491331 does not exist"),
        ("1101051949123100AX", "expected 17 digits and a check digit 0-9 or X"),
    ],
)
def test_a_bad_id_number_is_refused_naming_the_field_and_the_reason(
    admin: TestClient, id_number: str, reason: str
) -> None:
    response = admin.post(TENANTS, json={"name": "张伟", "id_number": id_number})
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["path"] == "id_number"
    assert reason in detail["message"]


def test_a_bad_credit_code_is_refused_with_the_plugins_message(admin: TestClient) -> None:
    response = admin.post(
        TENANTS, json={"name": "张伟", "id_number": VALID_ID, "company": "91350100M000100Y44"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"path": "company", "message": "统一社会信用代码校验位错误（check digit wrong）"}
    ]


def test_values_are_stored_as_the_type_normalises_them(admin: TestClient) -> None:
    created = add_tenant(admin, " 110105 19491231002x ", company="91350100m000100y43")
    assert (created["id_number"], created["company"]) == (VALID_ID, VALID_USCC)
    again = admin.get(f"{TENANTS}/{created['id']}").json()
    assert (again["id_number"], again["company"]) == (VALID_ID, VALID_USCC)


def test_an_id_number_is_encrypted_at_rest_and_unique(admin: TestClient) -> None:
    add_tenant(admin, VALID_ID)
    duplicate = admin.post(TENANTS, json={"name": "李娜", "id_number": "11010519491231002x"})
    assert duplicate.status_code == 409, duplicate.text
    runtime: Runtime = admin.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT id_number FROM estate__tenant")).scalar_one()
    assert VALID_ID not in stored


# Reading ----------------------------------------------------------------------------------


def test_a_role_without_unmask_sees_the_number_masked(admin: TestClient) -> None:
    add_tenant(admin, VALID_ID, company=VALID_USCC)
    manager = client_as(admin, "zhang", "manager")
    [seen] = manager.get(TENANTS).json()["items"]
    assert (seen["id_number"], seen["company"]) == ("110105********002X", VALID_USCC)
    [clear] = admin.get(TENANTS).json()["items"]
    assert clear["id_number"] == VALID_ID


def test_a_masked_credit_code_shows_as_its_type_masks_it(
    tmp_path: Path, database_url: str | None
) -> None:
    settings = estate_settings(tmp_path, database_url)
    folder = with_tenant(estate())
    folder[TENANT_FILE]["permissions"]["manager"]["fields"] = {"company": "masked"}
    write_folder(settings.apps_config, folder)
    with TestClient(create_app(settings)) as admin:
        authorize(admin)
        add_tenant(admin, VALID_ID, company=VALID_USCC)
        manager = client_as(admin, "zhang", "manager")
        [seen] = manager.get(TENANTS).json()["items"]
    assert seen["company"] == "9135**********0Y43"


def test_an_exact_filter_finds_the_record_as_written_in_any_case(admin: TestClient) -> None:
    wanted = add_tenant(admin, VALID_ID)
    add_tenant(admin, OTHER_ID)
    found = admin.get(TENANTS, params={"id_number": "11010519491231002x"}).json()["items"]
    assert [t["id"] for t in found] == [wanted["id"]]
    listed = admin.get(TENANTS, params={"id_number__in": f"{OTHER_ID},{VALID_ID}"}).json()
    assert len(listed["items"]) == 2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"id_number": "110105194912310021"}, "校验位错误"),
        ({"id_number__contains": "110105"}, "can be filtered by eq, in, isnull only"),
    ],
)
def test_a_filter_no_stored_number_could_match_is_refused(
    admin: TestClient, params: dict[str, str], message: str
) -> None:
    response = admin.get(TENANTS, params=params)
    assert response.status_code == 422
    assert message in response.json()["error"]["details"][0]["message"]


def test_sensitive_false_keeps_an_id_number_in_clear(
    tmp_path: Path, database_url: str | None
) -> None:
    settings = estate_settings(tmp_path, database_url)
    clear = {"type": "id_number", "required": True, "sensitive": False}
    write_folder(settings.apps_config, with_tenant(estate(), id_number=clear))
    with started_runtime(settings) as runtime:
        tenant = runtime.require_catalog().entity("estate", "tenant")
        assert tenant is not None
        assert tenant.sensitive_fields == ()
        search = {"id_number__startswith": "110105"}
        with TestClient(create_app(settings)) as admin:
            authorize(admin)
            add_tenant(admin, VALID_ID)
            found = admin.get(TENANTS, params=search).json()["items"]
    assert [t["id_number"] for t in found] == [VALID_ID]


# Publishing a change of type -------------------------------------------------------------


@pytest.fixture
def plain_numbers(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    """Tenants whose ID numbers are plain strings: a valid one, one with a lowercase x and
    one whose check digit is wrong."""
    settings = estate_settings(tmp_path, database_url)
    plain = {"type": "string", "max_length": 18, "sensitive": True}
    write_folder(settings.apps_config, with_tenant(estate(), id_number=plain))
    with TestClient(create_app(settings)) as admin:
        authorize(admin)
        for number in (OTHER_ID, "11010519491231002x", "110105194912310021"):
            add_tenant(admin, number)
        yield admin


def test_a_publish_to_id_number_reports_the_values_that_do_not_normalise(
    plain_numbers: TestClient,
) -> None:
    admin = plain_numbers
    runtime: Runtime = admin.app.state.runtime  # type: ignore[attr-defined]
    write_folder(runtime.settings.apps_config, with_tenant(estate()))
    with pytest.raises(DataLossRefused) as refused:
        runtime.publish_folder(author="ada", message="ID numbers are checked")
    [finding] = refused.value.details
    assert finding["path"] == "estate.tenant.id_number"
    assert "1 values cannot convert from string to id_number" in finding["message"]
    [sample] = finding["sample"]
    assert sample["value"] == "110105********0021"  # a sensitive value is never shown
    assert "校验位错误" in sample["reason"]

    runtime.publish_folder(author="ada", message="ID numbers are checked", force=True)
    items = admin.get(TENANTS, params={"sort": "id"}).json()["items"]
    assert [t["id_number"] for t in items] == [OTHER_ID, VALID_ID, None]


# Definitions -------------------------------------------------------------------------------


def definition_errors(tmp_path: Path, folder: Folder, settings: Settings) -> list[Any]:
    extensions = load_extensions(settings)
    root = write_folder(tmp_path / "apps_config", folder)
    with pytest.raises(DefinitionsInvalid) as invalid:
        load_definitions(read_folder(root), extensions.functions, extensions.field_types)
    return [(e.file, e.line, e.path, e.message) for e in invalid.value.errors]


BUILTIN = "string, text, integer, decimal, boolean, date, datetime, enum, reference, json, file"


@pytest.mark.parametrize(
    ("field", "path", "message"),
    [
        (
            {"type": "idnumber"},
            "fields.id_number.type",
            f"unknown field type 'idnumber'; expected one of {BUILTIN}, or a type a loaded "
            "plugin adds: ",
        ),
        (
            {"type": "id_number", "max_length": 18},
            "fields.id_number.max_length",
            "unknown key 'max_length'",
        ),
        (
            {"type": "id_number", "default": "110105194912310021"},
            "fields.id_number.default",
            "身份证号码校验位错误（check digit wrong）",
        ),
        (
            {"type": "id_number", "default": "11010519491231002x"},
            "fields.id_number.default",
            "write it as it is stored: '11010519491231002X'",
        ),
    ],
)
def test_a_definition_error_names_file_line_and_path(
    tmp_path: Path, field: dict[str, Any], path: str, message: str
) -> None:
    errors = definition_errors(tmp_path, with_tenant(estate(), id_number=field), Settings())
    text = (tmp_path / "apps_config" / TENANT_FILE).read_text(encoding="utf-8").splitlines()
    key = f"    {path.rsplit('.', 1)[-1]}:"
    line = text.index("  id_number:") + next(
        n for n, row in enumerate(text[text.index("  id_number:") :]) if row.startswith(key)
    )
    assert [(file, line, where) for file, line, where, _ in errors] == [
        (TENANT_FILE, line + 1, path)
    ]
    assert message in errors[0][3]


def test_an_unknown_type_is_reported_beside_the_other_mistakes(tmp_path: Path) -> None:
    folder = with_tenant(estate(), id_number={"type": "idnumber"}, floor={"type": "integer"})
    folder[TENANT_FILE]["fields"]["floor"]["min"] = "low"
    errors = definition_errors(tmp_path, folder, Settings())
    assert [where for _, _, where, _ in errors] == ["fields.id_number.type", "fields.floor.min"]


def test_a_field_sensitive_by_its_type_is_found_by_exact_match_only(tmp_path: Path) -> None:
    folder = with_tenant(estate())
    folder[TENANT_FILE]["search_fields"] = ["name", "company", "id_number"]
    errors = definition_errors(tmp_path, folder, Settings())
    assert [(where, message) for _, _, where, message in errors] == [
        (
            "search_fields[2]",
            "'id_number' is sensitive (encrypted); it is found by exact match, not search",
        )
    ]


def test_a_type_whose_plugin_is_disabled_is_unknown(tmp_path: Path) -> None:
    settings = Settings(plugins_disabled=["identity_numbers"])
    errors = definition_errors(tmp_path, with_tenant(estate()), settings)
    assert [(where, message.split(";")[0]) for _, _, where, message in errors] == [
        ("fields.id_number.type", "unknown field type 'id_number'"),
        ("fields.company.type", "unknown field type 'uscc'"),
    ]


def test_an_app_whose_plugin_type_is_missing_does_not_start(
    tmp_path: Path, database_url: str | None
) -> None:
    settings = estate_settings(tmp_path, database_url, plugins_disabled=["identity_numbers"])
    write_folder(settings.apps_config, with_tenant(estate()))
    runtime = Runtime.create(settings)
    try:
        with pytest.raises(ValidationFailed) as refused:
            runtime.start()
    finally:
        runtime.dispose()
    paths = [(d["file"], d["path"]) for d in refused.value.details]
    assert paths == [(TENANT_FILE, "fields.id_number.type"), (TENANT_FILE, "fields.company.type")]
