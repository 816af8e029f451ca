"""Benchmark: telemetry ingest from 1,000 simulated devices over HTTP and MQTT.

    python bench/iot_ingest.py [--devices 1000] [--units 1000] [--duration 20]
                               [--mqtt-url mqtt://127.0.0.1:1883 | --private-broker]
                               [--data-dir DIR] [--database-url postgresql://…]

Loads demo units, provisions the devices (five device types in turn, bound to units) and
serves the platform with `run.py serve` (uvicorn, one process, its MQTT bridge running) on
a fresh data folder; Mosquitto must be running, or `--private-broker` starts one of the
bench's own (`/usr/sbin/mosquitto`) with the per-client queue docs/devices-telemetry.md
asks for (`max_queued_messages 200000`, `max_inflight_messages 1000`): with Mosquitto's
default of 1,000 queued messages, a broker drops QoS-1 messages while the bridge is busy.

Each run lasts `--duration` seconds (after 3 s of unmeasured warm-up through the server) and
is counted in stored points (values), from the database, not in what the clients sent:

- baseline `direct_insert`: narrow rows inserted straight into `anju_telemetry`, 500
  messages a transaction — the database's ceiling, with no checks, state or rollups;
- baselines `ingest_without_rules` and `ingest_in_process`: `ingest_batch` called in this
  process with batches of 500 messages from many devices — ingest alone (the reading
  listeners set aside), then with the device rules evaluating every reading as they do in
  the server: the whole ingest, without a transport;
- `http_single`: one message a request, 8 connections, as fast as they go;
- `http_batch`: 100 messages a request (one device's buffered readings), 4 connections;
- `mqtt`: reports published (QoS 1) at a steady rate per step; latency is publish → stored,
  sampled by probes (a report whose row is looked for in the database until it is there).

Target: ≥ 5,000 points/s through HTTP batches and through MQTT. Writes
bench/results/iot_ingest.json (iot_ingest-postgresql.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
ADMIN_PASSWORD = "Bench#Admin2026"
TARGET_POINTS = 5000
BATCH = 500  # messages a transaction in the baselines, as the bridge's default batch
WARM_UP_S = 3.0  # unmeasured load before each run through the server
STOP_SECONDS = 60


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    parser.add_argument(
        "--mqtt-rates",
        default="1250,2500",
        help="messages/s published in each MQTT step (about 4 points a message)",
    )
    parser.add_argument(
        "--private-broker", action="store_true", help="start a Mosquitto of the bench's own"
    )
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--database-url", default=None, help="PostgreSQL instead of SQLite")
    args = parser.parse_args(argv)
    broker = private_broker() if args.private_broker else None
    if broker is not None:
        args.mqtt_url = broker[0]
    bench = Bench.prepare(args)
    results: dict[str, Any] = {
        "devices": args.devices,
        "database": "postgresql" if args.database_url else "sqlite",
        "duration_s": args.duration,
        "cpus": os.cpu_count(),
        "points_per_message": round(bench.points_per_message, 2),
    }
    suffix = "-postgresql" if args.database_url else ""
    out = RESULTS / f"iot_ingest{suffix}.json"

    def record(name: str, figures: Any) -> None:
        """Keep each run's figures as they come: a later failure loses only its own."""
        results[name] = figures
        RESULTS.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2))
        print(f"{name}: {json.dumps(figures)}", flush=True)

    try:
        record("direct_insert", bench.direct_insert(args.duration))
        record("ingest_without_rules", bench.ingest_in_process(args.duration, rules=False))
        record("ingest_in_process", bench.ingest_in_process(args.duration))
        with bench.server():
            record("http_single", bench.http(args.duration, batch=1, threads=8))
            record("http_batch", bench.http(args.duration, batch=100, threads=4))
            steps = [float(rate) for rate in args.mqtt_rates.split(",")]
            for number, rate in enumerate(steps):
                measured = bench.mqtt(args.duration, rate)
                record("mqtt", [*results.get("mqtt", []), measured])
                if number < len(steps) - 1:
                    bench.drain(bench.stored(), float("inf"))  # the next step starts empty
    finally:
        bench.close()
        if broker is not None:
            broker[1].terminate()
            broker[1].wait(10)
    print_table(results)
    return 0


