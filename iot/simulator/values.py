"""Plausible telemetry for a simulated device, made from its device type's fields alone.

Numbers wander and stay inside `[min, max]`; cumulative counters (a meter's total) only
grow; strings with an `enum` pick one of its values. A field with a resting value in
`RESTING` (the quiet state of the shipped types: a locked lock, no tamper alarm, 24 °C)
stays near it, so a simulated fleet does not set off every device rule; any other field
wanders around the middle of its range. So any device type, shipped or added later, can be
simulated without code. `bad_payload` makes the reports a faulty device sends, each of which the
platform must refuse with a path.
"""

from __future__ import annotations

import random
from typing import Any

from metamodel.devices import DeviceType, TelemetryField

SPAN = 1000.0
"""The widest range a number wanders over, so a `max: 10000000` counter reads like a meter."""
RESTING: dict[str, float | bool] = {
    "temperature": 24.0,
    "humidity": 45.0,
    "co2": 600.0,
    "tvoc": 0.3,
    "battery": 85,
    "wrong_passwords": 0,
    "voltage": 220.0,
    "current": 3.0,
    "power": 600.0,
    "leakage": 2.0,
    "locked": True,
    "tamper": False,
    "motion": False,
    "switched_on": True,
    "valve_open": True,
}
PULL = 0.2  # how strongly a resting field returns to its resting value at each reading
BLIP = 0.002  # the chance a resting boolean shows the other value for one reading


class Readings:
    """The next values of one device: call `next()` for each report."""

    def __init__(self, device_type: DeviceType, rng: random.Random) -> None:
        self.device_type, self.rng = device_type, rng
        self.current: dict[str, Any] = {
            name: RESTING.get(name, _start(spec, rng))
            for name, spec in device_type.telemetry.items()
        }

    def next(self) -> dict[str, Any]:
        for name, spec in self.device_type.telemetry.items():
            rest = RESTING.get(name)
            if rest is None or spec.cumulative:
                self.current[name] = _step(spec, self.current[name], self.rng)
            else:
                self.current[name] = _rest(spec, self.current[name], rest, self.rng)
        return dict(self.current)


def _bounds(spec: TelemetryField) -> tuple[float, float]:
    low = spec.min if spec.min is not None else 0.0
    high = spec.max if spec.max is not None else low + SPAN
    return low, min(high, low + SPAN)


def _start(spec: TelemetryField, rng: random.Random) -> Any:
    if spec.type == "boolean":
        return rng.random() < 0.5
    if spec.type == "string":
        return rng.choice(spec.enum) if spec.enum else "ok"
    low, high = _bounds(spec)
    value = low if spec.cumulative else low + (high - low) * rng.uniform(0.3, 0.6)
    return round(value) if spec.type == "integer" else round(value, 3)


def _step(spec: TelemetryField, value: Any, rng: random.Random) -> Any:
    if spec.type == "boolean":
        return (not value) if rng.random() < 0.05 else value
    if spec.type == "string":
        return rng.choice(spec.enum) if spec.enum else value
    low, high = _bounds(spec)
    if spec.cumulative:
        grown = value + rng.uniform(0.0, (high - low) / 10_000)
        limit = spec.max if spec.max is not None else grown
        stepped = min(grown, limit)
    else:
        stepped = min(max(value + rng.gauss(0.0, (high - low) / 100), low), high)
    return round(stepped) if spec.type == "integer" else round(stepped, 3)


def _rest(spec: TelemetryField, value: Any, rest: float | bool, rng: random.Random) -> Any:
    if spec.type == "boolean" or isinstance(rest, bool):
        return (not rest) if rng.random() < BLIP else rest
    low, high = _bounds(spec)
    moved = value + PULL * (rest - value) + rng.gauss(0.0, abs(rest) * 0.02)
    stepped = min(max(moved, low), high)
    return round(stepped) if spec.type == "integer" else round(stepped, 3)


def bad_payload(device_type: DeviceType, rng: random.Random) -> tuple[str, dict[str, Any]]:
    """A report the platform must refuse, and what is wrong with it: an unknown field, a
    value of the wrong type, a number out of range, or a time far in the future."""
    fields = device_type.telemetry
    ranged = [name for name, spec in fields.items() if spec.max is not None]
    kinds = ["unknown field", "wrong type", "future time"] + (["out of range"] if ranged else [])
    kind = rng.choice(kinds)
    name = rng.choice(sorted(fields))
    if kind == "unknown field":
        return kind, {"values": {"no_such_field": 1}}
    if kind == "wrong type":
        wrong = "high" if fields[name].type != "string" else 17
        return kind, {"values": {name: wrong}}
    if kind == "future time":
        return kind, {"ts": "2999-01-01T00:00:00Z", "values": {}}
    name = rng.choice(ranged)
    return kind, {"values": {name: (fields[name].max or 0) + 1}}
