"""Semantic checks that a schema cannot express: references resolve, names are free and unique."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from metamodel.alert_checks import check_alerts
from metamodel.definitions import Definitions, Key
from metamodel.device_checks import check_devices
from metamodel.errors import DefinitionError
from metamodel.fields import (
    DateField,
    DecimalField,
    EnumField,
    IntegerField,
    JsonField,
    ReferenceField,
    StringField,
    TextField,
)
from metamodel.flow_checks import check_flows
from metamodel.models import (
    ACTIONS,
    EXPRESSION_WORDS,
    PLATFORM_ROLES,
    RESERVED_NAMES,
    SYSTEM_COLUMNS,
    Calendar,
    Entity,
    Form,
)
from metamodel.report_checks import check_reports

Report = Callable[[Key, tuple[Any, ...], str], DefinitionError]
MAX_TABLE_NAME = 60  # PostgreSQL allows 63; leave room for suffixes of kept columns


def check_definitions(definitions: Definitions, report: Report) -> list[DefinitionError]:
    errors: list[DefinitionError] = []
    for app_name, bundle in definitions.apps.items():
        if app_name in RESERVED_NAMES:
            errors.append(
                report((app_name, "app", app_name), ("name",), f"{app_name!r} is reserved")
            )
        for entity in bundle.entities.values():
            errors.extend(_check_entity(definitions, app_name, entity, report))
        for form in bundle.forms.values():
            errors.extend(_check_form(definitions, app_name, form, report))
        for calendar in bundle.calendars.values():
            errors.extend(_check_calendar(app_name, calendar, report))
    errors.extend(check_flows(definitions, report))
    errors.extend(check_alerts(definitions, report))
    errors.extend(check_reports(definitions, report))
    errors.extend(check_devices(definitions, report))
    return errors


def _check_entity(
    definitions: Definitions, app_name: str, entity: Entity, report: Report
) -> list[DefinitionError]:
    key = (app_name, "entity", entity.name)
    errors: list[DefinitionError] = []

    def error(path: tuple[Any, ...], message: str) -> None:
        errors.append(report(key, path, message))

    if entity.name in RESERVED_NAMES:
        error(("name",), f"{entity.name!r} is reserved")
    if len(app_name) + 2 + len(entity.name) > MAX_TABLE_NAME:
        error(
            ("name",),
            f"app and entity names together must be at most {MAX_TABLE_NAME - 2} characters",
        )
    for name, spec in entity.fields.items():
        path = ("fields", name)
        if name in SYSTEM_COLUMNS:
            error(path, f"{name!r} is a system column; choose another field name")
        if name in EXPRESSION_WORDS:
            error(path, f"{name!r} is a word of the expression language; choose another name")
        if "__" in name or name.endswith("_"):
            error(
                path,
                f"{name!r} contains '__' (or ends in '_'): filters read `field__op` and the "
                "engine names its own columns `field__…`; use single underscores",
            )
        for key_name, problem in _field_problems(spec) + _computed_problems(spec):
            error(path + (key_name,), problem)
        if isinstance(spec, ReferenceField) and definitions.resolve(app_name, spec.entity) is None:
            error(path + ("entity",), f"reference to unknown entity {spec.entity!r}")
        if (spec.unique or spec.index) and isinstance(spec, JsonField):
            error(path + ("unique" if spec.unique else "index",), "json fields cannot be indexed")
    known = set(entity.fields) | set(SYSTEM_COLUMNS)
    if entity.title_field and entity.title_field not in entity.fields:
        error(("title_field",), f"unknown field {entity.title_field!r}")
    for i, name in enumerate(entity.search_fields):
        searched = entity.fields.get(name)
        if searched is None:
            error(("search_fields", i), f"unknown field {name!r}")
        elif not isinstance(searched, StringField | TextField):
            message = f"{name!r} is a {searched.type} field; text search needs string or text"
            error(("search_fields", i), message)
    for i, term in enumerate(entity.default_sort):
        if term.lstrip("-") not in known:
            error(("default_sort", i), f"unknown field {term.lstrip('-')!r}")
    for i, name in enumerate(entity.list_fields):
        if name not in entity.fields:
            error(("list_fields", i), f"unknown field {name!r}")
        elif name in entity.list_fields[:i]:
            error(("list_fields", i), f"{name!r} is listed twice")
    for i, index in enumerate(entity.indexes):
        for j, name in enumerate(index.fields):
            if name not in known:
                error(("indexes", i, "fields", j), f"unknown field {name!r}")
            elif name in entity.fields and entity.fields[name].virtual:
                error(("indexes", i, "fields", j), f"virtual field {name!r} has no column")
    for name, relation in entity.relations.items():
        found = _relation_problem(definitions, app_name, entity, name, relation)
        if found:
            error(("relations", name, *found[0]), found[1])
    for i, rule in enumerate(entity.rules):
        if rule.field is not None and rule.field not in entity.fields:
            error(("rules", i, "field"), f"unknown field {rule.field!r}")
    for path, message in _sensitive_problems(entity) + _grant_problems(definitions, entity):
        error(path, message)
    return errors


SENSITIVE_TYPES = ("string", "text", "integer", "decimal", "date")
NEEDS_READ = ("update", "delete", "export", "unmask")


def _sensitive_problems(entity: Entity) -> list[tuple[tuple[Any, ...], str]]:
    """Encrypted values cannot be searched as text, sorted, or read by SQL expressions."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    sensitive = {n for n, s in entity.fields.items() if s.sensitive}
    for name in sensitive:
        spec = entity.fields[name]
        if spec.type not in SENSITIVE_TYPES:
            allowed = ", ".join(SENSITIVE_TYPES)
            problems.append((("fields", name, "sensitive"), f"only {allowed} fields can be"))
        if spec.virtual:
            problems.append((("fields", name, "sensitive"), "a virtual field is never stored"))
    for i, name in enumerate(entity.search_fields):
        if name in sensitive:
            message = f"{name!r} is sensitive (encrypted); it is found by exact match, not search"
            problems.append((("search_fields", i), message))
    for i, term in enumerate(entity.default_sort):
        if term.lstrip("-") in sensitive:
            problems.append(
                (
                    ("default_sort", i),
                    f"{term.lstrip('-')!r} is sensitive; encrypted values cannot be sorted",
                )
            )
    for i, index in enumerate(entity.indexes):
        for j, name in enumerate(index.fields):
            if name in sensitive:
                message = f"{name!r} is sensitive; give it `index` or `unique` on the field"
                problems.append((("indexes", i, "fields", j), message))
    return problems