class Bench:
    """The data folder, its provisioned fleet and the server under test."""

    def __init__(self, env: dict[str, str], credentials: Path, mqtt_url: str) -> None:
        from iot.simulator.cli import fleet

        self.env, self.credentials, self.mqtt_url = env, credentials, mqtt_url
        self.devices = fleet(credentials, 10**9, {"normal": 1.0})
        self.ids = {d.code: int(d.credential.device_id or 0) for d in self.devices}
        fields = [len(d.device_type.telemetry) for d in self.devices]
        self.points_per_message = sum(fields) / len(fields)
        self.runtime = runtime_of(env)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def prepare(cls, args: argparse.Namespace) -> Bench:
        data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="anju-bench-iot-"))
        env = bench_env(data_dir, args.database_url, args.mqtt_url)
        credentials = data_dir / "simulator-credentials.json"
        if not credentials.exists():
            run_py(env, "demo-data", "--units", str(args.units))
            run_py(
                env,
                "simulate-devices",
                "--provision",
                "--n",
                str(args.devices),
                "--credentials",
                str(credentials),
                "--duration",
                "0",
                "--poll-seconds",
                "0",
            )
        return cls(env, credentials, args.mqtt_url)

    def close(self) -> None:
        self.runtime.dispose()

    # the baselines, in this process

    def direct_insert(self, duration: float) -> dict[str, Any]:
        """Rows straight into the telemetry table, for devices that do not exist (ids below
        zero), deleted afterwards."""
        from engine.database import write_transaction
        from iot.tables import telemetry

        started, stored, ts = time.perf_counter(), 0, int(time.time() * 1000)
        latencies = []
        while time.perf_counter() - started < duration:
            rows = []
            for index in range(BATCH):
                device = self.devices[index % len(self.devices)]
                values = device.readings.next()
                ts += 1
                rows += [
                    {
                        "device_id": -1 - index,
                        "field": field,
                        "ts": ts,
                        "value": float(value),
                        "text": None,
                    }
                    for field, value in values.items()
                    if not isinstance(value, str)
                ]
            began = time.perf_counter()
            with write_transaction(self.runtime.engine) as conn:
                conn.execute(telemetry.insert(), rows)
            latencies.append((time.perf_counter() - began) * 1000)
            stored += len(rows)
        seconds = time.perf_counter() - started
        with write_transaction(self.runtime.engine) as conn:
            conn.execute(telemetry.delete().where(telemetry.c.device_id < 0))
        return rate_figures(stored, seconds, latencies, "transaction of 500 messages")

    def ingest_in_process(self, duration: float, rules: bool = True) -> dict[str, Any]:
        """`ingest_batch` of 500 messages from many devices, as the bridge calls it; without
        `rules`, the reading listeners (the device rules) are set aside for the run, to
        tell what ingest itself costs from what evaluating the rules adds."""
        from iot import readings
        from iot.registry import load_device
        from iot.telemetry.ingest import ingest_batch

        listeners = list(readings._listeners), list(readings._batch_listeners)
        if not rules:
            readings._listeners.clear()
            readings._batch_listeners.clear()
        try:
            return self._ingest_in_process(duration, load_device, ingest_batch)
        finally:
            readings._listeners[:], readings._batch_listeners[:] = listeners

    def _ingest_in_process(
        self, duration: float, load_device: Any, ingest_batch: Any
    ) -> dict[str, Any]:
        catalog = self.runtime.require_catalog()
        with self.runtime.engine.connect() as conn:
            known = {d.code: load_device(conn, catalog, self.ids[d.code]) for d in self.devices}
        before, started, latencies = self.stored(), time.perf_counter(), []
        turn = 0
        while time.perf_counter() - started < duration:
            per_device: dict[str, list[Any]] = {}
            for _ in range(BATCH):
                device = self.devices[turn % len(self.devices)]
                turn += 1
                per_device.setdefault(device.code, []).append(device.report(now_ms()))
            batch = [(known[code], messages) for code, messages in per_device.items()]
            began = time.perf_counter()
            ingest_batch(self.runtime, catalog, batch, "mqtt", self.runtime.clock.now())
            latencies.append((time.perf_counter() - began) * 1000)
        seconds = time.perf_counter() - started
        return rate_figures(self.stored() - before, seconds, latencies, "batch of 500 messages")

    # through the server

    def server(self) -> Server:
        return Server(self)

    def http(self, duration: float, batch: int, threads: int) -> dict[str, Any]:
        from iot.simulator.fleet import run_http
        from iot.simulator.http import HttpLink, HttpSession

        session = HttpSession(f"http://127.0.0.1:{self.port}")
        run_http(self.devices, HttpLink(session), None, WARM_UP_S, batch, threads, 0)
        before = self.stored()
        stats = run_http(self.devices, HttpLink(session), None, duration, batch, threads, 0)
        figures = rate_figures(
            self.stored() - before,
            stats.seconds,
            stats.latencies_ms,
            f"request of {batch} message{'s' * (batch > 1)}",
        )
        figures.update(
            messages=stats.reports,
            accepted=stats.accepted,
            errors=stats.errors,
            first_error=stats.first_error,
        )
        return figures

    def mqtt(self, duration: float, rate: float) -> dict[str, Any]:
        """Publish at `rate` messages/s for `duration`; then wait for the backlog to drain."""
        from iot.simulator.fleet import run_mqtt
        from iot.simulator.mqtt import MqttLink

        prefix = self.env["ANJU_MQTT_TOPIC_PREFIX"]
        link = MqttLink(self.mqtt_url, self.devices, prefix, clients=4)
        link.connect()
        run_mqtt(self.devices, link, rate, WARM_UP_S, threads=2)
        self.drain(self.stored(), float("inf"))
        probe = Probe(self, link)
        before, reports = self.stored(), {d.code: d.tally.reports for d in self.devices}
        try:
            probe.start()
            stats = run_mqtt(self.devices, link, rate, duration, threads=2)
            stored_in_window = self.stored() - before
            probe.stop()
            published = probe.points + sum(
                (d.tally.reports - reports[d.code]) * len(d.device_type.telemetry)
                for d in self.devices
            )
            drained_at = self.drain(before, published)
        finally:
            link.close()
        figures = rate_figures(
            stored_in_window, stats.seconds, probe.latencies_ms, "publish → stored (probes)"
        )
        figures.update(
            rate_asked=rate,
            messages=stats.reports,
            messages_per_s=round(stats.reports / stats.seconds, 1),
            points_published=published,
            stored_after_drain=self.stored() - before,
            drain_s=drained_at,
            probes=len(probe.latencies_ms),
            probes_lost=probe.lost,
        )
        return figures

    def drain(self, before: int, expected: float, limit: float = 60.0) -> float | None:
        """Seconds until the stored points stop growing (or reach `expected`)."""
        began, last, still = time.monotonic(), -1, 0
        while time.monotonic() - began < limit:
            stored = self.stored() - before
            if stored >= expected * 0.999:
                return round(time.monotonic() - began, 2)
            still = still + 1 if stored == last else 0
            if still >= 10:  # two seconds without a new point: what is missing is lost
                return round(time.monotonic() - began, 2)
            last = stored
            time.sleep(0.2)
        return None

    def stored(self) -> int:
        import sqlalchemy as sa

        from iot.tables import telemetry

        with self.runtime.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(telemetry)).scalar())


