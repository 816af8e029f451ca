"""The plugin manager: one per app instance. It loads the plugins named in settings (the
built-in package first) and the `anju.plugins` entry-point group, calls their registration
hooks once, and gives the engine an `Extensions`.

A plugin that cannot be imported, raises in a hook or returns the wrong thing is listed as
failed with its error, contributes nothing, and the platform starts without it.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from engine.expressions import Function, FunctionRegistry, builtin_functions
from engine.extensions import LIFECYCLE, Extensions, FieldType, FlowAction, Listener, PluginInfo
from engine.flows.checks import Check
from engine.settings import Settings
from plugins import hookspecs

ENTRY_POINT_GROUP = "anju.plugins"
log = logging.getLogger("anju.plugins")


@dataclass
class Candidate:
    """A plugin found but not yet registered."""

    name: str
    version: str
    source: Any  # PluginInfo.source
    module: str
    load: Callable[[], Any]


@dataclass
class Contribution:
    """What one plugin's registration hooks returned, merged only if all of them worked."""

    field_types: list[FieldType] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    actions: list[FlowAction] = field(default_factory=list)
    routes: list[Any] = field(default_factory=list)
    connectors: dict[str, Any] = field(default_factory=dict)
    device_drivers: dict[str, Any] = field(default_factory=dict)
    job_modules: list[str] = field(default_factory=list)
    services: list[Any] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)


REGISTRATION: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "anju_field_types": ("field_types", FieldType),
    "anju_functions": ("functions", Function),
    "anju_checks": ("checks", Check),
    "anju_flow_actions": ("actions", FlowAction),
    "anju_routes": ("routes", object),
    "anju_connectors": ("connectors", object),
    "anju_device_drivers": ("device_drivers", object),
    "anju_job_modules": ("job_modules", str),
    "anju_services": ("services", object),
}


def create_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    return manager


def build_extensions(settings: Settings) -> Extensions:
    """Load every plugin, call its registration hooks and merge what worked."""
    manager = create_manager()
    extensions = Extensions(functions=builtin_functions())
    for candidate in find_plugins(settings):
        info = PluginInfo(candidate.name, candidate.version, candidate.source, candidate.module)
        if candidate.name in settings.plugins_disabled:
            log.info("plugin %s is disabled by ANJU_PLUGINS_DISABLED", candidate.name)
            continue
        if extensions.plugin(candidate.name) is not None:
            extensions.plugins.append(_failed(info, "another plugin has this name"))
            continue
        try:
            plugin = candidate.load()
            manager.register(plugin, name=candidate.name)
            manager.check_pending()  # a misspelt hook (`anju_check`) is an error, not ignored
            contribution = _contribution(manager, candidate.name, settings)
            _merge(extensions, candidate, contribution)
        except Exception as exc:  # a broken plugin must not take the platform down
            if manager.has_plugin(candidate.name):
                manager.unregister(name=candidate.name)
            extensions.plugins.append(_failed(info, f"{type(exc).__name__}: {exc}"))
            continue
        description = (getattr(plugin, "__doc__", None) or "").strip().split("\n")[0]
        hooks = tuple(sorted(_implementations(manager, candidate.name)))
        extensions.plugins.append(replace(info, hooks=hooks, description=description))
    return extensions


def _failed(info: PluginInfo, error: str) -> PluginInfo:
    log.error("plugin %s (%s) is not loaded: %s", info.name, info.module, error)
    return replace(info, status="failed", error=error)


def find_plugins(settings: Settings) -> Iterator[Candidate]:
    """The plugins of `settings.plugins` (a package listing `PLUGINS` stands for its
    modules), then the `anju.plugins` entry points."""
    for name in settings.plugins:
        yield from _named(name)
    if settings.plugin_entry_points:
        for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
            version = entry.dist.version if entry.dist is not None else "unknown"
            yield Candidate(entry.name, version, "entry point", entry.value, entry.load)


