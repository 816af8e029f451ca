"""Checking telemetry messages against their device type, one message at a time.

A message is `{"ts"?: ISO-8601 or epoch ms, "values": {...}}`; `values: {}` is a heartbeat.
The device's driver reads the values first (renaming, converting), then every value must be
a field of the type, of its type, within its [min, max] and enum. A message with any bad
value is refused whole, with every problem named by its path, so a device never has half a
reading stored. Times are integers, milliseconds since the epoch (UTC); a message without
`ts` is taken at the time it was received, and one more than five minutes ahead of that is
refused (a device whose clock runs wild would otherwise write into the future).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.errors import field_error
from iot.drivers import DeviceDriver, DriverError
from metamodel.devices import DeviceType, TelemetryField

FUTURE_MS = 5 * 60 * 1000  # how far ahead of its arrival a reading's time may be
MAX_TEXT = 255  # the longest string value (`anju_telemetry.text`)
EARLIEST_MS = 946_684_800_000  # 2000-01-01: smaller epoch numbers are seconds sent as ms


class BadValue(ValueError):
    """A value its field does not take; the message says why."""


@dataclass(frozen=True)
class Checked:
    """A message that passed: its time (ms, UTC) and its values in the type's fields."""

    ts: int
    values: dict[str, Any]


@dataclass(frozen=True)
class Refused:
    """A message that did not: where it sat in the request and each problem by its path."""

    index: int
    errors: list[dict[str, Any]]

    @property
    def reason(self) -> str:
        return "; ".join(f"{e['path']}: {e['message']}" for e in self.errors)


def check_message(
    device_type: DeviceType,
    driver: DeviceDriver,
    message: Any,
    received_ms: int,
    index: int,
    prefix: str = "",
) -> Checked | Refused:
    """Check one message; `prefix` (`messages[3].`) starts every path of a batch's message."""
    if not isinstance(message, Mapping):
        return Refused(index, [field_error(prefix.rstrip(".") or "", "expected a JSON object")])
    errors: list[dict[str, Any]] = []
    unknown = sorted(set(message) - {"ts", "values"})
    errors.extend(field_error(f"{prefix}{key}", "unknown member") for key in unknown)
    ts = received_ms
    if message.get("ts") is not None:
        parsed = parse_ts(message["ts"])
        if isinstance(parsed, str):
            errors.append(field_error(f"{prefix}ts", parsed))
        elif parsed > received_ms + FUTURE_MS:
            errors.append(field_error(f"{prefix}ts", "more than 5 minutes in the future"))
        else:
            ts = parsed
    raw = message.get("values")
    values: dict[str, Any] = {}
    if not isinstance(raw, Mapping):
        errors.append(field_error(f"{prefix}values", "expected a JSON object of readings"))
    else:
        try:
            decoded = driver.decode_telemetry(raw)
        except DriverError as exc:
            errors.append(field_error(f"{prefix}values", str(exc)))
        else:
            for name, value in decoded.items():
                spec = device_type.telemetry.get(name)
                if spec is None:
                    errors.append(
                        field_error(f"{prefix}values.{name}", f"not a field of {device_type.name}")
                    )
                    continue
                try:
                    values[name] = check_value(spec, value)
                except BadValue as exc:
                    errors.append(field_error(f"{prefix}values.{name}", str(exc)))
    if errors:
        return Refused(index, errors)
    return Checked(ts, values)


def parse_ts(raw: Any) -> int | str:
    """Epoch milliseconds, or an ISO-8601 time (UTC when it names no offset); else what is
    wrong with it."""
    if isinstance(raw, bool):
        return "expected an ISO-8601 time or milliseconds since the epoch"
    if isinstance(raw, int | float):
        if not math.isfinite(raw) or raw < EARLIEST_MS:
            return "expected milliseconds since the epoch, after the year 2000"
        return int(raw)
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return f"{raw[:40]!r} is not an ISO-8601 time"
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    return "expected an ISO-8601 time or milliseconds since the epoch"


def check_value(spec: TelemetryField, value: Any) -> bool | int | float | str:
    """The value as stored (`integer` 7.0 becomes 7); `BadValue` saying why it is refused."""
    checked: bool | int | float | str
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise BadValue("expected true or false")
        return value
    if spec.type == "string":
        if not isinstance(value, str):
            raise BadValue("expected a string")
        if len(value) > MAX_TEXT:
            raise BadValue(f"longer than {MAX_TEXT} characters")
        if spec.enum is not None and value not in spec.enum:
            raise BadValue(f"expected one of {', '.join(spec.enum)}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadValue("expected a number" if spec.type == "number" else "expected a whole number")
    if not math.isfinite(value):
        raise BadValue("expected a finite number")
    if spec.type == "integer":
        if isinstance(value, float) and not value.is_integer():
            raise BadValue("expected a whole number")
        checked = int(value)
    else:
        checked = float(value)
    if spec.min is not None and checked < spec.min:
        raise BadValue(f"below the minimum {spec.min:g}")
    if spec.max is not None and checked > spec.max:
        raise BadValue(f"above the maximum {spec.max:g}")
    return checked
