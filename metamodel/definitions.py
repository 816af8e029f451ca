"""A checked set of definitions: every app with its entities, forms, roles, calendars, flows,
document and message templates, reports, dashboards, alert rules, device types and device
rules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from metamodel.alerts import AlertRule
from metamodel.devices import DeviceRule, DeviceType
from metamodel.fields import ReferenceField
from metamodel.flows import Flow
from metamodel.messages import MessageTemplate
from metamodel.models import App, Calendar, Entity, Form, Roles
from metamodel.reports import Dashboard, Report
from metamodel.templates import Template

Key = tuple[str, str, str]  # (app, kind, name)


@dataclass
class AppDefinitions:
    app: App
    entities: dict[str, Entity] = field(default_factory=dict)
    forms: dict[str, Form] = field(default_factory=dict)
    roles: Roles = field(default_factory=Roles)
    calendars: dict[str, Calendar] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    templates: dict[str, Template] = field(default_factory=dict)
    messages: dict[str, MessageTemplate] = field(default_factory=dict)
    reports: dict[str, Report] = field(default_factory=dict)
    dashboards: dict[str, Dashboard] = field(default_factory=dict)
    alerts: dict[str, AlertRule] = field(default_factory=dict)
    device_types: dict[str, DeviceType] = field(default_factory=dict)
    device_rules: dict[str, DeviceRule] = field(default_factory=dict)


@dataclass
class Definitions:
    """Parsed, checked definitions plus their canonical JSON, keyed by (app, kind, name)."""

    apps: dict[str, AppDefinitions]
    contents: dict[Key, dict[str, Any]]

    def entities(self) -> Iterator[tuple[str, Entity]]:
        for app_name, app in self.apps.items():
            for entity in app.entities.values():
                yield app_name, entity

    def resolve(self, app_name: str, target: str) -> tuple[str, Entity] | None:
        """The entity a reference names: `building` in the same app, or `app.entity`."""
        target_app, _, target_entity = target.rpartition(".")
        target_app = target_app or app_name
        app = self.apps.get(target_app)
        entity = app.entities.get(target_entity) if app else None
        return (target_app, entity) if entity else None

    @cached_property
    def referrer_index(self) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
        """(app, entity) → every (app, entity, field) whose reference points at it."""
        index: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        for source_app, entity in self.entities():
            for field_name, spec in entity.fields.items():
                if isinstance(spec, ReferenceField):
                    resolved = self.resolve(source_app, spec.entity)
                    if resolved:
                        target = (resolved[0], resolved[1].name)
                        index.setdefault(target, []).append((source_app, entity.name, field_name))
        return index

    def calendar(self, app_name: str, name: str = "default") -> tuple[str, Calendar] | None:
        """The calendar `name` of `app_name`, else the first app's calendar of that name."""
        own = self.apps.get(app_name)
        if own is not None and name in own.calendars:
            return app_name, own.calendars[name]
        for other_name, other in self.apps.items():
            if name in other.calendars:
                return other_name, other.calendars[name]
        return None

    def flows(self) -> Iterator[tuple[str, Flow]]:
        for app_name, app in self.apps.items():
            for flow in app.flows.values():
                yield app_name, flow

    @cached_property
    def flow_index(self) -> dict[tuple[str, str], tuple[str, Flow]]:
        """(app, entity) → (app, flow) of the flow attached to that entity."""
        index: dict[tuple[str, str], tuple[str, Flow]] = {}
        for app_name, flow in self.flows():
            resolved = self.resolve(app_name, flow.entity)
            if resolved is not None:
                index.setdefault((resolved[0], resolved[1].name), (app_name, flow))
        return index

    def flow_of(self, app_name: str, entity_name: str) -> Flow | None:
        found = self.flow_index.get((app_name, entity_name))
        return found[1] if found else None