def _named(module_name: str) -> Iterator[Candidate]:
    builtin = module_name == "plugins.builtin" or module_name.startswith("plugins.builtin.")
    source = "builtin" if builtin else "settings"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:

        def fail(exc: Exception = exc) -> Any:
            raise exc

        name = module_name.rsplit(".", 1)[-1] if builtin else module_name
        version = _distribution_version("anju") if builtin else "unknown"
        yield Candidate(name, version, source, module_name, fail)
        return
    listed = getattr(module, "PLUGINS", None)
    if listed is not None:
        for inner in listed:
            yield from _named(inner)
        return
    name = getattr(module, "PLUGIN_NAME", module_name.rsplit(".", 1)[-1])
    yield Candidate(name, _version_of(module, builtin), source, module_name, lambda: module)


def _version_of(module: ModuleType, builtin: bool) -> str:
    if builtin:
        return _distribution_version("anju")
    declared = getattr(module, "__version__", None)
    if declared:
        return str(declared)
    top = module.__name__.split(".")[0]
    for distribution in metadata.packages_distributions().get(top, []):
        return _distribution_version(distribution)
    return "unknown"


def _distribution_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def _implementations(manager: pluggy.PluginManager, name: str) -> dict[str, Callable[..., Any]]:
    """The hook functions plugin `name` implements, by hook (`specname=` respected)."""
    plugin = manager.get_plugin(name)
    found = {}
    for caller in manager.get_hookcallers(plugin) or []:
        for implementation in caller.get_hookimpls():
            if implementation.plugin_name == name:
                found[caller.name] = implementation.function
    return found


def _contribution(manager: pluggy.PluginManager, name: str, settings: Settings) -> Contribution:
    """Call each registration hook of plugin `name` alone and check what it returns; collect
    its lifecycle listeners."""
    implemented = _implementations(manager, name)
    contribution = Contribution()
    for hook, (slot, kind) in REGISTRATION.items():
        if hook not in implemented:
            continue
        returned = implemented[hook](settings=settings)
        if returned is None:
            continue
        target = getattr(contribution, slot)
        if isinstance(target, dict):
            if not isinstance(returned, dict):
                raise TypeError(f"{hook} must return a dict, not {type(returned).__name__}")
            target.update(returned)
            continue
        if not isinstance(returned, list | tuple):
            raise TypeError(f"{hook} must return a list, not {type(returned).__name__}")
        for item in returned:
            if not isinstance(item, kind):
                expected = getattr(kind, "__name__", str(kind))
                raise TypeError(f"{hook} returned {type(item).__name__}, not {expected}")
            target.append(item)
    for when in LIFECYCLE:
        function = implemented.get(f"anju_{when}")
        if function is not None:
            contribution.listeners.append(Listener(name, when, function))
    return contribution


def _merge(extensions: Extensions, candidate: Candidate, contribution: Contribution) -> None:
    """Add a plugin's contribution whole, or nothing if any of its names is taken (by another
    plugin, by the platform, or twice by itself)."""
    name = candidate.name
    functions = FunctionRegistry(extensions.functions)
    for function in contribution.functions:
        functions.register(function)  # raises on a taken or reserved name: nothing merged yet
    _unique("field type", [t.name for t in contribution.field_types], extensions.field_types)
    _unique("check", [c.name for c in contribution.checks], extensions.checks)
    _unique("action", [a.name for a in contribution.actions], extensions.actions)
    extensions.functions = functions
    for field_type in contribution.field_types:
        extensions.field_types[field_type.name] = replace(field_type, plugin=name)
    for check in contribution.checks:
        stamped = replace(check, plugin=name, plugin_version=candidate.version)
        extensions.checks[check.name] = stamped
    for action in contribution.actions:
        extensions.actions[action.name] = replace(action, plugin=name)
    for listener in contribution.listeners:
        extensions.listeners.setdefault(listener.when, []).append(listener)
    extensions.routes.extend(contribution.routes)
    extensions.connectors.update(contribution.connectors)
    extensions.device_drivers.update(contribution.device_drivers)
    extensions.job_modules.extend(contribution.job_modules)
    extensions.services.extend(contribution.services)


def _unique(kind: str, names: list[str], taken: Mapping[str, Any]) -> None:
    clashes = sorted({n for n in names if n in taken or names.count(n) > 1})
    if clashes:
        raise ValueError(f"already registered: {', '.join(f'{kind} {n!r}' for n in clashes)}")
