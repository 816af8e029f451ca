"""Semantic checks of device types and device rules that a schema cannot express, each
naming its file and path: device type names are unique across apps; a telemetry `enum`
only on strings, `min` not above `max`; a rule's device type exists; its condition reads
only fields its type reports (`values.x`, `previous.x`, `delta.x` of cumulative fields,
`baseline.x` of number fields); its commands exist on the type they target; its recipients'
roles are declared; its name does not clash with an alert rule of its app (both open
alerts under the app and rule name).

The condition's full type check (every name, every type, a true-or-false result) runs in
the engine as definitions load (`engine/expressions/device_expressions.py`), after these.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from metamodel.alert_checks import known_roles, template_problem
from metamodel.definitions import Definitions, Key
from metamodel.devices import DeviceRule, DeviceType
from metamodel.errors import DefinitionError

Report = Callable[[Key, tuple[Any, ...], str], DefinitionError]
Problems = list[tuple[tuple[Any, ...], str]]
READS = re.compile(r"\b(values|previous|delta|baseline)\.([A-Za-z_][A-Za-z0-9_]*)")


def check_devices(definitions: Definitions, report: Report) -> list[DefinitionError]:
    """Every problem of every `device_types/` and `device_rules/` file."""
    errors: list[DefinitionError] = []
    owners: dict[str, str] = {}
    for app, bundle in definitions.apps.items():
        for name, device_type in bundle.device_types.items():
            key = (app, "device_type", name)
            if name in owners:
                message = f"device type {name!r} is also defined by app {owners[name]!r}"
                errors.append(report(key, ("name",), message))
            owners.setdefault(name, app)
            errors += [report(key, p, m) for p, m in type_problems(device_type)]
    roles = known_roles(definitions)
    for app, bundle in definitions.apps.items():
        for name, rule in bundle.device_rules.items():
            key = (app, "device_rule", name)
            problems = rule_problems(definitions, app, rule, roles)
            if name in bundle.alerts:
                problems.append((("name",), f"an alert rule of {app!r} is also named {name!r}"))
            errors += [report(key, p, m) for p, m in problems]
    return errors


def type_problems(device_type: DeviceType) -> Problems:
    found: Problems = []
    for name, spec in device_type.telemetry.items():
        path = ("telemetry", name)
        if spec.enum is not None and spec.type != "string":
            found.append((path + ("enum",), f"only string fields take an enum, not {spec.type}"))
        if spec.cumulative and spec.type not in ("number", "integer"):
            found.append((path + ("cumulative",), "only number fields can be cumulative"))
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            found.append((path + ("min",), f"min {spec.min} is above max {spec.max}"))
    return found


def find_type(definitions: Definitions, app: str, given: str) -> DeviceType | None:
    owner, _, name = given.rpartition(".")
    bundles = [definitions.apps.get(owner)] if owner else [definitions.apps.get(app)]
    bundles += [] if owner else list(definitions.apps.values())
    for bundle in bundles:
        if bundle is not None and name in bundle.device_types:
            return bundle.device_types[name]
    return None


def rule_problems(
    definitions: Definitions, app: str, rule: DeviceRule, roles: set[str]
) -> Problems:
    found: Problems = []
    device_type = find_type(definitions, app, rule.device_type)
    if device_type is None:
        found.append((("device_type",), f"unknown device type {rule.device_type!r}"))
    elif rule.condition is not None:
        found += _condition(rule.condition, device_type)
    if rule.alert is not None:
        for i, entry in enumerate(rule.alert.recipients):
            if entry.role is not None and entry.role not in roles:
                message = f"unknown role {entry.role!r}; declare it in a roles.yaml"
                found.append((("alert", "recipients", i, "role"), message))
            if entry.org is not None:
                message = (
                    "a device rule's alert goes to role holders over the device's own "
                    "organisation; org is for alert rules and flows"
                )
                found.append((("alert", "recipients", i, "org"), message))
        for part in ("title", "body"):
            for language, source in getattr(rule.alert.message, part).items():
                problem = template_problem(source)
                if problem:
                    found.append((("alert", "message", part, language), problem))
    for i, command in enumerate(rule.commands):
        path = ("commands", i)
        target = device_type
        if command.device_type is not None:
            if command.target != "unit":
                found.append((path + ("device_type",), "only a `unit` target names a type"))
            target = find_type(definitions, app, command.device_type)
            if target is None:
                message = f"unknown device type {command.device_type!r}"
                found.append((path + ("device_type",), message))
                continue
        if (
            target is not None
            and command.command not in target.commands
            and (command.target == "device" or command.device_type is not None)
        ):
            offered = ", ".join(target.commands) or "none"
            message = f"{target.name} has no command {command.command!r} (it has {offered})"
            found.append((path + ("command",), message))
    return found


def _condition(source: str, device_type: DeviceType) -> Problems:
    found: Problems = []
    for variable, name in READS.findall(source):
        spec = device_type.telemetry.get(name)
        if spec is None:
            message = f"{variable}.{name}: {device_type.name} reports no field {name!r}"
        elif variable == "delta" and not spec.cumulative:
            message = f"delta.{name}: only cumulative fields have a delta"
        elif variable == "baseline" and spec.type != "number":
            message = f"baseline.{name}: only number fields have a baseline"
        else:
            continue
        found.append((("condition",), message))
    return found