def _grant_problems(definitions: Definitions, entity: Entity) -> list[tuple[tuple[Any, ...], str]]:
    problems: list[tuple[tuple[Any, ...], str]] = []
    known = set(PLATFORM_ROLES)
    for bundle in definitions.apps.values():
        known.update(bundle.roles.roles)
    for role, grant in entity.permissions.items():
        where = ("permissions", role)
        if role not in known:
            problems.append((where, f"unknown role {role!r}; declare it in a roles.yaml"))
        for i, action in enumerate(grant.actions):
            if action not in ACTIONS:
                expected = ", ".join(ACTIONS)
                problems.append(
                    (where + ("actions", i), f"unknown action {action!r}; expected {expected}")
                )
        needing = [a for a in grant.actions if a in NEEDS_READ]
        if needing and "read" not in grant.actions:
            problems.append(
                (where + ("actions",), f"{needing[0]} needs read: a role changes what it sees")
            )
        for name in grant.fields:
            if name not in entity.fields:
                problems.append((where + ("fields", name), f"unknown field {name!r}"))
    return problems


def _computed_problems(spec: Any) -> list[tuple[str, str]]:
    """A computed field is never entered: no default, not required, stored unless virtual."""
    problems: list[tuple[str, str]] = []
    if spec.virtual and spec.computed is None:
        problems.append(("virtual", "only computed fields can be virtual"))
    if spec.computed is not None:
        if isinstance(spec, JsonField) or spec.type == "file":
            problems.append(("computed", f"{spec.type} fields cannot be computed"))
        if spec.required:
            problems.append(("required", "a computed field is never entered, so not required"))
        if getattr(spec, "default", None) is not None or spec.default_expression is not None:
            problems.append(("computed", "a computed field cannot also have a default"))
        if spec.virtual and (spec.unique or spec.index):
            key = "unique" if spec.unique else "index"
            problems.append((key, "a virtual field has no column to index"))
    if spec.default_expression is not None and getattr(spec, "default", None) is not None:
        problems.append(("default_expression", "give either default or default_expression"))
    return problems


