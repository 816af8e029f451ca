"""Benchmark: command round trips to 1,000 simulated devices.

    python bench/iot_commands.py [--devices 1000] [--rate 20] [--duration 20]
                                 [--mqtt-url mqtt://127.0.0.1:1883] [--data-dir DIR]

The same data folder and fleet as bench/iot_ingest.py (`--data-dir` reuses one). People ask
for commands through the API (`POST /api/iot/devices/{id}/commands`, low- and medium-risk
commands, to random devices) at `--rate` a second; the round trip runs from sending that
request to the command being stored as succeeded, watched in the database. Runs:

- baseline `mqtt_echo`: the same devices and broker without the platform — a command
  published straight to a device's topic, its `succeeded` reply taken off the broker;
- `mqtt`: the platform dispatches (a job publishes each command), the devices answer over
  MQTT, the bridge records the replies; also the dispatch delay (request → device);
- `http_poll`: a server without a broker; devices poll `GET /api/iot/commands/pending` every
  `--poll-seconds` and post their replies — the round trip is mostly the wait for the poll.

Writes bench/results/iot_commands.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.iot_ingest import ADMIN_PASSWORD, RESULTS, Bench, Server  # noqa: E402

COMMANDS = {  # a low- or medium-risk command of each shipped type
    "smart_lock": ("read_unlock_log", {}),
    "smart_breaker": ("switch_on", {}),
    "electricity_meter": ("read", {}),
    "water_meter": ("read", {}),
    "env_monitor": ("set_report_period", {"minutes": 10}),
}
TAIL_SECONDS = 3.0  # how long the fleet answers after the last request
REQUESTERS = 4  # people asking at once, so a slow answer does not slow the asking


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="commands requested a second")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--poll-seconds", type=float, default=5.0)
    parser.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--database-url", default=None, help="PostgreSQL instead of SQLite")
    args = parser.parse_args(argv)
    bench = Bench.prepare(args)
    results: dict[str, Any] = {
        "devices": len(bench.devices),
        "database": "postgresql" if args.database_url else "sqlite",
        "rate": args.rate,
        "duration_s": args.duration,
    }
    try:
        results["mqtt_echo"] = echo(bench, args.rate, args.duration)
        with Server(bench):
            results["mqtt"] = round_trips(bench, "mqtt", args.rate, args.duration, 0.0)
        http_env = {k: v for k, v in bench.env.items() if k != "ANJU_MQTT_URL"}
        with Server(bench, http_env):
            results["http_poll"] = round_trips(
                bench, "http", args.rate, args.duration, args.poll_seconds
            )
    finally:
        bench.close()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "iot_commands.json").write_text(json.dumps(results, indent=2))
    print_table(results)
    return 0


def echo(bench: Bench, rate: float, duration: float) -> dict[str, Any]:
    """Commands published straight to the devices on a prefix the platform does not read;
    the time until each `succeeded` reply is back at the bench."""
    import paho.mqtt.client as mqtt

    from iot.simulator.fleet import run_mqtt
    from iot.simulator.mqtt import MqttLink

    prefix = bench.env["ANJU_MQTT_TOPIC_PREFIX"] + "-echo"
    sent: dict[int, float] = {}
    done: dict[int, float] = {}

    def replied(_client: Any, _userdata: Any, message: Any) -> None:
        reply = json.loads(message.payload)
        if reply.get("status") == "succeeded":
            done[reply["id"]] = time.perf_counter()

    listener = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{prefix}-bench")
    listener.on_message = replied
    broker = urllib.parse.urlsplit(bench.mqtt_url)
    listener.connect(broker.hostname or "127.0.0.1", broker.port or 1883)
    listener.subscribe(f"{prefix}/+/replies", qos=1)
    listener.loop_start()
    link = MqttLink(bench.mqtt_url, bench.devices, prefix, clients=4)
    link.connect()
    stopping = threading.Event()

    def send() -> None:
        rng, command_id = random.Random(3), 0
        while not stopping.wait(1.0 / rate):
            device = rng.choice(bench.devices)
            command_id += 1
            name, params = COMMANDS[device.credential.type_name]
            sent[command_id] = time.perf_counter()
            payload = json.dumps({"id": command_id, "command": name, "params": params})
            listener.publish(f"{prefix}/{device.code}/commands", payload, qos=1)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        run_mqtt(bench.devices, link, 0, duration)
    finally:
        stopping.set()
        sender.join()
        settle(lambda: len(done) >= len(sent), 5.0)
        link.close()
        listener.disconnect()
        listener.loop_stop()
    return figures({i: done[i] - sent[i] for i in done}, len(sent))


def round_trips(
    bench: Bench, transport: str, rate: float, duration: float, poll_seconds: float
) -> dict[str, Any]:
    """Commands requested through the API while the fleet answers over `transport`."""
    from iot.simulator.fleet import Pace, run_http, run_mqtt
    from iot.simulator.http import HttpLink, HttpSession
    from iot.simulator.mqtt import MqttLink

    base = f"http://127.0.0.1:{bench.port}"
    token = bearer(base)
    requested: dict[int, float] = {}
    arrived: dict[int, float] = {}
    finished: dict[int, tuple[float, str]] = {}
    refused: list[str] = []
    stopping = threading.Event()
    ends_at = time.monotonic() + duration

    pace, lock, rng = Pace(rate), threading.Lock(), random.Random(5)

    def request() -> None:
        while time.monotonic() < ends_at and not stopping.is_set():
            pace.wait()
            with lock:
                device = rng.choice(bench.devices)
            name, params = COMMANDS[device.credential.type_name]
            began = time.perf_counter()
            body = {"command": name, "params": params}
            status, answer = post(
                f"{base}/api/iot/devices/{device.credential.device_id}/commands", body, token
            )
            if status == 201:
                requested[answer["id"]] = began
            else:
                refused.append(f"{status}: {answer}")

    def on_command(_code: str, command: dict[str, Any]) -> None:
        arrived.setdefault(int(command["id"]), time.perf_counter())

    watcher = Watcher(bench, requested, finished)
    requesters = [threading.Thread(target=request, daemon=True) for _ in range(REQUESTERS)]
    watcher.start()
    for requester in requesters:
        requester.start()
    try:
        if transport == "mqtt":
            prefix = bench.env["ANJU_MQTT_TOPIC_PREFIX"]
            link = MqttLink(bench.mqtt_url, bench.devices, prefix, 4, on_command)
            link.connect()
            try:
                stats = run_mqtt(bench.devices, link, 0, duration + TAIL_SECONDS)
            finally:
                link.close()
        else:
            http = HttpLink(HttpSession(base))
            tail = 2 * poll_seconds + TAIL_SECONDS  # the last commands' polls
            stats = run_http(
                bench.devices, http, 0, duration + tail, poll_seconds=poll_seconds, pollers=4
            )
        for requester in requesters:
            requester.join()
        settle(lambda: finished.keys() >= requested.keys(), TAIL_SECONDS)
    finally:
        stopping.set()
        watcher.stop()
    round_trip = {i: end - requested[i] for i, (end, _) in finished.items() if i in requested}
    result = figures(round_trip, len(requested))
    result["statuses"] = count_statuses(finished)
    result["refused_requests"] = len(refused)
    result["first_refusal"] = refused[0] if refused else None
    result["fleet_errors"] = stats.errors
    if arrived:
        dispatch = {i: arrived[i] - requested[i] for i in arrived if i in requested}
        result["dispatch"] = figures(dispatch, len(requested))
    return result


class Watcher:
    """Looks in the database every 5 ms for commands that became final."""

    def __init__(
        self, bench: Bench, requested: dict[int, float], finished: dict[int, tuple[float, str]]
    ) -> None:
        self.bench, self.requested, self.finished = bench, requested, finished
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()

    def run(self) -> None:
        import sqlalchemy as sa

        from iot.tables import FINAL, commands

        while not self.stopping.wait(0.005):
            open_ids = [i for i in list(self.requested) if i not in self.finished]
            if not open_ids:
                continue
            query = sa.select(commands.c.id, commands.c.status).where(
                commands.c.id.in_(open_ids), commands.c.status.in_(FINAL)
            )
            with self.bench.runtime.engine.connect() as conn:
                rows = conn.execute(query).all()
            now = time.perf_counter()
            for command_id, status in rows:
                self.finished[command_id] = (now, status)


def bearer(base: str) -> str:
    status, answer = post(
        f"{base}/api/auth/token", {"username": "admin", "password": ADMIN_PASSWORD}
    )
    if status != 200:
        raise RuntimeError(f"no token for admin: {status} {answer}")
    return str(answer["access_token"])


def post(url: str, body: dict[str, Any], token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()[:300]


def settle(done: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)


def count_statuses(finished: dict[int, tuple[float, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, status in finished.values():
        counts[status] = counts.get(status, 0) + 1
    return counts


def figures(seconds_by_id: dict[int, float], asked: int) -> dict[str, Any]:
    from iot.simulator.fleet import percentile

    ordered = sorted(value * 1000 for value in seconds_by_id.values())
    return {
        "commands": asked,
        "completed": len(ordered),
        "p50_ms": percentile(ordered, 50),
        "p99_ms": percentile(ordered, 99),
        "max_ms": round(ordered[-1], 1) if ordered else None,
    }


def print_table(results: dict[str, Any]) -> None:
    print(
        f"{results['devices']} devices, {results['rate']} commands/s for "
        f"{results['duration_s']} s on {results['database']}"
    )
    for name in ("mqtt_echo", "mqtt", "http_poll"):
        row = results[name]
        print(
            f"  {name:10} round trip p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms "
            f"({row['completed']}/{row['commands']} completed)"
        )
        if "dispatch" in row:
            d = row["dispatch"]
            print(f"  {'':10} request → device p50 {d['p50_ms']} ms, p99 {d['p99_ms']} ms")


if __name__ == "__main__":
    sys.exit(main())
