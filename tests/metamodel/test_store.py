"""The versioned store: numbered immutable versions, shared blobs and one shared draft."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from metamodel import store

APP = ("estate", "app", "estate")
UNIT = ("estate", "entity", "unit")
BUILDING = ("estate", "entity", "building")


def entity(*names: str) -> dict[str, Any]:
    return {"fields": {name: {"type": "string"} for name in names}}


V1 = {APP: {"name": "estate"}, UNIT: entity("code"), BUILDING: entity("name")}
V2 = {**V1, UNIT: entity("code", "rent")}
V3 = {APP: {"name": "estate"}, UNIT: entity("code", "rent")}


def publish(database: sa.Engine, *versions: dict[Any, dict[str, Any]]) -> list[store.VersionInfo]:
    with database.begin() as conn:
        return [store.write_version(conn, c, "ada", f"v{n}") for n, c in enumerate(versions, 1)]


def test_empty_store_has_no_version(database: sa.Engine) -> None:
    with database.connect() as conn:
        assert store.latest_version(conn) is None
        assert store.list_versions(conn) == []


def test_versions_are_numbered_with_parent_hash_author_and_message(database: sa.Engine) -> None:
    publish(database, V1, V2, V3)

    with database.connect() as conn:
        versions = store.list_versions(conn)

    assert [(v.version, v.parent, v.author, v.message) for v in versions] == [
        (1, None, "ada", "v1"),
        (2, 1, "ada", "v2"),
        (3, 2, "ada", "v3"),
    ]
    assert [v.hash for v in versions] == [store.set_hash(c) for c in (V1, V2, V3)]
    assert all(v.created_at.tzinfo is not None for v in versions)


def test_each_version_reads_back_exactly(database: sa.Engine) -> None:
    publish(database, V1, V2, V3)

    with database.connect() as conn:
        assert [store.read_contents(conn, n) for n in (1, 2, 3)] == [V1, V2, V3]
        assert store.latest_version(conn) == 3


def test_unchanged_definitions_share_one_blob(database: sa.Engine) -> None:
    publish(database, V1, V2, V3)

    with database.connect() as conn:
        blobs = conn.execute(sa.select(sa.func.count()).select_from(store.blobs)).scalar()

    assert blobs == 4  # app, building, unit v1, unit v2


def test_equal_contents_have_equal_version_hashes(database: sa.Engine) -> None:
    first, second = publish(database, V1, dict(reversed(V1.items())))

    assert first.hash == second.hash


def test_version_info_is_json_for_the_api(database: sa.Engine) -> None:
    [info] = publish(database, V1)

    assert set(info.as_json()) == {"version", "parent", "author", "created_at", "message", "hash"}
    assert info.as_json()["created_at"].endswith("+00:00")


def test_draft_overlays_the_published_contents(database: sa.Engine) -> None:
    changed = entity("code", "floor")
    with database.begin() as conn:
        store.put_draft(conn, UNIT, changed, "ada")
        store.put_draft(conn, BUILDING, None, "ada")
        draft = store.read_draft(conn)

    assert draft == {UNIT: changed, BUILDING: None}
    assert store.apply_draft(V1, draft) == {APP: V1[APP], UNIT: changed}
    assert BUILDING in V1  # the published contents stay as they were


def test_putting_a_draft_again_replaces_it(database: sa.Engine) -> None:
    with database.begin() as conn:
        store.put_draft(conn, UNIT, entity("a"), "ada")
        store.put_draft(conn, UNIT, entity("b"), "grace")
        assert store.read_draft(conn) == {UNIT: entity("b")}


def test_discarding_one_draft_keeps_the_others(database: sa.Engine) -> None:
    with database.begin() as conn:
        store.put_draft(conn, UNIT, entity("a"), "ada")
        store.put_draft(conn, BUILDING, None, "ada")
        store.discard_draft(conn, UNIT)
        assert store.read_draft(conn) == {BUILDING: None}
        store.discard_draft(conn)
        assert store.read_draft(conn) == {}
