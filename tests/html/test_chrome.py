"""The menus every screen shows are kept per catalog version, roles and language: each user
still sees only what their roles may open, and a published change shows at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.catalog import Catalog
from engine.permissions.menus import menus_for
from engine.principal import Principal
from engine.runtime import Runtime
from renderers.app import create_app
from tests.databases import estate_settings
from tests.definitions import entity, estate, write_folder
from tests.html.browsing import browse
from tests.identity import USER_PASSWORD, authorize, create_user

ADMIN = Principal("admin", roles=("admin",), user_id=1)
CLERK = Principal("clerk1", roles=("clerk",), user_id=2)


def folder() -> dict[str, Any]:
    """Estate, where a clerk may read units only."""
    definitions = estate()
    definitions["estate/roles.yaml"]["roles"]["clerk"] = {"label": "文员"}
    entity(definitions, "unit")["permissions"] = {"clerk": {"actions": ["read"]}}
    return definitions


@pytest.fixture
def client(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    settings = estate_settings(tmp_path, database_url)
    write_folder(settings.apps_config, folder())
    with TestClient(create_app(settings)) as test_client:
        authorize(test_client)
        create_user(test_client, "clerk1", "clerk")
        yield test_client


def runtime_of(client: TestClient) -> Runtime:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def labels(catalog: Catalog, principal: Principal, language: str = "zh") -> list[str]:
    return [e["label"] for app in menus_for(catalog, principal, language) for e in app["entities"]]


def test_each_role_keeps_its_own_menus(client: TestClient) -> None:
    catalog = runtime_of(client).require_catalog()

    assert labels(catalog, ADMIN) == ["楼栋", "inspection", "meter", "房屋"]
    assert labels(catalog, CLERK) == ["房屋"]
    assert labels(catalog, ADMIN) == ["楼栋", "inspection", "meter", "房屋"]  # kept, not mixed
    assert labels(catalog, CLERK, "en") == ["Unit"]


def test_changing_the_menus_given_changes_nothing_kept(client: TestClient) -> None:
    catalog = runtime_of(client).require_catalog()
    menus = menus_for(catalog, CLERK)
    menus[0]["entities"][0]["actions"].append("delete")
    menus[0]["entities"].clear()

    again = menus_for(catalog, CLERK)
    assert [(e["label"], e["actions"]) for e in again[0]["entities"]] == [("房屋", ["read"])]


def test_a_published_change_shows_in_the_menus_at_once(client: TestClient) -> None:
    runtime = runtime_of(client)
    before = runtime.require_catalog()
    assert labels(before, CLERK) == ["房屋"]
    contents = dict(before.definitions.contents)
    key = ("estate", "entity", "unit")
    contents[key] = {**contents[key], "label": {"zh": "住房", "en": "Home"}}

    runtime.publish_contents(contents, "admin", "rename units")

    assert labels(runtime.require_catalog(), CLERK) == ["住房"]


def test_every_user_sees_only_the_menus_of_their_roles(client: TestClient) -> None:
    admin = browse(client).get("/estate/unit").text  # type: ignore[attr-defined]
    clerk = browse(client, "clerk1", USER_PASSWORD).get("/estate/unit").text  # type: ignore[attr-defined]

    assert 'href="/estate/building"' in admin
    assert 'href="/estate/building"' not in clerk
    assert '<a href="/estate/unit" aria-current="page">房屋</a>' in clerk
