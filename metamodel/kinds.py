"""The kinds of definition, each with its model and the folder of an app that holds it."""

from __future__ import annotations

from pydantic import BaseModel

from metamodel.alerts import AlertRule
from metamodel.flows import Flow
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
    "report": Report,
    "dashboard": Dashboard,
    "alert": AlertRule,
}
KIND_FOLDERS = {
    "entity": "entities",
    "form": "forms",
    "calendar": "calendars",
    "flow": "flows",
    "template": "templates",
    "report": "reports",
    "dashboard": "dashboards",
    "alert": "alerts",
}