class Server:
    """`run.py serve` on a free port for the length of a `with` block (in the bench's
    environment, or `env`)."""

    def __init__(self, bench: Bench, env: dict[str, str] | None = None) -> None:
        self.bench, self.env = bench, env or bench.env

    def __enter__(self) -> Server:
        port = free_port()
        command = [sys.executable, "run.py", "serve", "--port", str(port), "--log-level", "warning"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)
        wait_for(port)
        self.bench.port = port
        time.sleep(1.0)  # the bridge subscribes once the app has started
        return self

    def __exit__(self, *_exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            print(f"the server did not stop within {STOP_SECONDS} s of SIGTERM; killed it")
            self.process.kill()
            self.process.wait()


class Probe:
    """Samples publish → stored: one report at a time from a random device of the fleet,
    stamped with a time no other report uses, looked for until its row is stored."""

    def __init__(self, bench: Bench, link: Any) -> None:
        self.bench, self.link = bench, link
        self.latencies_ms: list[float] = []
        self.lost = self.points = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()

    def run(self) -> None:
        import sqlalchemy as sa

        from iot.tables import telemetry

        rng = random.Random(7)
        while not self.stopping.wait(0.1):
            device = rng.choice(self.bench.devices)
            ts = now_ms() - 7_000 - rng.randrange(1000)  # a time the paced reports never use
            report = {"ts": ts, "values": device.readings.next()}
            field = next(iter(report["values"]))
            query = sa.select(telemetry.c.ts).where(
                telemetry.c.device_id == self.bench.ids[device.code],
                telemetry.c.field == field,
                telemetry.c.ts == ts,
            )
            began = time.perf_counter()
            self.link.send(device, report)
            self.points += len(report["values"])
            while time.perf_counter() - began < 30:
                with self.bench.runtime.engine.connect() as conn:
                    if conn.execute(query).first() is not None:
                        self.latencies_ms.append((time.perf_counter() - began) * 1000)
                        break
                time.sleep(0.002)
            else:
                self.lost += 1


# helpers


def bench_env(data_dir: Path, database_url: str | None, mqtt_url: str) -> dict[str, str]:
    """The environment of the server and of this process: the data folder, the broker and
    a topic prefix of this run's own (a shared broker may carry other runs' traffic)."""
    env = {
        **os.environ,
        "ANJU_DATA_DIR": str(data_dir),
        "ANJU_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ANJU_MQTT_URL": mqtt_url,
        "ANJU_MQTT_TOPIC_PREFIX": f"bench{uuid.uuid4().hex[:8]}",
        "ANJU_DEMO_PASSWORD": "Bench#Demo2026a1",
    }
    if database_url:
        env["ANJU_DATABASE_URL"] = database_url
    return env


def runtime_of(env: dict[str, str]) -> Any:
    """A started runtime on the benchmark's database, with no job threads or services."""
    from engine.runtime import Runtime
    from engine.settings import Settings

    os.environ.update(env)
    runtime = Runtime.create(Settings(job_threads=False))
    runtime.start()
    return runtime


def private_broker() -> tuple[str, subprocess.Popen[bytes]]:
    """A Mosquitto on a free port with a per-client queue large enough for the bench's bursts,
    and its URL."""
    port = free_port()
    conf = Path(tempfile.mkdtemp(prefix="anju-bench-mosquitto-")) / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n"
        "max_queued_messages 200000\nmax_inflight_messages 1000\n"
    )
    process = subprocess.Popen(["/usr/sbin/mosquitto", "-c", str(conf)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return f"mqtt://127.0.0.1:{port}", process
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("the private Mosquitto did not start")


def run_py(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, env=env, check=True)


def now_ms() -> int:
    return int(time.time() * 1000)


def rate_figures(
    points: int, seconds: float, latencies_ms: list[float], latency_of: str
) -> dict[str, Any]:
    from iot.simulator.fleet import percentile

    ordered = sorted(latencies_ms)
    return {
        "points": points,
        "seconds": round(seconds, 2),
        "points_per_s": round(points / seconds, 1) if seconds else 0.0,
        "latency_of": latency_of,
        "p50_ms": percentile(ordered, 50),
        "p99_ms": percentile(ordered, 99),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/-/health", timeout=1)
            return
        except OSError as exc:
            if getattr(exc, "code", None) == 404:
                return
            time.sleep(0.3)
    raise RuntimeError(f"server on port {port} did not start")


def print_table(results: dict[str, Any]) -> None:
    print(
        f"{results['devices']} devices on {results['database']}, {results['cpus']} CPUs, "
        f"{results['points_per_message']} points a message"
    )
    rows = [
        (name, results[name])
        for name in (
            "direct_insert",
            "ingest_without_rules",
            "ingest_in_process",
            "http_single",
            "http_batch",
        )
        if name in results
    ]
    rows += [(f"mqtt @ {s['rate_asked']:.0f} msg/s", s) for s in results.get("mqtt", [])]
    for name, row in rows:
        verdict = (
            ""
            if name.startswith(("direct", "ingest", "http_single"))
            else ("  ok" if row["points_per_s"] >= TARGET_POINTS else f"  under {TARGET_POINTS}")
        )
        print(
            f"  {name:24} {row['points_per_s']:>10.0f} points/s   p50 {row['p50_ms']} ms, "
            f"p99 {row['p99_ms']} ms ({row['latency_of']}){verdict}"
        )


if __name__ == "__main__":
    sys.exit(main())
