"""Device types (`device_types/<name>.yaml`) and device rules (`device_rules/<name>.yaml`).

A device type says what a kind of device reports (telemetry fields with types and units),
what describes it (attributes), what it can be told (commands with a JSON Schema for their
parameters and a risk level), which driver speaks to it, and how long its silence may last
before it counts as offline. Devices themselves are records of an entity (`devices.device`)
bound to housing units; their telemetry, state and commands live in the platform's tables.

A device rule watches the telemetry of one device type: a condition over a reading (in the
expression language), held for a duration or a number of readings, or the absence of data;
or a time-triggered scene. It raises an alert, sends commands, or both. See docs/devices.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from metamodel.alerts import Cron, Interval, Message, Severity
from metamodel.fields import Expression, Name, Strict
from metamodel.flows import Recipients
from metamodel.labels import Labels

DEVICE_ENTITY = ("devices", "device")
"""The entity whose records are the devices: device types describe them, device rules read
their fields as `device`, and the platform's device tables key on their ids."""
DEVICE_UNIT_FIELD = "housing_unit"
"""The reference of a device to the unit it serves: device rules read that record as `unit`."""
Risk = Literal["low", "medium", "high"]
"""A `high` command (remote unlock, power cut, valve close) waits for a reason and a second
person's approval; `medium` and `low` are dispatched at once."""
Duration = Annotated[str, Field(pattern=r"^[1-9][0-9]*(s|m|h|d)$")]
"""`30s`, `45m`, `2h`, `30d`."""
TelemetryType = Literal["number", "integer", "boolean", "string"]


class TelemetryField(Strict):
    """One value a device reports. Numbers are kept as floats in the time series and rolled
    up (count, sum, min, max, last) per hour and per day; strings and booleans keep their
    last value."""

    type: TelemetryType
    label: Labels = {}
    unit: Annotated[str, Field(max_length=20)] | None = None
    """`kWh`, `m³`, `%`, `°C`: shown beside the value."""
    min: float | None = None
    max: float | None = None
    """A reading outside [min, max] is refused as a bad payload."""
    cumulative: bool = False
    """A counter that only grows (a meter's total): rules may read its `delta`."""
    enum: list[str] | None = None


class Attribute(Strict):
    """What describes a device of this type, set on the device and not reported by it."""

    type: TelemetryType = "string"
    label: Labels = {}
    default: Any = None


class Command(Strict):
    label: Labels = {}
    risk: Risk = "low"
    params: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
    """A JSON Schema (draft 2020-12) of the parameters; checked before anything is queued."""
    ack_timeout: Duration = "30s"
    """How long a sent command may wait for the device's acknowledgement before it is sent
    again (or times out after the last attempt)."""
    result_timeout: Duration = "2m"
    """How long a delivered command may wait for its result before it times out."""
    expires: Duration = "1h"
    """How long a command may wait to be sent (the device offline, an approval pending)
    before it expires."""
    attempts: Annotated[int, Field(ge=1, le=10)] = 3


class Retention(Strict):
    raw: Duration = "30d"
    hourly: Duration = "365d"
    daily: Duration = "3650d"


class DeviceType(Strict):
    name: Name
    label: Labels = {}
    description: Labels = {}
    category: Literal["lock", "access", "breaker", "meter", "sensor", "gateway", "other"] = "other"
    driver: Name
    """The device driver a plugin registers under this name (`register_device_drivers`)."""
    heartbeat: Duration = "10m"
    """Offline once nothing has been heard from the device for this long."""
    telemetry: Annotated[dict[Name, TelemetryField], Field(min_length=1)]
    attributes: dict[Name, Attribute] = {}
    commands: dict[Name, Command] = {}
    retention: Retention = Retention()


class RuleTrigger(Strict):
    """When a rule looks: on each `reading` of the type's devices, on `absence` of data for
    `for`, or on a `schedule` (a scene)."""

    reading: bool = False
    absence: Duration | None = None
    every: Interval | None = None
    cron: Cron | None = None

    @model_validator(mode="after")
    def _one(self) -> RuleTrigger:
        given = [
            n
            for n in ("reading", "absence", "every", "cron")
            if getattr(self, n) not in (None, False)
        ]
        if len(given) != 1:
            raise ValueError("give exactly one of reading, absence, every and cron")
        return self


class Sustain(Strict):
    """How long the condition must hold before the rule fires: `readings` in a row, or a
    `duration` since the first reading it held for."""

    readings: Annotated[int, Field(ge=1, le=1000)] | None = None
    duration: Duration | None = None

    @model_validator(mode="after")
    def _one(self) -> Sustain:
        if (self.readings is None) == (self.duration is None):
            raise ValueError("give readings or duration")
        return self


class RuleAlert(Strict):
    severity: Severity = "yellow"
    message: Message
    recipients: Annotated[list[Recipients], Field(min_length=1)]
    """Roles are looked for in the device's organisation and above."""


class RuleCommand(Strict):
    command: Name
    params: dict[str, Any] = {}
    target: Literal["device", "unit"] = "device"
    """`unit`: every device of the unit with this command (a water leak closes the valve of
    the meter beside the sensor), else the device that fired."""
    device_type: Name | None = None
    """With `target: unit`, only the unit's devices of this type."""


class DeviceRule(Strict):
    name: Name
    label: Labels = {}
    description: Labels = {}
    device_type: Name
    """A device type of this app, or `app.device_type`."""
    trigger: RuleTrigger
    condition: Expression | None = None
    """Over `values` (this reading), `previous` (the last one), `delta` (change of each
    cumulative field), `baseline` (each number field's average over the last 7 days of hourly
    rollups), `device` (its fields and attributes), `unit` (the bound housing unit's
    fields), `now` and `today`. Required for reading triggers."""
    sustain: Sustain | None = None
    priority: Annotated[int, Field(ge=0, le=1000)] = 100
    """Higher first; when several rules fire on one device at once, their commands go out in
    this order and a lower one never undoes a higher one's command in the same round."""
    alert: RuleAlert | None = None
    commands: list[RuleCommand] = []
    cooldown: Duration = "1h"
    """After firing for a device, the rule waits this long before it fires for it again."""
    enabled: bool = True

    @model_validator(mode="after")
    def _does_something(self) -> DeviceRule:
        if self.alert is None and not self.commands:
            raise ValueError("give alert, commands or both")
        if self.trigger.reading and self.condition is None:
            raise ValueError("a reading trigger needs a condition")
        return self
