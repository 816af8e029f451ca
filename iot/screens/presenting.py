"""Telemetry as the device screens show it: a value with its unit, a reading time on the
catalog's clock, and whether a device is online in words (never by colour alone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from metamodel.devices import DeviceType, TelemetryField
from metamodel.labels import pick
from renderers.html.values import YES_NO


@dataclass(frozen=True)
class Presence:
    """`state` is online, offline or never (no message ever received); `label` says it."""

    state: str
    label: str
    since: str = ""


@dataclass(frozen=True)
class ShownValue:
    name: str
    label: str
    text: str  # the value with its unit
    unit: str


def value_text(spec: TelemetryField, value: Any, language: str) -> str:
    """`87 %`, `12.35 m³`, `是`; a string as reported."""
    if value is None:
        return ""
    if spec.type == "boolean":
        yes, no = YES_NO[language]
        return yes if value else no
    if spec.type in ("number", "integer") and isinstance(value, int | float):
        number = (
            f"{value:,.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
        )
        return f"{number} {spec.unit}" if spec.unit else number
    return str(value)


def shown_values(
    device_type: DeviceType | None, values: dict[str, Any], language: str
) -> list[ShownValue]:
    """The latest values in the order the type declares its fields; fields the type no
    longer declares are left out."""
    if device_type is None:
        return []
    return [
        ShownValue(
            name,
            pick(spec.label, language, name),
            value_text(spec, values[name], language),
            spec.unit or "",
        )
        for name, spec in device_type.telemetry.items()
        if name in values
    ]


def moment_text(moment: datetime | None, timezone: str) -> str:
    """A moment as `2026-03-01 10:00:05` on the catalog's clock."""
    if moment is None:
        return ""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")


def presence(state: dict[str, Any], texts: dict[str, str], timezone: str) -> Presence:
    """From a `device_state`: a device never heard from has no `last_seen`."""
    if state["last_seen"] is None:
        return Presence("never", texts["never_seen"])
    if state.get("online"):
        since = moment_text(state.get("online_since"), timezone)
        return Presence("online", texts["is_online"], since)
    since = moment_text(state.get("offline_since"), timezone)
    return Presence("offline", texts["is_offline"], since)