def _relation_problem(
    definitions: Definitions, app_name: str, entity: Entity, name: str, relation: Any
) -> tuple[tuple[str, ...], str] | None:
    if name in entity.fields:
        return (), f"{name!r} is already a field"
    resolved = definitions.resolve(app_name, relation.entity)
    if resolved is None:
        return ("entity",), f"unknown entity {relation.entity!r}"
    target_app, target = resolved
    spec = target.fields.get(relation.field)
    if not isinstance(spec, ReferenceField):
        return ("field",), f"{target.name} has no reference field {relation.field!r}"
    pointed = definitions.resolve(target_app, spec.entity)
    if pointed is None or pointed[0] != app_name or pointed[1].name != entity.name:
        return ("field",), f"{target.name}.{relation.field} does not refer to {entity.name}"
    return None


def _check_calendar(app_name: str, calendar: Calendar, report: Report) -> list[DefinitionError]:
    key = (app_name, "calendar", calendar.name)
    errors: list[DefinitionError] = []
    for i, holiday in enumerate(calendar.holidays):
        if holiday.end is not None and holiday.end < holiday.start:
            errors.append(report(key, ("holidays", i, "end"), "end is before start"))
    for i, day in enumerate(calendar.workdays):
        if day.isoweekday() not in calendar.weekend:
            message = f"{day} is not a weekend day, so it is a working day already"
            errors.append(report(key, ("workdays", i), message))
    return errors


def _field_problems(spec: Any) -> list[tuple[str, str]]:
    """Problems inside one field definition, as (key, message)."""
    problems: list[tuple[str, str]] = []
    low, high = getattr(spec, "min", None), getattr(spec, "max", None)
    if low is not None and high is not None and low > high:
        problems.append(("min", f"min {low} is greater than max {high}"))
    if isinstance(spec, StringField):
        if spec.pattern is not None:
            try:
                re.compile(spec.pattern)
            except re.error as exc:
                problems.append(("pattern", f"not a valid regular expression: {exc}"))
        if spec.min_length is not None and spec.min_length > spec.max_length:
            problems.append(("min_length", "min_length is greater than max_length"))
    if isinstance(spec, EnumField):
        seen: set[str] = set()
        for i, option in enumerate(spec.options):
            if option.value in seen:
                problems.append((f"options[{i}].value", f"duplicate option {option.value!r}"))
            seen.add(option.value)
        if spec.default is not None and spec.default not in seen:
            problems.append(("default", f"default {spec.default!r} is not one of the options"))
    default = getattr(spec, "default", None)
    ordered = isinstance(spec, IntegerField | DecimalField | DateField) and default is not None
    below, above = (
        low is not None and ordered and default < low,
        high is not None and ordered and default > high,
    )
    if below or above:
        problems.append(("default", "default lies outside min and max"))
    if isinstance(spec, DecimalField):
        for key in ("min", "max", "default"):
            value: Decimal | None = getattr(spec, key)
            if value is not None and -value.as_tuple().exponent > spec.scale:  # type: ignore[operator]
                problems.append((key, f"{value} has more than {spec.scale} decimal places"))
    return problems


def _check_form(
    definitions: Definitions, app_name: str, form: Form, report: Report
) -> list[DefinitionError]:
    key = (app_name, "form", form.name)
    resolved = definitions.resolve(app_name, form.entity)
    if resolved is None:
        return [report(key, ("entity",), f"unknown entity {form.entity!r}")]
    entity = resolved[1]
    errors: list[DefinitionError] = []
    placed: set[str] = set()
    for i, section in enumerate(form.sections):
        for j, name in enumerate(section.fields):
            path = ("sections", i, "fields", j)
            if name not in entity.fields:
                errors.append(report(key, path, f"entity {entity.name!r} has no field {name!r}"))
            elif name in placed:
                errors.append(report(key, path, f"field {name!r} is placed twice"))
            placed.add(name)
    for name in form.fields:
        if name not in placed:
            message = f"field {name!r} is not placed in any section of the form"
            errors.append(report(key, ("fields", name), message))
    return errors
