"""Readings as ingest hands them on, and the listeners that take them (the device rules).

Ingest validates a device's messages, stores them and updates its state in one transaction;
after it commits, each listener gets the device and its new readings, oldest first. A
listener's failure is logged and never refuses the telemetry that was already stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("anju.iot")


@dataclass(frozen=True)
class Reading:
    """One accepted message: its time (ms since the epoch, UTC), the values it carried, and
    the device's latest values just before it (`previous`, for deltas and changes)."""

    ts: int
    values: Mapping[str, Any]
    previous: Mapping[str, Any] = field(default_factory=dict)


ReadingListener = Callable[[Any, Any, Any, list[Reading]], None]
"""`listener(runtime, catalog, device, readings)`: device is an `iot.registry.Device`."""
_listeners: list[ReadingListener] = []


def on_readings(listener: ReadingListener) -> ReadingListener:
    """Register `listener` for every device's new readings (once, however often imported)."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def hand_on(runtime: Any, catalog: Any, device: Any, readings: list[Reading]) -> None:
    """Give the readings to every listener; a failing listener is logged and skipped."""
    if not readings:
        return
    for listener in list(_listeners):
        try:
            listener(runtime, catalog, device, readings)
        except Exception:
            log.exception("a reading listener failed for device %s", getattr(device, "code", "?"))
