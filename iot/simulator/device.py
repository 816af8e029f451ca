"""One simulated device: what it reports and how it answers the commands it is sent.

A device has a behaviour, the way real fleets misbehave:

- `normal`: acknowledges a command at once (`delivered`) and reports it `succeeded`;
- `failing`: acknowledges, then reports `failed` with an error;
- `silent`: takes commands and never answers (the platform retries, then times out);
- `slow`: acknowledges at once and reports success only after `slow_seconds`;
- `bad_payloads`: answers like `normal`, but a share of its reports are malformed.

A device may be driven from several threads (reports from one, commands from another); its
lock keeps them apart. It keeps no clock of its own: callers pass the time (`now_ms`) so a
test can move time forward, and answers not yet due wait in `pending` until their time.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from iot.simulator.values import Readings, bad_payload
from metamodel.devices import DeviceType

Behaviour = Literal["normal", "failing", "silent", "slow", "bad_payloads"]
BEHAVIOURS: tuple[Behaviour, ...] = ("normal", "failing", "silent", "slow", "bad_payloads")
BAD_SHARE = 0.2
"""The share of a `bad_payloads` device's reports that are malformed."""


@dataclass(frozen=True)
class Credential:
    """What a simulated device authenticates with, and its device type's name."""

    code: str
    secret: str
    type_name: str
    device_id: int | None = None


@dataclass(order=True)
class Answer:
    """A reply the device will send once `due_ms` has come."""

    due_ms: int
    reply: dict[str, Any] = field(compare=False)


@dataclass
class Tally:
    """What one device did: reports sent (and how many were meant to be refused), commands
    received (repeats of a command counted too) and replies sent."""

    reports: int = 0
    bad_reports: int = 0
    commands: int = 0
    replies: int = 0


class SimulatedDevice:
    def __init__(
        self,
        credential: Credential,
        device_type: DeviceType,
        behaviour: Behaviour = "normal",
        seed: int = 0,
        slow_seconds: float = 20.0,
    ) -> None:
        self.credential, self.device_type, self.behaviour = credential, device_type, behaviour
        self.rng = random.Random(f"{seed}:{credential.code}")
        self.readings = Readings(device_type, self.rng)
        self.slow_ms = int(slow_seconds * 1000)
        self.pending: list[Answer] = []
        self.received: list[dict[str, Any]] = []  # every command as it arrived
        self.tally = Tally()
        self.lock = threading.Lock()
        self.last_ts = 0

    @property
    def code(self) -> str:
        return self.credential.code

    @property
    def auth(self) -> tuple[str, str]:
        return (self.credential.code, self.credential.secret)

    def report(self, now_ms: int) -> dict[str, Any]:
        """The next telemetry message, stamped `now_ms` — or a millisecond after the last
        one, so a batch made in one millisecond holds distinct readings, not duplicates."""
        with self.lock:
            return self._report(now_ms)

    def _report(self, now_ms: int) -> dict[str, Any]:
        self.tally.reports += 1
        ts = self.last_ts = max(now_ms, self.last_ts + 1)
        if self.behaviour == "bad_payloads" and self.rng.random() < BAD_SHARE:
            self.tally.bad_reports += 1
            _kind, payload = bad_payload(self.device_type, self.rng)
            return {"ts": ts, **payload}
        return {"ts": ts, "values": self.readings.next()}

    def receive(self, command: dict[str, Any], now_ms: int) -> None:
        """Take a command (`{"id", "command", "params"}` as the driver encodes it) and plan
        the answers the behaviour gives."""
        with self.lock:
            self._receive(command, now_ms)

    def _receive(self, command: dict[str, Any], now_ms: int) -> None:
        self.tally.commands += 1
        self.received.append(command)
        command_id = command.get("id")
        if self.behaviour == "silent" or not isinstance(command_id, int):
            return
        self._plan(now_ms, {"id": command_id, "status": "delivered"})
        if self.behaviour == "failing":
            error = f"{command.get('command')} refused by the device (simulated fault)"
            self._plan(now_ms, {"id": command_id, "status": "failed", "error": error})
            return
        done_at = now_ms + (self.slow_ms if self.behaviour == "slow" else 0)
        result = self._result(str(command.get("command")), command.get("params") or {}, now_ms)
        self._plan(done_at, {"id": command_id, "status": "succeeded", "result": result})

    def due_replies(self, now_ms: int) -> list[dict[str, Any]]:
        """The answers whose time has come, oldest first; they leave `pending`."""
        with self.lock:
            self.pending.sort()
            due = [answer.reply for answer in self.pending if answer.due_ms <= now_ms]
            self.pending = [answer for answer in self.pending if answer.due_ms > now_ms]
            self.tally.replies += len(due)
            return due

    def _plan(self, due_ms: int, reply: dict[str, Any]) -> None:
        self.pending.append(Answer(due_ms, reply))

    def _result(self, command: str, params: dict[str, Any], now_ms: int) -> dict[str, Any]:
        """What a command's success reports: a meter's reading, the lock's log (the last
        three unlocks, an hour apart), else the parameters it applied."""
        if command == "read":
            return dict(self.readings.current)
        if command == "read_unlock_log":
            methods = ("fingerprint", "password", "card")
            return {
                "entries": [
                    {"at": _iso(now_ms - hours * 3_600_000), "method": self.rng.choice(methods)}
                    for hours in (3, 2, 1)
                ]
            }
        return {"applied": dict(params)} if params else {}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")
