"""What plugins add to one app instance: the registries the engine reads.

The engine never imports a plugin. The plugin manager (`plugins/manager.py`, named by the
`plugin_loader` setting) calls every plugin's hooks once at start and hands the engine an
`Extensions`: field types, expression functions, checks, flow actions, record lifecycle
listeners, routes, connectors and device drivers, each tagged with the plugin it came from.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from engine.expressions import FunctionRegistry, builtin_functions

if TYPE_CHECKING:
    from engine.flows.actions_api import ActionContext
    from engine.flows.checks import Check
    from engine.settings import Settings


@dataclass(frozen=True)
class PluginInfo:
    """One plugin as `GET /api/meta/plugins` lists it."""

    name: str
    version: str
    source: Literal["builtin", "entry point", "settings"]
    module: str
    status: Literal["active", "failed"] = "active"
    error: str | None = None
    hooks: tuple[str, ...] = ()
    description: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "module": self.module,
            "status": self.status,
            "error": self.error,
            "hooks": list(self.hooks),
            "description": self.description,
        }


@dataclass(frozen=True)
class FieldType:
    """A field type a plugin adds (`type: id_number` in an entity): stored as text of at most
    `max_length` characters. `normalize(text)` gives the stored form or raises `ValueError`
    with a message for the user; `mask` (`6*4`) is how the value shows to roles that may not
    read it, unless the field sets its own; `sensitive` fields are encrypted at rest."""

    name: str
    max_length: int
    normalize: Callable[[str], str]
    mask: str | None = None
    sensitive: bool = False
    description: str = ""
    plugin: str = ""


@dataclass(frozen=True)
class FlowAction:
    """An action a flow runs by name: `{call: lottery.draw, with: {round: id}}`. `run(context)`
    works inside the transition's transaction through `ActionContext`; raising
    `engine.errors.ValidationFailed` or `Conflict` refuses the transition."""

    name: str
    run: Callable[[ActionContext], None]
    description: str = ""
    plugin: str = ""


@dataclass(frozen=True)
class Listener:
    """A record lifecycle hook of one plugin: `when` is before_save, after_save,
    before_delete or after_delete."""

    plugin: str
    when: str
    function: Callable[..., Any]


LIFECYCLE = ("before_save", "after_save", "before_delete", "after_delete")


@dataclass
class Extensions:
    plugins: list[PluginInfo] = field(default_factory=list)
    field_types: dict[str, FieldType] = field(default_factory=dict)
    functions: FunctionRegistry = field(default_factory=builtin_functions)
    checks: dict[str, Check] = field(default_factory=dict)
    actions: dict[str, FlowAction] = field(default_factory=dict)
    listeners: dict[str, list[Listener]] = field(default_factory=dict)
    routes: list[Any] = field(default_factory=list)  # starlette routes, mounted by the app
    connectors: dict[str, Any] = field(default_factory=dict)
    device_drivers: dict[str, Any] = field(default_factory=dict)
    job_modules: list[str] = field(default_factory=list)
    services: list[Any] = field(default_factory=list)  # with name, start(runtime), stop()

    def listening(self, when: str) -> list[Listener]:
        return self.listeners.get(when, [])

    def plugin(self, name: str) -> PluginInfo | None:
        return next((p for p in self.plugins if p.name == name), None)


def load_extensions(settings: Settings) -> Extensions:
    """The extensions the loader named in `settings.plugin_loader` builds: a module with
    `build_extensions(settings) -> Extensions`. An empty loader means no plugins at all."""
    if not settings.plugin_loader:
        return Extensions()
    loader = importlib.import_module(settings.plugin_loader)
    built = loader.build_extensions(settings)
    if not isinstance(built, Extensions):
        raise TypeError(f"{settings.plugin_loader}.build_extensions gave no Extensions")
    return built
