"""A fleet of simulated devices at work: reports at a steady overall rate, commands fetched
(HTTP polls) or taken as they come (MQTT), answers sent as their behaviour has them due.

`run_http` and `run_mqtt` run for a duration and return `Stats`: what was sent, what the
platform accepted and refused, commands received and replies sent, and the latency of each
HTTP request. Reports are paced against the wall clock so a rate is held rather than
approached in bursts; a rate the machine cannot reach shows as fewer reports than asked.
A rate of None sends as fast as the threads go; 0 sends no reports (commands only).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from iot.simulator.device import SimulatedDevice
from iot.simulator.http import HttpLink, LinkError
from iot.simulator.mqtt import MqttLink

ANSWER_SECONDS = 0.005  # how often the MQTT fleet looks for commands and due replies


def wall_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Stats:
    """What a fleet did during one run; safe to update from several threads."""

    reports: int = 0
    accepted: int = 0
    rejected: int = 0
    requests: int = 0
    errors: int = 0
    first_error: str | None = None
    commands: int = 0
    replies: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def failed(self, error: Exception) -> None:
        with self.lock:
            self.errors += 1
            self.first_error = self.first_error or str(error)

    def as_json(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        return {
            "seconds": round(self.seconds, 2),
            "reports": self.reports,
            "reports_per_s": round(self.reports / self.seconds, 1) if self.seconds else 0.0,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "requests": self.requests,
            "errors": self.errors,
            "first_error": self.first_error,
            "commands": self.commands,
            "replies": self.replies,
            "p50_ms": percentile(ordered, 50),
            "p99_ms": percentile(ordered, 99),
        }


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """The p-th percentile of sorted values (nearest rank); None for no values."""
    if not ordered:
        return None
    rank = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[rank], 2)


class Pace:
    """Hands out send times `1 / rate` apart to any number of threads; `rate` None: no
    waiting, as fast as the senders go."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next = time.monotonic()
        self.lock = threading.Lock()

    def wait(self, count: int = 1) -> None:
        with self.lock:
            due = self.next
            self.next = max(self.next, time.monotonic() - 1.0) + self.interval * count
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def run_http(
    devices: Sequence[SimulatedDevice],
    link: HttpLink,
    rate: float | None,
    duration: float,
    batch: int = 1,
    threads: int = 4,
    poll_seconds: float = 5.0,
    clock: Callable[[], int] = wall_ms,
    pollers: int = 1,
) -> Stats:
    """Reports at `rate` messages/s in requests of `batch` messages from one device each,
    over `threads` connections; every device polls for commands each `poll_seconds`
    (0: never), the fleet split over `pollers` connections, and sends the replies due."""
    stats, stopping = Stats(), threading.Event()
    pace = Pace(None if rate is None else rate / batch)

    def report(worker: int) -> None:
        mine = devices[worker::threads]
        turn = 0
        while mine and not stopping.is_set():
            pace.wait()
            device = mine[turn % len(mine)]
            turn += 1
            messages = [device.report(clock()) for _ in range(batch)]
            began = time.perf_counter()
            try:
                answer = link.send(device, messages)
            except (LinkError, OSError) as error:
                stats.failed(error)
                continue
            elapsed = (time.perf_counter() - began) * 1000
            with stats.lock:
                stats.latencies_ms.append(elapsed)
            rejected = len(answer.get("rejected") or [])
            stats.add(reports=batch, requests=1, accepted=answer["accepted"], rejected=rejected)

    def poll(worker: int) -> None:
        mine = devices[worker::pollers]
        while mine and not stopping.is_set():
            started = time.monotonic()
            for device in mine:
                if stopping.is_set():
                    return
                try:
                    commands = link.poll(device, clock())
                    replies = link.answer(device, clock())
                except (LinkError, OSError) as error:
                    stats.failed(error)
                    continue
                stats.add(commands=commands, replies=replies, requests=1 + (replies > 0))
            stopping.wait(max(0.0, poll_seconds - (time.monotonic() - started)))

    workers = [
        threading.Thread(target=report, args=(i,), daemon=True)
        for i in range(threads if rate != 0 else 0)
    ]
    if poll_seconds > 0:
        workers += [threading.Thread(target=poll, args=(i,), daemon=True) for i in range(pollers)]
    return _run(workers, stopping, duration, stats)


def run_mqtt(
    devices: Sequence[SimulatedDevice],
    link: MqttLink,
    rate: float | None,
    duration: float,
    threads: int = 2,
    clock: Callable[[], int] = wall_ms,
) -> Stats:
    """Reports at `rate` messages/s published by `threads` threads; commands are answered
    as they arrive and as their replies fall due."""
    stats, stopping, pace = Stats(), threading.Event(), Pace(rate)

    def report(worker: int) -> None:
        mine = devices[worker::threads]
        turn = 0
        while mine and not stopping.is_set():
            pace.wait()
            device = mine[turn % len(mine)]
            turn += 1
            link.send(device, device.report(clock()))
            stats.add(reports=1)

    def answer() -> None:
        waiting: set[SimulatedDevice] = set()
        while not stopping.is_set():
            reached = link.deliver(clock())
            stats.add(commands=len(reached))
            waiting.update(reached)
            for device in list(waiting):
                stats.add(replies=link.answer(device, clock()))
                if not device.pending:
                    waiting.discard(device)
            stopping.wait(ANSWER_SECONDS)

    workers = [
        threading.Thread(target=report, args=(i,), daemon=True)
        for i in range(threads if rate != 0 else 0)
    ]
    workers.append(threading.Thread(target=answer, daemon=True))
    return _run(workers, stopping, duration, stats)


def _run(
    workers: list[threading.Thread], stopping: threading.Event, duration: float, stats: Stats
) -> Stats:
    began = time.monotonic()
    for worker in workers:
        worker.start()
    try:
        stopping.wait(duration)
    finally:
        stopping.set()
        for worker in workers:
            worker.join()
        stats.seconds = time.monotonic() - began
    return stats
