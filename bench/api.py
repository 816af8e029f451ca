"""Benchmark: the generated list and get-by-id endpoints against a hand-written baseline.

    python bench/api.py --units 450000 [--duration 20] [--connections 50]

Loads demo data (timed), serves the generated API and bench/handwritten.py from the same
database with the same uvicorn settings, drives both with wrk over loopback, times
publishing an added field on the unit table, and writes bench/results/api.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "Bench#Admin2026"
RESULTS = ROOT / "bench" / "results"
LIST_LUA = """
local d = {districts}
math.randomseed(42)
request = function()
  return wrk.format("GET", "{path}?district=" .. d[math.random(#d)] .. "&status=vacant{extra}")
end
"""
GET_LUA = """
math.randomseed(7)
request = function()
  return wrk.format("GET", "{path}/" .. math.random({max_id}))
end
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=450_000)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--data-dir", type=Path, default=None, help="data folder; reused if loaded")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="anju-bench-"))
    env = {**os.environ, "ANJU_DATA_DIR": str(data_dir), "ANJU_ADMIN_PASSWORD": ADMIN_PASSWORD}
    results: dict[str, object] = {
        "units": args.units,
        "connections": args.connections,
        "duration_s": args.duration,
    }
    if not (data_dir / "anju.db").exists():
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "run.py", "demo-data", "--units", str(args.units)],
            cwd=ROOT,
            env=env,
            check=True,
        )
        results["demo_data_s"] = round(time.perf_counter() - started, 1)
    districts, max_id = _sample(env)
    servers = {
        "generated": (
            ["run.py", "serve", "--port", "{port}", "--log-level", "warning"],
            "/api/housing_stock/housing_unit",
            "&sort=monthly_rent",
        ),
        "handwritten": (
            [
                "-m",
                "uvicorn",
                "bench.handwritten:app",
                "--port",
                "{port}",
                "--log-level",
                "warning",
            ],
            "/units",
            "",
        ),
    }
    for name, (command, path, extra) in servers.items():
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, *[part.format(port=port) for part in command]],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(port)
            base = f"http://127.0.0.1:{port}"
            token = _token(base, "admin", ADMIN_PASSWORD) if name == "generated" else None
            scripts = {
                "list": LIST_LUA.format(
                    districts="{" + ",".join(map(str, districts)) + "}", path=path, extra=extra
                ),
                "get": GET_LUA.format(path=path, max_id=max_id),
            }
            for kind, lua in scripts.items():
                _wrk(base, lua, 3, args.connections, token)  # warm-up
                results[f"{name}_{kind}"] = _wrk(base, lua, args.duration, args.connections, token)
        finally:
            process.terminate()
            process.wait(10)
    results["publish_added_field_s"] = _time_publish(env)
    failed = [k for k, v in results.items() if isinstance(v, dict) and v["non_2xx"]]
    if failed:
        sys.exit(f"requests failed in {failed}; the figures would be meaningless: {results}")
    for kind in ("list", "get"):
        generated, handwritten = results[f"generated_{kind}"], results[f"handwritten_{kind}"]
        results[f"{kind}_ratio"] = round(generated["rps"] / handwritten["rps"], 3)  # type: ignore[index]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "api.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


def _sample(env: dict[str, str]) -> tuple[list[int], int]:
    code = (
        "import sqlalchemy as sa\n"
        "from engine.settings import Settings\nfrom engine.database import create_database_engine\n"
        "e = create_database_engine(Settings())\n"
        "with e.connect() as c:\n"
        "    q = 'select distinct district from housing_stock__housing_unit'\n"
        "    d = c.execute(sa.text(q)).scalars().all()\n"
        "    m = c.execute(sa.text('select max(id) from housing_stock__housing_unit')).scalar()\n"
        "print(','.join(map(str, d))); print(m)\n"
    )
    first, second = _python(env, code)[-2:]
    return [int(x) for x in first.split(",") if x], int(second)


def _wrk(
    base: str, lua: str, duration: int, connections: int, token: str | None = None
) -> dict[str, float]:
    headers = ["-H", f"Authorization: Bearer {token}"] if token else []
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(lua)
        script.flush()
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{duration}s",
                "--latency",
                *headers,
                "-s",
                script.name,
                base,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": _latency(out, "50%"),
        "p99_ms": _latency(out, "99%"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def _latency(out: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)


def _time_publish(env: dict[str, str]) -> float:
    code = (
        "import time\nfrom engine.settings import Settings\nfrom engine.runtime import Runtime\n"
        "rt = Runtime.create(Settings()); rt.start(); c = rt.require_catalog()\n"
        "contents = dict(c.definitions.contents)\n"
        "key = ('housing_stock', 'entity', 'housing_unit')\n"
        "entity = dict(contents[key]); fields = dict(entity['fields'])\n"
        "label = {'zh': '备注', 'en': 'Note'}\n"
        "name = f'bench_note_{int(time.time())}'\n"
        "fields[name] = {'type': 'string', 'max_length': 50, 'label': label}\n"
        "entity['fields'] = fields; contents[key] = entity\n"
        "t = time.perf_counter(); rt.publish_contents(contents, 'bench', 'bench: add a field')\n"
        "print(time.perf_counter() - t)\n"
    )
    return round(float(_python(env, code)[-1]), 2)


def _python(env: dict[str, str], code: str) -> list[str]:
    """Run `code` in a fresh interpreter on the benchmark's data folder; its output lines."""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()


def _token(base: str, username: str, password: str) -> str:
    """A bearer token for `username` from the server at `base`."""
    request = urllib.request.Request(
        f"{base}/api/auth/token",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["access_token"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, timeout: float = 120) -> None:
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


if __name__ == "__main__":
    sys.exit(main())
