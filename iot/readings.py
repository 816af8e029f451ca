"""Readings as ingest hands them on, and the listeners that take them (the device rules).

Ingest validates the messages of one or many devices, stores them and updates their states
in one transaction; after it commits, it hands on each device's new readings, oldest first.
A batch listener (`on_reading_batches`) gets every device of the transaction at once, so it
can read what it needs in a few queries (the device rules do); a plain listener
(`on_readings`) gets one device at a time. A listener's failure is logged and never refuses
the telemetry that was already stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
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


DeviceReadings = tuple[Any, list[Reading]]
"""`(device, readings)`: device is an `iot.registry.Device`, its readings oldest first."""
ReadingListener = Callable[[Any, Any, Any, list[Reading]], None]
"""`listener(runtime, catalog, device, readings)`."""
BatchListener = Callable[[Any, Any, list[DeviceReadings]], None]
"""`listener(runtime, catalog, [(device, readings), …])`: each device once."""
_listeners: list[ReadingListener] = []
_batch_listeners: list[BatchListener] = []


def on_readings(listener: ReadingListener) -> ReadingListener:
    """Register `listener` for every device's new readings (once, however often imported)."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def on_reading_batches(listener: BatchListener) -> BatchListener:
    """Register `listener` for the new readings of all the devices of one ingest at once."""
    if listener not in _batch_listeners:
        _batch_listeners.append(listener)
    return listener


def hand_on(runtime: Any, catalog: Any, device: Any, readings: list[Reading]) -> None:
    """Give one device's readings to every listener."""
    hand_on_batch(runtime, catalog, [(device, readings)])


def hand_on_batch(runtime: Any, catalog: Any, batches: Sequence[DeviceReadings]) -> None:
    """Give several devices' readings to every listener; a failing listener is logged and
    skipped (for a plain listener, on that device only)."""
    given = [(device, readings) for device, readings in batches if readings]
    if not given:
        return
    for batch_listener in list(_batch_listeners):
        try:
            batch_listener(runtime, catalog, given)
        except Exception:
            log.exception("a reading listener failed for a batch of %d devices", len(given))
    for listener in list(_listeners):
        for device, readings in given:
            try:
                listener(runtime, catalog, device, readings)
            except Exception:
                code = getattr(device, "code", "?")
                log.exception("a reading listener failed for device %s", code)
