"""Benchmark: login throughput with real argon2id, and the latency other requests keep.

    python -m bench.login [--duration 15] [--logins 8] [--probes 2]

Serves the app on SQLite (a fresh data folder, one uvicorn worker) twice: once as built,
with password hashing in threads bounded by a per-app limiter sized to the CPU count, and
once, as the baseline, hashing on the event loop. For each, wrk first measures a cheap
authenticated GET (`/api/auth/me` with a bearer token) alone, then logins alone
(`POST /api/auth/token` as fast as the connections go), then both at once. Prints a table and writes
bench/results/login.json. Needs wrk (apt-get install wrk); not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path
from typing import Any

from bench.api import _free_port, _wait

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
PASSWORD = "Bench-Admin-2026"
MODES = {
    "limiter": "hashing in threads, limiter = CPU count",
    "event-loop": "hashing on the event loop (baseline)",
}
STATS_LUA = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("STATS %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    errors, latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""
LOGIN_BODY = json.dumps({"username": "admin", "password": PASSWORD})
LOGIN_LUA = (
    'wrk.method = "POST"\n'
    'wrk.headers["Content-Type"] = "application/json"\n'
    f"wrk.body = '{LOGIN_BODY}'\n" + STATS_LUA
)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=15, help="seconds per measurement")
    parser.add_argument("--logins", type=int, default=8, help="connections logging in")
    parser.add_argument("--probes", type=int, default=2, help="connections reading /me")
    parser.add_argument("--serve", choices=sorted(MODES), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.port)
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    results: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "argon2": _argon2_parameters(),
        "duration_s": args.duration,
        "login_connections": args.logins,
        "probe_connections": args.probes,
    }
    for mode in MODES:
        results[mode] = measure(mode, args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "login.json").write_text(json.dumps(results, indent=2))
    print_table(results)
    return 0


def serve(mode: str, port: int) -> int:
    """The server process: the app as `run.py serve` builds it, hashing where `mode` says."""
    import uvicorn

    from engine.settings import Settings
    from renderers.app import create_app
    from renderers.authentication import PasswordWork

    app = create_app(Settings())
    if mode == "event-loop":
        app.state.password_work = PasswordWork(limiter=None)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    return 0


def measure(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="anju-bench-login-"))
    env = {**os.environ, "ANJU_DATA_DIR": str(data_dir), "ANJU_ADMIN_PASSWORD": PASSWORD}
    env.pop("ANJU_DATABASE_URL", None)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", mode, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait(port)
        base = f"http://127.0.0.1:{port}"
        token = _token(base)
        me_lua = f'wrk.headers["Authorization"] = "Bearer {token}"\n' + STATS_LUA
        _wrk(base + "/api/auth/me", me_lua, 2, args.probes)  # warm-up
        idle = _wrk(base + "/api/auth/me", me_lua, args.duration, args.probes)
        logins_alone = _wrk(base + "/api/auth/token", LOGIN_LUA, args.duration, args.logins)
        loaded: dict[str, dict[str, float]] = {}

        def run(name: str, url: str, lua: str, connections: int) -> None:
            loaded[name] = _wrk(url, lua, args.duration, connections)

        threads = [
            threading.Thread(
                target=run, args=("logins", base + "/api/auth/token", LOGIN_LUA, args.logins)
            ),
            threading.Thread(target=run, args=("me", base + "/api/auth/me", me_lua, args.probes)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return {
            "me_alone": idle,
            "logins_alone": logins_alone,
            "logins": loaded["logins"],
            "me_during_logins": loaded["me"],
        }
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)


def print_table(results: dict[str, Any]) -> None:
    argon2 = results["argon2"]
    print(
        f"\nargon2id t={argon2['time_cost']} m={argon2['memory_kib']} KiB "
        f"p={argon2['parallelism']}; {results['cpus']} CPUs; {results['duration_s']} s each; "
        f"{results['login_connections']} connections logging in, "
        f"{results['probe_connections']} reading /api/auth/me\n"
    )
    header = (
        f"{'mode':40} {'logins/s':>9} {'logins/s':>9} {'/me alone':>14} "
        f"{'/me during logins':>18} {'/me':>7}"
    )
    subheader = (
        f"{'':40} {'alone':>9} {'w/ reads':>9} {'p50/p95 ms':>14} {'p50/p95 ms':>18} {'req/s':>7}"
    )
    print(header)
    print(subheader)
    print("-" * len(header))
    for mode, label in MODES.items():
        r = results[mode]
        alone, during = r["me_alone"], r["me_during_logins"]
        latency = (
            f"{during['p50_ms']:.0f} / {during['p95_ms']:.0f}" if during["requests"] else "none"
        )
        print(
            f"{label:40} {r['logins_alone']['rps']:>9.1f} {r['logins']['rps']:>9.1f} "
            f"{alone['p50_ms']:>6.1f} / {alone['p95_ms']:<5.1f} {latency:>18} "
            f"{during['rps']:>7.1f}"
        )
    errors = {
        mode: sum(
            results[mode][part]["errors"] for part in ("logins_alone", "logins", "me_during_logins")
        )
        for mode in MODES
    }
    print(f"\nfailed requests (non-2xx, timeouts): {errors}")


def _argon2_parameters() -> dict[str, int]:
    from engine.settings import Settings

    settings = Settings()
    return {
        "time_cost": settings.argon2_time_cost,
        "memory_kib": settings.argon2_memory_kib,
        "parallelism": settings.argon2_parallelism,
    }


def _token(base: str) -> str:
    body = json.dumps({"username": "admin", "password": PASSWORD}).encode()
    request = urllib.request.Request(
        base + "/api/auth/token", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["access_token"])


def _wrk(url: str, lua: str, duration: int, connections: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(lua)
        script.flush()
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "30s",
             "-s", script.name, url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout  # fmt: skip
    found = re.search(r"STATS (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    assert found, out
    requests, micros, errors, p50, p95, p99 = (int(x) for x in found.groups())
    return {
        "requests": requests,
        "rps": round(requests / (micros / 1e6), 1),
        "errors": errors,
        "p50_ms": round(p50 / 1000, 1),
        "p95_ms": round(p95 / 1000, 1),
        "p99_ms": round(p99 / 1000, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
