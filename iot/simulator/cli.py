"""`run.py simulate-devices`: a fleet of simulated devices against a running platform.

    python run.py simulate-devices --n 1000 --provision --credentials var/sim.json
    python run.py simulate-devices --credentials var/sim.json --transport mqtt \\
        --mqtt-url mqtt://127.0.0.1:1883 --rate 2000 --duration 60 --mix normal:90,silent:10

`--provision` creates the device records and their secrets in the configured database
(`ANJU_DATABASE_URL` / `ANJU_DATA_DIR`) and writes the credentials file (with
`--duration 0` that is all it does); without it the devices come from the file. The run
prints what the fleet sent, what the platform accepted and refused, the commands it
answered and, over HTTP, request latencies.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.settings import Settings
    from iot.simulator.device import Behaviour, SimulatedDevice
    from iot.simulator.fleet import Stats

DEFAULT_CREDENTIALS = Path("var/simulator-credentials.json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=1000, help="devices (default 1000)")
    parser.add_argument("--transport", choices=["http", "mqtt"], default="http")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the platform's base URL")
    parser.add_argument("--mqtt-url", default=None, help="default: ANJU_MQTT_URL")
    parser.add_argument(
        "--rate",
        type=_rate,
        default=100.0,
        help="telemetry messages per second, all devices; max: as fast as they go; 0: none",
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds to run")
    parser.add_argument(
        "--provision", action="store_true", help="create the devices and write --credentials"
    )
    parser.add_argument("--credentials", type=Path, default=DEFAULT_CREDENTIALS)
    parser.add_argument("--types", default="", help="device types to provision, a,b (default all)")
    parser.add_argument("--code-prefix", default="SIM", help="device codes: <prefix>-000001…")
    parser.add_argument(
        "--mix",
        default="normal:100",
        help="behaviours in percent: normal:90,failing:4,silent:2,slow:2,bad_payloads:2",
    )
    parser.add_argument("--batch", type=int, default=1, help="HTTP: messages per request")
    parser.add_argument(
        "--threads", type=int, default=4, help="sending threads (HTTP: and polling threads)"
    )
    parser.add_argument("--poll-seconds", type=float, default=5.0, help="HTTP: command polls")
    parser.add_argument("--mqtt-clients", type=int, default=4, help="MQTT connections to share")
    parser.add_argument("--slow-seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def main(argv: list[str] | None = None) -> int:
    """`python -m iot.simulator.cli …`: the same command outside run.py."""
    from engine.settings import Settings

    parser = argparse.ArgumentParser(prog="simulate-devices", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(Settings(), parser.parse_args(argv))


def run(settings: Settings, args: argparse.Namespace) -> int:
    from iot.simulator.fleet import run_http, run_mqtt
    from iot.simulator.http import HttpLink, HttpSession
    from iot.simulator.mqtt import MqttLink

    try:
        mix = parse_mix(args.mix)
    except ValueError as exc:
        print(f"error: --mix: {exc}", file=sys.stderr)
        return 2
    if args.provision:
        _provision(settings, args)
        if args.duration <= 0:
            return 0
    elif not args.credentials.exists():
        print(f"error: no credentials file {args.credentials}; use --provision", file=sys.stderr)
        return 2
    devices = fleet(args.credentials, args.n, mix, args.seed, args.slow_seconds)
    if args.transport == "http":
        session = HttpSession(args.url)
        stats = run_http(
            devices,
            HttpLink(session),
            args.rate,
            args.duration,
            batch=max(1, args.batch),
            threads=args.threads,
            poll_seconds=args.poll_seconds,
            pollers=max(1, args.threads),
        )
    else:
        url = args.mqtt_url or settings.mqtt_url
        if not url:
            print("error: give --mqtt-url (or set ANJU_MQTT_URL)", file=sys.stderr)
            return 2
        link = MqttLink(url, devices, settings.mqtt_topic_prefix, args.mqtt_clients)
        link.connect()
        try:
            stats = run_mqtt(devices, link, args.rate, args.duration, threads=args.threads)
        finally:
            link.close()
    _report(stats, devices, args)
    return 0 if stats.errors == 0 else 1


def _rate(text: str) -> float | None:
    if text == "max":
        return None
    rate = float(text)
    if rate < 0:
        raise argparse.ArgumentTypeError("a rate is 0 or more, or max")
    return rate


def parse_mix(text: str) -> dict[Behaviour, float]:
    """`normal:90,silent:10` → shares that add up to 1."""
    from iot.simulator.device import BEHAVIOURS

    shares: dict[Behaviour, float] = {}
    for part in filter(None, (item.strip() for item in text.split(","))):
        name, _, percent = part.partition(":")
        behaviour = next((b for b in BEHAVIOURS if b == name), None)
        if behaviour is None:
            raise ValueError(f"unknown behaviour {name!r}; known: {', '.join(BEHAVIOURS)}")
        try:
            shares[behaviour] = float(percent or 100)
        except ValueError:
            raise ValueError(f"{part!r}: expected behaviour:percent") from None
    total = sum(shares.values())
    if total <= 0:
        raise ValueError("give at least one behaviour with a share above 0")
    return {name: share / total for name, share in shares.items()}


def fleet(
    credentials_file: Path,
    count: int,
    mix: dict[Behaviour, float],
    seed: int = 2026,
    slow_seconds: float = 20.0,
) -> list[SimulatedDevice]:
    """The first `count` devices of the credentials file, behaviours dealt by `mix`."""
    from iot.simulator.device import SimulatedDevice
    from iot.simulator.provision import read_credentials

    credentials, types = read_credentials(credentials_file)
    chosen = credentials[:count]
    behaviours = deal(mix, len(chosen))
    return [
        SimulatedDevice(c, types[c.type_name], behaviour, seed, slow_seconds)
        for c, behaviour in zip(chosen, behaviours, strict=True)
    ]


def deal(mix: dict[Behaviour, float], count: int) -> list[Behaviour]:
    """`count` behaviours in the proportions of `mix`, spread evenly over the fleet."""
    dealt: list[Behaviour] = []
    owed = dict.fromkeys(mix, 0.0)
    for _ in range(count):
        for name, share in mix.items():
            owed[name] += share
        chosen = max(owed, key=lambda name: owed[name])
        owed[chosen] -= 1.0
        dealt.append(chosen)
    return dealt


def _provision(settings: Settings, args: argparse.Namespace) -> None:
    from engine.runtime import Runtime
    from iot.registry import device_types
    from iot.simulator.provision import provision, write_credentials

    runtime = Runtime.create(settings.model_copy(update={"job_threads": False}))
    try:
        runtime.start()
        names = [name for name in args.types.split(",") if name]
        credentials = provision(runtime, args.n, names, args.code_prefix)
        write_credentials(args.credentials, credentials, device_types(runtime.require_catalog()))
    finally:
        runtime.dispose()
    print(f"provisioned {len(credentials)} devices; credentials in {args.credentials}")


def _report(stats: Stats, devices: list[SimulatedDevice], args: argparse.Namespace) -> None:
    figures = {
        "devices": len(devices),
        "transport": args.transport,
        "rate": args.rate,
        "bad_reports": sum(device.tally.bad_reports for device in devices),
        **stats.as_json(),
    }
    if args.transport == "mqtt":  # publishing gets no answer: nothing was counted for these
        for name in ("accepted", "rejected", "requests", "p50_ms", "p99_ms"):
            figures.pop(name)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(
        f"{figures['devices']} devices over {args.transport} for {figures['seconds']} s: "
        f"{figures['reports']} reports ({figures['reports_per_s']}/s, "
        f"{figures['bad_reports']} malformed on purpose)"
    )
    if args.transport == "http":
        print(
            f"  accepted {figures['accepted']}, refused {figures['rejected']}, "
            f"{figures['requests']} requests, p50 {figures['p50_ms']} ms, "
            f"p99 {figures['p99_ms']} ms"
        )
    print(f"  commands received {figures['commands']}, replies sent {figures['replies']}")
    if stats.errors:
        print(f"  {stats.errors} errors, the first: {stats.first_error}")


if __name__ == "__main__":
    sys.exit(main())
