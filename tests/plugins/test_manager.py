"""The plugin manager (`plugins/manager.py`) and what plugins reach through the app: loading and
listing, broken plugins isolated, disabled plugins, record lifecycle hooks, plugin routes,
and re-running a stored check decision.

Test plugins are modules written into `tmp_path` and put on `sys.path`, named in the
`plugins` setting as an installation names its own.
"""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import plugins.builtin
from engine.extensions import Extensions, PluginInfo
from engine.settings import Settings
from plugins.manager import build_extensions
from renderers.app import create_app
from tests.databases import estate_settings
from tests.flows import permit_client, permit_settings
from tests.identity import anonymous, authorize, client_as, create_org

WritePlugin = Callable[[str], str]


@pytest.fixture
def write_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WritePlugin]:
    """Write a plugin module's source into `tmp_path`, importable; give back its name (unique,
    so that no test imports another's module from `sys.modules`)."""
    folder = tmp_path / "plugin_modules"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    written: list[str] = []

    def write(source: str) -> str:
        name = f"plugin_{uuid.uuid4().hex[:8]}"
        (folder / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)


def extensions_of(*modules: str) -> Extensions:
    """What the manager builds from `modules` alone, without entry points or a database."""
    return build_extensions(Settings(plugins=list(modules), plugin_entry_points=False))


def listed(extensions: Extensions, name: str) -> PluginInfo:
    found = extensions.plugin(name)
    assert found is not None, f"{name} is not listed: {[p.name for p in extensions.plugins]}"
    return found


