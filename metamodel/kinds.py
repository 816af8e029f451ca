"""The kinds of definition, each with its model and the folder of an app that holds it."""

from __future__ import annotations

from pydantic import BaseModel

from metamodel.alerts import AlertRule
from metamodel.devices import DeviceRule, DeviceType
from metamodel.flows import Flow
from metamodel.messages import MessageTemplate
from metamodel.models import App, Calendar, Entity, Form, Roles
from metamodel.reports import Dashboard, Report
from metamodel.templates import Template

KIND_MODELS: dict[str, type[BaseModel]] = {
    "app": App,
    "entity": Entity,
    "form": Form,
    "roles": Roles,
    "calendar": Calendar,
    "flow": Flow,
    "template": Template,
    "message": MessageTemplate,
    "report": Report,
    "dashboard": Dashboard,
    "alert": AlertRule,
    "device_type": DeviceType,
    "device_rule": DeviceRule,
}
KIND_FOLDERS = {
    "entity": "entities",
    "form": "forms",
    "calendar": "calendars",
    "flow": "flows",
    "template": "templates",
    "message": "messages",
    "report": "reports",
    "dashboard": "dashboards",
    "alert": "alerts",
    "device_type": "device_types",
    "device_rule": "device_rules",
}
