"""The built-in device drivers: the smart lock, the smart breaker and the meters (water,
electricity, and the environment monitor, which speaks the same way).

All three speak the plain JSON of `iot.drivers.JsonDriver`; each names the commands it can
encode and checks what its commands need beyond the type's schema: a lock's credential
commands carry the credential's id (the device keeps credentials by it, so a revoke finds
what an issue created), and its unlock log comes back as a list of entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.settings import Settings
from iot.drivers import DriverError, JsonDriver, Outgoing, Reply
from plugins.hookspecs import hookimpl

UNLOCK_ENTRY = ("at", "method")  # each entry of a lock's unlock log has at least these


class SmartLockDriver(JsonDriver):
    """Unit door locks: credentials by id, remote unlock, access suspension, the unlock log."""

    name = "smart_lock"
    commands = frozenset(
        {
            "issue_credential",
            "revoke_credential",
            "suspend_access",
            "restore_access",
            "unlock",
            "read_unlock_log",
        }
    )

    def encode(self, command: Outgoing) -> dict[str, Any]:
        message = super().encode(command)
        if command.command in ("issue_credential", "revoke_credential"):
            credential = command.params.get("credential_id")
            if not credential:
                raise DriverError(f"{command.command} needs the credential's id")
            message["credential_id"] = credential
        return message

    def decode_reply(self, payload: Mapping[str, Any]) -> Reply:
        reply = super().decode_reply(payload)
        entries = reply.result.get("entries")
        if entries is not None and not (
            isinstance(entries, list) and all(_is_entry(e) for e in entries)
        ):
            raise DriverError("an unlock log's entries are objects with at (a time) and method")
        return reply


def _is_entry(entry: Any) -> bool:
    return isinstance(entry, Mapping) and all(entry.get(key) for key in UNLOCK_ENTRY)


class BreakerDriver(JsonDriver):
    """In-unit smart breakers: switched on and off remotely, and the monthly test of the
    leakage protection."""

    name = "breaker"
    commands = frozenset({"switch_on", "switch_off", "self_test"})


class MeterDriver(JsonDriver):
    """Water and electricity meters and environment monitors: reading on demand, the report
    period, the valve and the power switch."""

    name = "meter"
    commands = frozenset(
        {"read", "set_report_period", "close_valve", "open_valve", "cut_power", "restore_power"}
    )


@hookimpl
def anju_device_drivers(settings: Settings) -> dict[str, Any]:
    drivers = (SmartLockDriver(), BreakerDriver(), MeterDriver())
    return {driver.name: driver for driver in drivers}
