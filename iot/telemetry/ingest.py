"""Ingest: the one way telemetry enters the platform, from HTTP and from the MQTT bridge.

`ingest` takes one device's messages (an HTTP request); `ingest_batch` takes the messages of
many devices at once (what the bridge collected in a fraction of a second). Either way:
check every message against its device type (before any transaction), then in one write
transaction keep the refused ones, store the accepted points (a point already stored — the
same device, field and time, as at-least-once MQTT delivers — is skipped), merge the
devices' states and add to the hourly and daily rollups; after the commit, hand the new
readings of all the devices to the listeners at once (`iot.readings.hand_on_batch`: the
device rules read what they need once per batch). A message is accepted or refused whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from engine.catalog import Catalog
from engine.database import write_transaction
from iot.drivers import DeviceDriver, driver_for
from iot.readings import Reading, hand_on_batch
from iot.registry import Device, device_type
from iot.telemetry.messages import Checked, Refused, check_message
from iot.telemetry.rollups import aggregate, merge_rollups
from iot.telemetry.store import (
    Point,
    PointKey,
    StateChange,
    create_states,
    insert_points,
    insert_rejects,
    lock_states,
    point_row,
    qualified_types,
    save_states,
)
from metamodel.devices import DeviceType

MAX_MESSAGES = 1000  # in one request or one device's share of a bridge batch


@dataclass
class IngestResult:
    """What became of one device's messages: how many were accepted, and each problem of the
    refused ones as `{"index", "path", "message"}`."""

    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    points: int = 0  # values accepted

    def as_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": self.rejected}


@dataclass(frozen=True)
class UnknownSender:
    """A message from a device the platform does not know (or that is not active)."""

    code: str | None
    reason: str
    payload: Any


def ingest(
    runtime: Any,
    catalog: Catalog,
    device: Device,
    messages: list[Any],
    transport: str,
    received_at: datetime,
    *,
    single: bool = False,
) -> IngestResult:
    """Check, store and hand on one device's messages; `single`: a lone message rather than
    a batch, whose problems' paths start at its own members (`values.battery`) instead of
    `messages[3].values.battery`."""
    results = ingest_batch(
        runtime, catalog, [(device, messages)], transport, received_at, single=single
    )
    return results[0]


def ingest_batch(
    runtime: Any,
    catalog: Catalog,
    batches: Sequence[tuple[Device, list[Any]]],
    transport: str,
    received_at: datetime,
    unknown: Sequence[UnknownSender] = (),
    *,
    single: bool = False,
) -> list[IngestResult]:
    """Several devices' messages (a device may appear more than once) in one transaction;
    `unknown` senders are counted as refused payloads of no device. One result per batch."""
    received_ms = int(received_at.timestamp() * 1000)
    readers: dict[str, tuple[DeviceType, DeviceDriver]] = {}
    checked = [_check(catalog, runtime, readers, d, m, received_ms, single) for d, m in batches]
    types = qualified_types(catalog)
    changes: dict[int, StateChange] = {}
    for device, _ in batches:
        changes.setdefault(device.id, StateChange(device.id, types[device.type_name]))
    rows, numbers, accepted = _points(batches, checked)
    readings: dict[int, list[Reading]] = {}
    with write_transaction(runtime.engine) as conn:
        refused: list[tuple[int | None, str | None, str, Any]] = [
            (device.id, device.code, outcome.reason, _payload(messages, outcome.index))
            for (device, messages), outcomes in zip(batches, checked, strict=True)
            for outcome in outcomes
            if isinstance(outcome, Refused)
        ]
        refused += [(None, u.code, u.reason, u.payload) for u in unknown]
        insert_rejects(conn, refused, transport, received_at)
        stored = insert_points(conn, rows) if changes else set()
        if changes:
            known = _states(conn, changes)
            readings = _merge(changes, known, accepted, stored, batches, checked)
            save_states(conn, list(changes.values()), known, received_at)
            new_numbers = [(*key, value) for key, value in numbers.items() if key in stored]
            merge_rollups(conn, aggregate(new_numbers, catalog.options.timezone))
    devices = {device.id: device for device, _ in batches}
    hand_on_batch(runtime, catalog, [(devices[i], found) for i, found in readings.items()])
    return [_result(outcomes, single) for outcomes in checked]


def refuse_payload(
    runtime: Any,
    catalog: Catalog,
    device: Device,
    payload: Any,
    errors: list[dict[str, Any]],
    transport: str,
    received_at: datetime,
) -> None:
    """Keep and count a payload refused before its messages could be read (malformed JSON,
    too many messages): the device's owners see it like any refused message."""
    reason = Refused(0, errors).reason
    change = StateChange(device.id, qualified_types(catalog)[device.type_name])
    change.rejected, change.last_reject = 1, reason
    with write_transaction(runtime.engine) as conn:
        insert_rejects(conn, [(device.id, device.code, reason, payload)], transport, received_at)
        known = _states(conn, {device.id: change})[device.id]
        change.values = orjson.loads(known.values) if known.values else {}
        change.last_ts = known.last_ts
        save_states(conn, [change], {device.id: known}, received_at)