@contextmanager
def serving(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        authorize(client)
        yield client


# a plugin that contributes a field type and a listener, then (in the cases below) fails
HEALTHY_PART = """
    from engine.extensions import FieldType, FlowAction
    from engine.flows.checks import Check, CheckResult
    from plugins.hookspecs import hookimpl

    @hookimpl
    def anju_field_types(settings):
        return [FieldType(f"type_of_{__name__}", 20, str.strip)]

    @hookimpl
    def anju_before_save(event):
        raise RuntimeError("a failed plugin's listener must never be called")

    def check(name):
        return Check(name, lambda given: {}, lambda inputs, params, today: CheckResult(True))
"""

# a broken plugin's source (after HEALTHY_PART, unless it fails at import) and its error
BROKEN: dict[str, tuple[str, str]] = {
    "raises-at-import": (
        'raise RuntimeError("the licence file is missing")\n',
        "RuntimeError: the licence file is missing",
    ),
    "raises-in-anju_checks": (
        """
        @hookimpl
        def anju_checks(settings):
            return [check("ok")] + settings.no_such_setting
        """,
        "AttributeError: 'Settings' object has no attribute 'no_such_setting'",
    ),
    "returns-no-list": (
        """
        @hookimpl
        def anju_checks(settings):
            return check("alone")
        """,
        "anju_checks must return a list, not Check",
    ),
    "returns-the-wrong-items": (
        """
        @hookimpl
        def anju_flow_actions(settings):
            return ["lottery.draw"]
        """,
        "anju_flow_actions returned str, not FlowAction",
    ),
    "returns-no-dict": (
        """
        @hookimpl
        def anju_connectors(settings):
            return ["sms"]
        """,
        "anju_connectors must return a dict, not list",
    ),
    "takes-arguments-the-hook-does-not-give": (
        """
        @hookimpl
        def anju_checks(config):
            return [check("ok")]
        """,
        "Argument(s) {'config'} are declared in the hookimpl but can not be found in the hookspec",
    ),
    "registers-a-check-name-already-taken": (
        """
        @hookimpl
        def anju_checks(settings):
            return [check("amount_ok")]
        """,
        "already registered: check 'amount_ok'",
    ),
}


def broken_plugin(write_plugin: WritePlugin, failing: str) -> str:
    if failing.startswith("raise"):
        return write_plugin(failing)
    return write_plugin(textwrap.dedent(HEALTHY_PART) + textwrap.dedent(failing))


def test_the_builtin_plugins_are_listed_with_the_platform_version() -> None:
    extensions = extensions_of("plugins.builtin")

    assert [p.module for p in extensions.plugins] == list(plugins.builtin.PLUGINS)
    assert {(p.source, p.version) for p in extensions.plugins} == {
        ("builtin", metadata.version("anju"))
    }


def test_every_builtin_plugin_loads() -> None:
    extensions = extensions_of("plugins.builtin")

    assert {p.name: p.error for p in extensions.plugins if p.status != "active"} == {}


@pytest.mark.parametrize(("failing", "error"), list(BROKEN.values()), ids=list(BROKEN))
def test_a_broken_plugin_is_listed_as_failed_and_contributes_nothing(
    write_plugin: WritePlugin, failing: str, error: str
) -> None:
    name = broken_plugin(write_plugin, failing)

    extensions = extensions_of("tests.flows", name)

    broken = listed(extensions, name)
    assert (broken.status, broken.module, broken.source) == ("failed", name, "settings")
    assert broken.error is not None and error in broken.error
    assert f"type_of_{name}" not in extensions.field_types
    assert {c.plugin for c in extensions.checks.values()} == {"permit_checks"}
    assert [listener.plugin for listener in extensions.listening("before_save")] == []
    assert listed(extensions, "permit_checks").status == "active"


def test_two_plugins_of_one_name_keep_the_first(write_plugin: WritePlugin) -> None:
    twin = write_plugin('PLUGIN_NAME = "permit_checks"\n')

    extensions = extensions_of("tests.flows", twin)

    first, second = [p for p in extensions.plugins if p.name == "permit_checks"]
    assert (first.status, first.module) == ("active", "tests.flows")
    assert (second.status, second.module) == ("failed", twin)
    assert second.error == "another plugin has this name"


def test_a_plugin_is_listed_with_its_hooks_version_and_description(
    write_plugin: WritePlugin,
) -> None:
    name = write_plugin(
        '''
        """Rent arrears reminders for the operating enterprises.

        More lines that the listing leaves out.
        """
        from plugins.hookspecs import hookimpl

        __version__ = "2.3.1"

        @hookimpl
        def anju_job_modules(settings):
            return []

        @hookimpl
        def anju_after_save(event):
            pass
        '''
    )

    plugin = listed(extensions_of(name), name)

    assert plugin.as_json() == {
        "name": name,
        "version": "2.3.1",
        "source": "settings",
        "module": name,
        "status": "active",
        "error": None,
        "hooks": ["anju_after_save", "anju_job_modules"],
        "description": "Rent arrears reminders for the operating enterprises.",
    }


def test_a_plugin_refused_for_a_reserved_function_name_contributes_nothing(
    write_plugin: WritePlugin,
) -> None:
    name = write_plugin(
        textwrap.dedent(HEALTHY_PART)
        + textwrap.dedent(
            """
            from engine.expressions import Function

            @hookimpl
            def anju_functions(settings):
                return [Function("count", (1, 1), lambda types, args: types[0], len)]
            """
        )
    )

    extensions = extensions_of(name)

    assert listed(extensions, name).status == "failed"
    assert f"type_of_{name}" not in extensions.field_types


def test_a_lifecycle_hook_may_be_named_by_specname(write_plugin: WritePlugin) -> None:
    name = write_plugin(
        """
        from plugins.hookspecs import hookimpl

        @hookimpl(specname="anju_before_save")
        def capital_codes(event):
            pass
        """
    )

    extensions = extensions_of(name)

    assert listed(extensions, name).hooks == ("anju_before_save",)
    assert [listener.plugin for listener in extensions.listening("before_save")] == [name]


def test_anju_plugins_disabled_leaves_a_plugin_out(
    write_plugin: WritePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = write_plugin('raise RuntimeError("never imported")\n')
    monkeypatch.setenv("ANJU_PLUGINS_DISABLED", f'["permit_checks", "{broken}"]')

    extensions = extensions_of("tests.flows", broken)

    assert extensions.plugins == []
    assert extensions.checks == {}


def test_the_platform_starts_and_serves_with_broken_plugins(
    tmp_path: Path, database_url: str | None, write_plugin: WritePlugin
) -> None:
    broken = [broken_plugin(write_plugin, failing) for failing, _ in BROKEN.values()]
    settings = estate_settings(
        tmp_path, database_url, plugins=["plugins.builtin", "tests.flows", *broken]
    )

    with serving(settings) as client:
        assert client.get("/-/health").status_code == 200
        items = {p["name"]: p for p in client.get("/api/meta/plugins").json()["items"]}
        created = client.post("/api/estate/building", json={"name": "A 栋"})

    assert {name: items[name]["status"] for name in broken} == dict.fromkeys(broken, "failed")
    for name, (_, error) in zip(broken, BROKEN.values(), strict=True):
        assert error in items[name]["error"]
    assert items["permit_checks"]["status"] == "active"
    assert created.status_code == 201, created.text  # no failed plugin's listener ran


LIFECYCLE_PLUGIN = """
    '''Building rules: codes in capitals, a reserved name, and a failing after_save.'''
    from engine.errors import Conflict, ValidationFailed, field_error
    from plugins.hookspecs import hookimpl

    PLUGIN_NAME = "building_rules"

    @hookimpl
    def anju_before_save(event):
        if event.path != "estate.building":
            return
        if event.values.get("code"):
            event.values["code"] = event.values["code"].upper()
        if event.values.get("name") == "forbidden":
            problem = field_error("name", "this name is reserved")
            raise ValidationFailed("the building is not valid", [problem])
        if event.values.get("name") == "stretch":
            event.values["code"] = "长" * 30  # the field holds 20 characters

    @hookimpl
    def anju_after_save(event):
        if event.path == "estate.building" and event.values.get("name") == "boom":
            raise RuntimeError("the registry is unreachable")

    @hookimpl
    def anju_before_delete(event):
        if event.path == "estate.building" and event.before["name"] == "keep":
            raise Conflict("this building is kept")
"""


@pytest.fixture
def with_rules(
    tmp_path: Path, database_url: str | None, write_plugin: WritePlugin
) -> Iterator[TestClient]:
    """The estate app with the `building_rules` plugin, as admin."""
    rules = write_plugin(LIFECYCLE_PLUGIN)
    settings = estate_settings(tmp_path, database_url, plugins=["plugins.builtin", rules])
    with serving(settings) as client:
        yield client


def buildings_named(client: TestClient, name: str) -> int:
    count: int = client.get("/api/estate/building", params={"name": name}).json()["count"]
    return count


def test_a_before_save_hook_changes_what_is_written(with_rules: TestClient) -> None:
    created = with_rules.post("/api/estate/building", json={"name": "A 栋", "code": "b-1"})
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "B-1"

    changed = with_rules.patch(f"/api/estate/building/{created.json()['id']}", json={"code": "c-2"})

    assert changed.json()["code"] == "C-2"


def test_a_before_save_hook_refuses_with_the_field(with_rules: TestClient) -> None:
    refused = with_rules.post("/api/estate/building", json={"name": "forbidden"})

    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [
        {"path": "name", "message": "this name is reserved"}
    ]
    assert buildings_named(with_rules, "forbidden") == 0


def test_a_value_a_before_save_hook_sets_is_checked_like_input(with_rules: TestClient) -> None:
    refused = with_rules.post("/api/estate/building", json={"name": "stretch", "code": "s-1"})

    assert refused.status_code == 422
    [detail] = refused.json()["error"]["details"]
    assert detail["path"] == "code" and "does not fit" in detail["message"]
    assert buildings_named(with_rules, "stretch") == 0


def test_a_hook_that_raises_fails_the_write_with_a_json_500_naming_the_plugin(
    with_rules: TestClient,
) -> None:
    failed = with_rules.post("/api/estate/building", json={"name": "boom"})

    assert failed.status_code == 500
    error = failed.json()["error"]
    assert error["code"] == "plugin_error"
    assert "'building_rules'" in error["message"]
    assert "anju_after_save" in error["message"]
    assert "RuntimeError: the registry is unreachable" in error["message"]
    assert buildings_named(with_rules, "boom") == 0


def test_a_before_delete_hook_refuses_a_delete(with_rules: TestClient) -> None:
    kept = with_rules.post("/api/estate/building", json={"name": "keep"}).json()

    refused = with_rules.delete(f"/api/estate/building/{kept['id']}")

    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == "this building is kept"
    assert buildings_named(with_rules, "keep") == 1


ROUTES_PLUGIN = """
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route
    from plugins.hookspecs import hookimpl

    PLUGIN_NAME = "pages"

    async def hello(request):
        return PlainTextResponse("一房一码")

    async def names(request):
        plugins = request.app.state.runtime.extensions.plugins
        return JSONResponse({"plugins": [plugin.name for plugin in plugins]})

    async def fake_health(request):
        return PlainTextResponse("a plugin's health")

    @hookimpl
    def anju_routes(settings):
        return [
            Route("/public/hello", hello),
            Route("/api/plugins/pages/names", names),
            Route("/api/pages/elsewhere", names),
            Route("/-/health", fake_health, methods=["POST"]),
        ]
"""


def test_plugin_routes_are_served_and_ones_outside_their_prefixes_are_not(
    tmp_path: Path, database_url: str | None, write_plugin: WritePlugin
) -> None:
    pages = write_plugin(ROUTES_PLUGIN)
    settings = estate_settings(tmp_path, database_url, plugins=[pages])

    with serving(settings) as client:
        stranger = anonymous(client)
        public = stranger.get("/public/hello")
        private = stranger.get("/api/plugins/pages/names")
        named = client.get("/api/plugins/pages/names")
        elsewhere = client.get("/api/pages/elsewhere")
        clash = client.post("/-/health")
        health = client.get("/-/health")
        paths = [getattr(route, "path", None) for route in client.app.routes]  # type: ignore[attr-defined]

    assert (public.status_code, public.text) == (200, "一房一码")
    assert private.status_code == 401
    assert "pages" in named.json()["plugins"]
    assert elsewhere.status_code == 404  # outside /api/plugins/ and /public/: not mounted
    assert clash.status_code == 405
    assert health.json()["status"] == "ok"
    assert paths.count("/-/health") == 1


def test_a_plugin_route_does_not_shadow_an_entity(
    tmp_path: Path, database_url: str | None, write_plugin: WritePlugin
) -> None:
    shadow = write_plugin(
        """
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route
        from plugins.hookspecs import hookimpl

        async def mine(request):
            return PlainTextResponse("the plugin's answer")

        @hookimpl
        def anju_routes(settings):
            return [Route("/api/estate/{entity}", mine)]
        """
    )
    settings = estate_settings(tmp_path, database_url, plugins=[shadow])

    with serving(settings) as client:
        buildings = client.get("/api/estate/building")

    assert buildings.text != "the plugin's answer"
    assert buildings.json()["items"] == []


@pytest.fixture
def permits(tmp_path: Path, database_url: str | None) -> Iterator[tuple[TestClient, TestClient]]:
    """The permit flow (tests/flows.py), with its check `amount_ok`: admin and a clerk."""
    with permit_client(permit_settings(tmp_path, database_url)) as (admin, _runtime, _clock):
        street = create_org(admin, "S01", "street")
        yield admin, client_as(admin, "clerk1", "clerk", org_id=street["id"])


def checked_permit(clerk: TestClient, amount: int) -> dict[str, Any]:
    """A permit taken through `checking`: its stored `amount_ok` decision."""
    permit = clerk.post("/api/estate/permit", json={"title": "Shop sign", "amount": amount})
    moved = clerk.post(f"/api/estate/permit/{permit.json()['id']}/transitions/submit", json={})
    assert moved.status_code == 200, moved.text
    report: dict[str, Any] = moved.json()["check_report"]
    return report


def test_a_stored_decision_reruns_to_the_same_verdict(
    permits: tuple[TestClient, TestClient],
) -> None:
    admin, clerk = permits
    stored = checked_permit(clerk, 500)

    rerun = admin.post("/api/checks/rerun", json=stored)

    assert rerun.status_code == 200, rerun.text
    assert rerun.json()["same"] is True
    assert rerun.json()["notes"] == []
    assert rerun.json()["now"] == stored


def test_a_stored_decision_with_other_inputs_is_judged_otherwise(
    permits: tuple[TestClient, TestClient],
) -> None:
    admin, clerk = permits
    stored = checked_permit(clerk, 500)

    altered = {**stored, "inputs": {**stored["inputs"], "amount": 5000}}
    rerun = admin.post("/api/checks/rerun", json=altered).json()

    assert rerun["same"] is False
    assert rerun["now"]["passed"] is False
    assert rerun["now"]["reasons"] == ["amount 5000 is above the limit"]


@pytest.mark.parametrize(
    ("change", "status", "paths"),
    [
        ({"check": "no_such_check"}, 404, []),
        ({"check": None, "today": None}, 422, ["check", "today"]),
        ({"inputs": {}}, 422, ["inputs"]),  # decide cannot judge them: no amount
    ],
)
def test_a_decision_that_cannot_be_rerun_says_why(
    permits: tuple[TestClient, TestClient],
    change: dict[str, Any],
    status: int,
    paths: list[str],
) -> None:
    admin, clerk = permits
    stored = checked_permit(clerk, 500)
    body = {k: v for k, v in {**stored, **change}.items() if v is not None}

    refused = admin.post("/api/checks/rerun", json=body)

    assert refused.status_code == status, refused.text
    assert [d["path"] for d in refused.json()["error"]["details"]] == paths
