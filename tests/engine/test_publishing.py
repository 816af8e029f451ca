"""Publishing changed definitions: the schema follows, data is kept, refusals change nothing."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from engine.errors import Conflict
from engine.publishing import DataLossRefused, PublishBlocked, PublishResult, version_contents
from engine.publishing import publish as publish_contents
from engine.runtime import Runtime
from engine.settings import Settings
from metamodel import store
from renderers.app import create_app
from tests.definitions import Folder, entity, estate, write_folder
from tests.identity import authorize

BUILDINGS = "/api/estate/building"
UNITS = "/api/estate/unit"


def runtime_of(client: TestClient) -> Runtime:
    return client.app.state.runtime  # type: ignore[attr-defined]


def publish(client: TestClient, folder: Folder, force: bool = False) -> PublishResult:
    runtime = runtime_of(client)
    write_folder(runtime.settings.apps_config, folder)
    return runtime.publish_folder(author="ada", message="change", force=force)


def post(client: TestClient, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(url, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def columns(client: TestClient, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(runtime_of(client).engine).get_columns(table)}


def raw_values(client: TestClient, table: str, column: str) -> list[Any]:
    query = sa.text(f'SELECT "{column}" FROM "{table}" ORDER BY id')
    with runtime_of(client).engine.connect() as conn:
        return list(conn.execute(query).scalars())


def versions(client: TestClient) -> list[int]:
    with runtime_of(client).engine.connect() as conn:
        return [v.version for v in store.list_versions(conn)]


def test_added_field_is_served_at_once(client: TestClient) -> None:
    old = post(client, UNITS, {"code": "A-1"})
    folder = estate()
    entity(folder, "unit")["fields"]["deposit"] = {"type": "decimal", "min": 0}

    assert publish(client, folder).version.version == 2

    new = post(client, UNITS, {"code": "A-2", "deposit": "500.00"})
    assert new["deposit"] == "500.00"
    assert client.get(f"{UNITS}/{old['id']}").json()["deposit"] is None
    assert client.get(UNITS, params={"deposit__gt": "100"}).json()["count"] == 1


def test_added_field_with_a_default_fills_existing_rows(client: TestClient) -> None:
    old = post(client, BUILDINGS, {"name": "Tower A"})
    folder = estate()
    entity(folder, "building")["fields"]["storeys"] = {"type": "integer", "default": 6}

    result = publish(client, folder)

    assert client.get(f"{BUILDINGS}/{old['id']}").json()["storeys"] == 6
    assert any(f.field == "storeys" and f.rows == 1 for f in result.plan.report.findings)


def test_added_enum_option_is_accepted_at_once(client: TestClient) -> None:
    assert client.post(UNITS, json={"code": "A-1", "status": "reserved"}).status_code == 422
    folder = estate()
    entity(folder, "unit")["fields"]["status"]["options"].append({"value": "reserved"})

    publish(client, folder)

    assert post(client, UNITS, {"code": "A-1", "status": "reserved"})["status"] == "reserved"


def test_added_unique_index_is_created_and_enforced(client: TestClient) -> None:
    post(client, UNITS, {"code": "A-1", "floor": 1, "let_on": "2024-01-01"})
    folder = estate()
    entity(folder, "unit")["indexes"] = [{"fields": ["floor", "let_on"], "unique": True}]

    publish(client, folder)

    indexes = sa.inspect(runtime_of(client).engine).get_indexes("estate__unit")
    assert any(i["column_names"] == ["floor", "let_on"] and i["unique"] for i in indexes)
    duplicate = client.post(UNITS, json={"code": "A-2", "floor": 1, "let_on": "2024-01-01"})
    assert duplicate.status_code == 409
    assert [d["path"] for d in duplicate.json()["error"]["details"]] == ["floor.let_on"]


def test_new_entity_is_served_at_once(client: TestClient) -> None:
    assert client.get("/api/estate/lease").status_code == 404
    unit = post(client, UNITS, {"code": "A-1"})
    folder = estate()
    folder["estate/entities/lease.yaml"] = {
        "fields": {
            "unit": {"type": "reference", "entity": "unit", "required": True},
            "tenant": {"type": "string", "required": True},
        }
    }

    publish(client, folder)

    lease = post(client, "/api/estate/lease", {"unit": unit["id"], "tenant": "Li Lei"})
    assert client.get("/api/estate/lease").json()["items"] == [lease]
    assert client.delete(f"{UNITS}/{unit['id']}").status_code == 409  # restrict by default


def test_removed_field_keeps_its_column_and_values(client: TestClient) -> None:
    post(client, UNITS, {"code": "A-1", "notes": "leaky tap"})
    post(client, UNITS, {"code": "A-2"})
    folder = estate()
    del entity(folder, "unit")["fields"]["notes"]
    entity(folder, "unit")["search_fields"] = ["code"]

    publish(client, folder)

    assert "notes" not in client.get(UNITS).json()["items"][0]
    assert client.post(UNITS, json={"code": "A-3", "notes": "x"}).status_code == 422
    assert "notes" not in columns(client, "estate__unit")
    assert raw_values(client, "estate__unit", "_removed_notes__v2") == ["leaky tap", None]
    assert post(client, UNITS, {"code": "A-3"})["code"] == "A-3"


def test_removed_entity_is_no_longer_served_but_its_table_is_kept(client: TestClient) -> None:
    post(client, "/api/estate/inspection", {"remark": "fine"})
    folder = estate()
    del folder["estate/entities/inspection.yaml"]

    result = publish(client, folder)

    assert client.get("/api/estate/inspection").status_code == 404
    assert raw_values(client, "estate__inspection", "remark") == ["fine"]
    assert any(f.severity == "warning" and f.rows == 1 for f in result.plan.report.findings)


def code_as_integer() -> Folder:
    folder = estate()
    entity(folder, "building")["fields"]["code"] = {"type": "integer", "unique": True}
    entity(folder, "building")["search_fields"] = ["name"]
    return folder


def test_type_change_converts_convertible_values(client: TestClient) -> None:
    first = post(client, BUILDINGS, {"name": "One", "code": "101"})
    post(client, BUILDINGS, {"name": "Two", "code": " 102 "})
    post(client, BUILDINGS, {"name": "Three"})

    result = publish(client, code_as_integer())

    assert [b["code"] for b in client.get(BUILDINGS).json()["items"]] == [101, 102, None]
    assert raw_values(client, "estate__building", "_old_code__v2") == ["101", " 102 ", None]
    assert result.log.converted == 2
    assert client.get(BUILDINGS, params={"code__gt": "101"}).json()["count"] == 1
    assert client.patch(f"{BUILDINGS}/{first['id']}", json={"code": 102}).status_code == 409


def test_type_change_losing_values_is_refused_with_the_values(client: TestClient) -> None:
    post(client, BUILDINGS, {"name": "One", "code": "101"})
    tower = post(client, BUILDINGS, {"name": "Two", "code": "TA"})

    with pytest.raises(DataLossRefused) as refused:
        publish(client, code_as_integer())

    assert (refused.value.status, refused.value.code) == (409, "data_loss")
    [detail] = refused.value.details
    assert detail["path"] == "estate.building.code"
    assert [(s["id"], s["value"]) for s in detail["sample"]] == [(tower["id"], "TA")]
    assert versions(client) == [1]
    assert [b["code"] for b in client.get(BUILDINGS).json()["items"]] == ["101", "TA"]


def test_forced_type_change_nulls_the_lost_values_and_keeps_the_old_column(
    client: TestClient,
) -> None:
    post(client, BUILDINGS, {"name": "One", "code": "101"})
    post(client, BUILDINGS, {"name": "Two", "code": "TA"})

    publish(client, code_as_integer(), force=True)

    assert [b["code"] for b in client.get(BUILDINGS).json()["items"]] == [101, None]
    assert raw_values(client, "estate__building", "_old_code__v2") == ["101", "TA"]


def test_type_change_making_unique_values_collide_is_blocked(client: TestClient) -> None:
    post(client, BUILDINGS, {"name": "One", "code": "7"})
    post(client, BUILDINGS, {"name": "Two", "code": "07"})

    with pytest.raises(PublishBlocked):
        publish(client, code_as_integer())

    assert versions(client) == [1]
    assert [b["code"] for b in client.get(BUILDINGS).json()["items"]] == ["7", "07"]


def test_adding_unique_to_duplicated_values_is_blocked(client: TestClient) -> None:
    for _ in range(2):
        post(client, BUILDINGS, {"name": "Tower A"})
    folder = estate()
    entity(folder, "building")["fields"]["name"]["unique"] = True
    entity(folder, "building")["fields"]["floors"] = {"type": "integer"}

    with pytest.raises(PublishBlocked) as refused:
        publish(client, folder)

    assert (refused.value.status, refused.value.code) == (409, "publish_blocked")
    assert refused.value.details[0]["sample"] == [{"name": "Tower A", "rows": 2}]
    assert versions(client) == [1]
    assert "floors" not in columns(client, "estate__building")


def test_publishing_unchanged_definitions_is_refused(client: TestClient) -> None:
    with pytest.raises(Conflict) as refused:
        publish(client, estate())

    assert "nothing to publish" in refused.value.message
    assert versions(client) == [1]


def test_publish_from_a_stale_catalog_is_refused(client: TestClient) -> None:
    runtime = runtime_of(client)
    stale = runtime.require_catalog()
    folder = estate()
    entity(folder, "unit")["fields"]["deposit"] = {"type": "decimal"}
    publish(client, folder)
    contents = runtime.folder_contents()
    contents[("estate", "entity", "unit")]["fields"]["keys"] = {"type": "integer"}

    with pytest.raises(Conflict):
        publish_contents(runtime.engine, stale, contents, "ada", "late")

    assert versions(client) == [1, 2]


def test_rollback_publishes_old_content_as_a_new_version(client: TestClient) -> None:
    runtime = runtime_of(client)
    folder = estate()
    entity(folder, "unit")["fields"]["deposit"] = {"type": "decimal"}
    publish(client, folder)
    post(client, UNITS, {"code": "A-1", "deposit": "10.00"})
    with runtime.engine.connect() as conn:
        first = version_contents(conn, 1)

    result = runtime.publish_contents(first, "ada", "Rollback to version 1")

    assert result.version.version == 3
    assert versions(client) == [1, 2, 3]
    with runtime.engine.connect() as conn:
        assert store.read_contents(conn, 3) == first
        assert store.get_version(conn, 3).hash == store.get_version(conn, 1).hash  # type: ignore[union-attr]
    assert "deposit" not in client.get(UNITS).json()["items"][0]
    assert client.post(UNITS, json={"code": "A-2", "deposit": "1.00"}).status_code == 422


def test_publish_through_one_worker_reaches_every_worker(
    client: TestClient, settings: Settings
) -> None:
    other = Runtime.create(settings.model_copy(update={"catalog_check_seconds": 0}))
    with TestClient(create_app(runtime=other)) as second:
        authorize(second)
        assert second.post(UNITS, json={"code": "A-0", "deposit": "1.00"}).status_code == 422
        folder = estate()
        entity(folder, "unit")["fields"]["deposit"] = {"type": "decimal"}

        publish(client, folder)

        assert second.get("/-/health").json()["definitions_version"] == 2
        created = second.post(UNITS, json={"code": "A-1", "deposit": "99.90"})
        assert created.status_code == 201
        assert created.json()["deposit"] == "99.90"
        assert client.get(f"{UNITS}/{created.json()['id']}").json()["deposit"] == "99.90"