def _states(conn: Any, changes: dict[int, StateChange]) -> dict[int, Any]:
    """The devices' state rows, locked; created first for devices never heard from."""
    known = lock_states(conn, list(changes))
    missing = [(i, c.device_type) for i, c in changes.items() if i not in known]
    if missing:
        create_states(conn, missing)
        known.update(lock_states(conn, [i for i, _ in missing]))
    return known


Outcome = Checked | Refused


def _check(
    catalog: Catalog,
    runtime: Any,
    readers: dict[str, tuple[DeviceType, DeviceDriver]],
    device: Device,
    messages: list[Any],
    received_ms: int,
    single: bool,
) -> list[Outcome]:
    """Check one device's messages with its type and driver (found once per type)."""
    reader = readers.get(device.type_name)
    if reader is None:
        spec = device_type(catalog, device.type_name)
        reader = readers[device.type_name] = (
            spec,
            driver_for(runtime.extensions.device_drivers, spec.driver),
        )
    spec, driver = reader
    return [
        check_message(
            spec, driver, message, received_ms, index, "" if single else f"messages[{index}]."
        )
        for index, message in enumerate(messages)
    ]


def _payload(messages: list[Any], index: int) -> Any:
    return messages[index] if 0 <= index < len(messages) else messages


def _points(
    batches: Sequence[tuple[Device, list[Any]]], checked: list[list[Outcome]]
) -> tuple[list[Point], dict[PointKey, float], dict[int, list[Checked]]]:
    """The rows to insert (the last of several values for one device, field and time wins),
    the numbers among them (booleans are stored as 1.0/0.0 but not rolled up), and each
    device's accepted messages in time order."""
    rows: dict[PointKey, Point] = {}
    numbers: dict[PointKey, float] = {}
    accepted: dict[int, list[Checked]] = {}
    for (device, _), outcomes in zip(batches, checked, strict=True):
        for outcome in outcomes:
            if isinstance(outcome, Checked):
                accepted.setdefault(device.id, []).append(outcome)
                for name, value in outcome.values.items():
                    key = (device.id, name, outcome.ts)
                    rows[key] = point_row(device.id, name, outcome.ts, value)
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        numbers[key] = float(value)
                    else:
                        numbers.pop(key, None)
    for found in accepted.values():
        found.sort(key=lambda c: c.ts)
    return list(rows.values()), numbers, accepted


def _merge(
    changes: dict[int, StateChange],
    known: dict[int, Any],
    accepted: dict[int, list[Checked]],
    stored: set[PointKey],
    batches: Sequence[tuple[Device, list[Any]]],
    checked: list[list[Outcome]],
) -> dict[int, list[Reading]]:
    """Fold the accepted messages into each device's state, oldest first; the readings to
    hand on are those with newly stored values, each with the values just before it. A
    reading older than the device's newest one is stored but leaves the latest values be."""
    for (device, _), outcomes in zip(batches, checked, strict=True):
        change = changes[device.id]
        refused = [o for o in outcomes if isinstance(o, Refused)]
        change.rejected += len(refused)
        if refused:
            change.last_reject = refused[-1].reason
    readings: dict[int, list[Reading]] = {}
    fresh = set(stored)  # a point sent twice in one batch is new for its first message only
    for device_id, change in changes.items():
        old = known[device_id]
        change.values = orjson.loads(old.values) if old.values else {}
        change.last_ts = old.last_ts
        for message in accepted.get(device_id, []):
            change.seen = True
            change.messages += 1
            new = {n: v for n, v in message.values.items() if (device_id, n, message.ts) in fresh}
            fresh.difference_update((device_id, n, message.ts) for n in new)
            change.points += len(new)
            if new:
                readings.setdefault(device_id, []).append(
                    Reading(message.ts, new, dict(change.values))
                )
            if change.last_ts is None or message.ts >= change.last_ts:
                change.values.update(message.values)
                change.last_ts = message.ts
    return readings


def _result(outcomes: list[Outcome], single: bool) -> IngestResult:
    result = IngestResult()
    for outcome in outcomes:
        if isinstance(outcome, Checked):
            result.accepted += 1
            result.points += len(outcome.values)
        else:
            result.rejected.extend(
                {"index": outcome.index, "path": e["path"], "message": e["message"]}
                for e in outcome.errors
            )
    return result
