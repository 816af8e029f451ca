"""What a firing rule does: open its alert against the device record and ask for its
commands — planned first (`plan`, which writes nothing and is all test mode needs), then
carried out (`carry_out`) in the evaluation's transaction, with a line in the rule's log.

Within one round (the rules of one device evaluated for one reading, highest priority
first) a device that a higher rule commanded is not commanded again by a lower one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.alerts.messages import AlertText
from engine.alerts.raising import RaisedAlert, open_alert_id, raise_alert
from engine.auth.tables import org_table as orgs
from engine.catalog import Catalog
from engine.errors import AnjuError
from engine.flows.approvals import role_holders
from engine.principal import SYSTEM
from iot.readings import Reading
from iot.registry import DEVICE_ENTITY, Device, device_types, devices_of_unit
from iot.rules.compile import CompiledDeviceRule
from iot.rules.facts import Facts, environment, jsonable, millis, variables
from iot.tables import rule_runs
from metamodel.labels import pick

if TYPE_CHECKING:
    from engine.runtime import Runtime

TITLE_LENGTH = 255
SOURCES = {"reading": "rule", "absence": "rule", "schedule": "scene"}
PRIORITY_SKIP = "commanded by a higher-priority rule in this round"


@dataclass(frozen=True)
class PlannedCommand:
    device: Device
    command: str
    params: dict[str, Any]
    skipped: str | None = None

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "device": self.device.id,
            "code": self.device.code,
            "command": self.command,
            "params": self.params,
        }
        if self.skipped:
            found["skipped"] = self.skipped
        return found


@dataclass(frozen=True)
class Plan:
    """What a rule firing on a device would do."""

    rule: CompiledDeviceRule
    device: Device
    alert: AlertText | None = None
    recipients: list[str] = field(default_factory=list)
    commands: list[PlannedCommand] = field(default_factory=list)

    def as_json(self, language: str = "zh") -> dict[str, Any]:
        found: dict[str, Any] = {"commands": [c.as_json() for c in self.commands]}
        if self.alert is not None and self.rule.definition.alert is not None:
            title, body = self.alert.for_language(language)
            found["alert"] = {
                "severity": self.rule.definition.alert.severity,
                "title": title,
                "body": body,
                "recipients": self.recipients,
            }
        return found


def plan(
    conn: sa.Connection,
    catalog: Catalog,
    rule: CompiledDeviceRule,
    device: Device,
    variables: dict[str, Any],
    moment: datetime,
    commanded: set[int],
) -> Plan:
    """The alert and commands of `rule` firing on `device`; adds the devices it commands to
    `commanded` (the round's devices already commanded, which it skips)."""
    definition = rule.definition
    text, people = None, []
    if definition.alert is not None:
        context = {**variables, "severity": definition.alert.severity, "now": moment}
        text = render_text(rule, device, context)
        people = recipients(conn, rule, device, variables, moment, catalog.options.timezone)
    planned: list[PlannedCommand] = []
    for entry in definition.commands:
        targets = [device]
        if entry.target == "unit" and device.housing_unit_id is not None:
            targets = [
                d
                for d in devices_of_unit(conn, catalog, device.housing_unit_id, entry.device_type)
                if entry.command in _type_commands(catalog, d)
            ]
        for target in targets:
            skipped = PRIORITY_SKIP if target.id in commanded else None
            planned.append(PlannedCommand(target, entry.command, dict(entry.params), skipped))
    commanded.update(c.device.id for c in planned if c.skipped is None)
    return Plan(rule, device, text, people, planned)


def carry_out(
    conn: sa.Connection,
    runtime: Runtime,
    catalog: Catalog,
    planned: Plan,
    moment: datetime,
    trigger: str,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Open the planned alert, request the planned commands and log the run; the outcome."""
    from iot.commands.service import request_command

    rule, device = planned.rule, planned.device
    outcome: dict[str, Any] = {**(detail or {})}
    definition = rule.definition
    if planned.alert is not None and definition.alert is not None:
        raised = RaisedAlert(
            rule.app,
            rule.name,
            ".".join(DEVICE_ENTITY),
            device.id,
            device.org_id,
            planned.alert,
            definition.alert.severity,
            planned.recipients,
            def_version=rule.version,
        )
        alert_id = raise_alert(conn, runtime, raised, runtime.clock.now())
        outcome["alert"] = alert_id or open_alert_id(conn, rule.app, rule.name, device.id)
        outcome["alert_opened"] = alert_id is not None
    done = []
    reason = _reason(rule)
    for command in planned.commands:
        line = command.as_json()
        if command.skipped is None:
            key = f"{rule.key}:{device.id}:{command.device.id}:{command.command}:{millis(moment)}"
            try:
                with conn.begin_nested():
                    view = request_command(
                        conn,
                        runtime,
                        catalog,
                        SYSTEM,
                        command.device,
                        command.command,
                        command.params,
                        reason=reason,
                        source=SOURCES[trigger],
                        source_ref=rule.key,
                        key=key,
                    )
                line.update(id=view["id"], status=view["status"])
            except AnjuError as exc:
                line["error"] = exc.message
        done.append(line)
    if done:
        outcome["commands"] = done
    log_run(conn, rule, device.id, runtime.clock.now(), trigger, outcome)
    return outcome


def fire_timed(
    conn: sa.Connection,
    runtime: Runtime,
    catalog: Catalog,
    rule: CompiledDeviceRule,
    device: Device,
    facts: Facts,
    values: dict[str, Any],
    now: datetime,
    detail: dict[str, Any],
) -> dict[str, Any] | None:
    """Fire an absence rule or a scene on `device`, whose latest values are `values`, if its
    condition (if any) holds on them; the outcome, or None when it does not hold."""
    given = variables(facts, rule.device_type, Reading(millis(now), values, values))
    env = environment(given, now, catalog.options.timezone)
    if rule.condition is not None and not rule.condition.test(facts.device, env):
        return None
    planned = plan(conn, catalog, rule, device, given, now, set())
    return carry_out(conn, runtime, catalog, planned, now, rule.trigger, detail)


def log_run(
    conn: sa.Connection,
    rule: CompiledDeviceRule,
    device_id: int | None,
    at: datetime,
    trigger: str,
    outcome: dict[str, Any],
) -> None:
    """One line in the rule's execution log."""
    conn.execute(
        rule_runs.insert().values(
            app=rule.app,
            rule=rule.name,
            device_id=device_id,
            at=at,
            trigger=trigger,
            outcome=json.dumps(jsonable(outcome), ensure_ascii=False),
        )
    )


def render_text(rule: CompiledDeviceRule, device: Device, context: dict[str, Any]) -> AlertText:
    """The alert's title and body in both languages; a template failing on these values
    falls back to the rule's label and the device code, which still say what and where."""
    texts = {}
    for language in ("zh", "en"):
        label = pick(rule.definition.label, language, rule.name)
        try:
            title, body = rule.render(language, {**context, "rule": label})
        except Exception:  # a template failing on this reading: fall back, never lose it
            title, body = "", ""
        texts[language] = ((title or f"{label}: {device.code}")[:TITLE_LENGTH], body)
    return AlertText(texts["zh"][0], texts["zh"][1], texts["en"][0], texts["en"][1])


def recipients(
    conn: sa.Connection,
    rule: CompiledDeviceRule,
    device: Device,
    variables: dict[str, Any],
    moment: datetime,
    timezone: str,
) -> list[str]:
    """The alert's usernames: role holders in the device's organisation and above, the
    username a device field holds, or what an expression gives."""
    assert rule.definition.alert is not None
    org_path = None
    if device.org_id is not None:
        org_path = conn.execute(sa.select(orgs.c.path).where(orgs.c.id == device.org_id)).scalar()
    found: list[str] = []
    for i, entry in enumerate(rule.definition.alert.recipients):
        if entry.role is not None:
            if device.org_id is None or org_path is not None:
                found += role_holders(conn, entry.role, org_path)
        elif entry.field is not None:
            value = variables.get("device", {}).get(entry.field)
            found += [str(value)] if value else []
        elif i in rule.recipients:
            value = rule.recipients[i].evaluate(
                variables.get("device", {}), environment(variables, moment, timezone)
            )
            if isinstance(value, list):
                found += [str(v) for v in value if v]
            elif value:
                found.append(str(value))
    return list(dict.fromkeys(found))


def _reason(rule: CompiledDeviceRule) -> str:
    """Why a rule asks for a command: shown to whoever approves a high-risk one."""
    zh = pick(rule.definition.label, "zh", rule.name)
    en = pick(rule.definition.label, "en", rule.name)
    return f"设备规则 {rule.key}（{zh}）触发 / device rule {rule.key} ({en}) fired"


def _type_commands(catalog: Catalog, device: Device) -> set[str]:
    found = device_types(catalog).get(device.type_name)
    return set(found.commands) if found else set()
