"""Devices: wires `iot/` into the platform through the plugin hooks — the HTTP routes of
ingest, commands, rules and screens, the jobs (rollups and retention, command sweeps, rule
clocks, linkage), the MQTT bridge (when `ANJU_MQTT_URL` is set) and the flow action that
releases an approved high-risk command. See docs/devices.md."""

from __future__ import annotations

from typing import Any

from engine.extensions import FlowAction
from engine.settings import Settings
from iot.commands.approval import FLOW_ACTIONS
from iot.commands.http import ROUTES as COMMAND_ROUTES
from iot.mqtt.bridge import MqttBridge
from iot.rules.http import ROUTES as RULE_ROUTES
from iot.screens.routes import ROUTES as SCREEN_ROUTES
from iot.telemetry.http import ROUTES as TELEMETRY_ROUTES
from plugins.hookspecs import hookimpl

JOB_MODULES = [
    "iot.telemetry.jobs",  # rollups, retention, offline devices
    "iot.commands.jobs",  # dispatch, timeouts, retries, expiry
    "iot.rules.jobs",  # absence rules and scenes
    "iot.linkage.jobs",  # arrears → door access, utility bills
]


@hookimpl
def anju_routes(settings: Settings) -> list[Any]:
    return [*TELEMETRY_ROUTES, *COMMAND_ROUTES, *RULE_ROUTES, *SCREEN_ROUTES]


@hookimpl
def anju_job_modules(settings: Settings) -> list[str]:
    return JOB_MODULES


@hookimpl
def anju_services(settings: Settings) -> list[Any]:
    return [MqttBridge(settings)] if settings.mqtt_url else []


@hookimpl
def anju_flow_actions(settings: Settings) -> list[FlowAction]:
    return list(FLOW_ACTIONS)
