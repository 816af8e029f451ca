"""Device drivers: what the platform and one make of device say to each other.

A device type names its driver (`driver: smart_lock`); plugins register drivers by name
through `anju_device_drivers`. A driver turns a command into the message the device reads,
the device's reply into a command status, and its reports into telemetry in the device
type's terms. The platform keeps everything else: validation against the type's schema,
the command lifecycle, retries and expiry, the audit chain.

Messages are JSON objects both ways, over MQTT (`<prefix>/<code>/commands`,
`<prefix>/<code>/replies`, `<prefix>/<code>/telemetry`) or HTTP (see docs/devices.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

ReplyStatus = Literal["delivered", "succeeded", "failed"]


@dataclass(frozen=True)
class Outgoing:
    """A command on its way: the platform's id (the device echoes it back), the command's
    name and checked parameters, and the device it goes to."""

    id: int
    command: str
    params: Mapping[str, Any]
    device_code: str
    attempt: int = 1


@dataclass(frozen=True)
class Reply:
    """What a device said about a command: `delivered` (it has it), `succeeded` or `failed`
    (it ran it), with the result or the device's error."""

    command_id: int
    status: ReplyStatus
    result: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None


class DriverError(ValueError):
    """A message the driver cannot read; the payload is refused and counted."""


class DeviceDriver(Protocol):
    name: str
    commands: frozenset[str]
    """The commands this driver can encode; a device type may offer no other."""

    def encode(self, command: Outgoing) -> dict[str, Any]:
        """The JSON object the device reads for `command`; it must carry `command.id`."""
        ...

    def decode_reply(self, payload: Mapping[str, Any]) -> Reply:
        """A reply from the device; raises `DriverError` if it cannot be read."""
        ...

    def decode_telemetry(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """A report's values in the device type's fields (renamed, converted); raises
        `DriverError` if it cannot be read."""
        ...


class JsonDriver:
    """The plain driver: commands go out as `{"id", "command", "params"}`, replies come back
    as `{"id", "status", "result"?, "error"?}`, reports are already the type's fields.
    Drivers for devices that speak like this only name their commands."""

    name = "json"
    commands: frozenset[str] = frozenset()

    def encode(self, command: Outgoing) -> dict[str, Any]:
        return {"id": command.id, "command": command.command, "params": dict(command.params)}

    def decode_reply(self, payload: Mapping[str, Any]) -> Reply:
        command_id, status = payload.get("id"), payload.get("status")
        if not isinstance(command_id, int) or isinstance(command_id, bool):
            raise DriverError("a reply needs the command's id, an integer")
        if status not in ("delivered", "succeeded", "failed"):
            raise DriverError("a reply's status is delivered, succeeded or failed")
        result = payload.get("result") or {}
        if not isinstance(result, Mapping):
            raise DriverError("a reply's result is a JSON object")
        error = payload.get("error")
        return Reply(command_id, status, dict(result), None if error is None else str(error))

    def decode_telemetry(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return dict(payload)


def driver_for(drivers: Mapping[str, Any], name: str) -> DeviceDriver:
    """The registered driver of this name; `LookupError` naming what is registered."""
    driver = drivers.get(name)
    if driver is None:
        known = ", ".join(sorted(drivers)) or "none"
        raise LookupError(f"no device driver {name!r} is registered (registered: {known})")
    return driver  # type: ignore[no-any-return]
