"""Benchmark: server time of the HTML screens against the JSON API for the same data.

    python bench/screens.py --units 450000 [--requests 1000] [--data-dir DIR]

Loads demo data (timed; a `--data-dir` already loaded is reused), builds the app in-process,
logs in through the login form as `admin` (a browser session: cookie and CSRF token) and
sends, interleaved, the same requests to the HTML screen and to the JSON API:

- the list, `/housing_stock/housing_unit?limit=50` and `/api/…?limit=50`;
- a filtered and sorted list, `?district=<d>&status=vacant&sort=monthly_rent&limit=50`
  (a random district each time, the same one for both sides);
- the detail page of a random unit and the JSON get of the same unit.

Server time is the time of `await app(scope, receive, send)`, taken by a timing wrapper
around the whole app (authentication, routing, the records service, rendering), so the test
client's own work does not blur the ratio. Writes bench/results/screens.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: `python bench/screens.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.api import ADMIN_PASSWORD, ROOT, _sample

RESULTS = ROOT / "bench" / "results"
TARGET = 1.5  # HTML at most 1.5 times the JSON API's server time
UNITS = "/housing_stock/housing_unit"
HTML = {"Accept": "text/html,application/xhtml+xml"}
JSON = {"Accept": "application/json"}


class Timed:
    """The app, with the server time of every HTTP request it answers appended to `times`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.times: list[float] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        await self.app(scope, receive, send)
        self.times.append(time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=450_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--data-dir", type=Path, default=None, help="data folder; reused if loaded")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="anju-bench-"))
    env = {**os.environ, "ANJU_DATA_DIR": str(data_dir), "ANJU_ADMIN_PASSWORD": ADMIN_PASSWORD}
    results: dict[str, Any] = {"units": args.units, "requests": args.requests}
    if not (data_dir / "anju.db").exists():
        started = time.perf_counter()
        command = [sys.executable, "run.py", "demo-data", "--units", str(args.units)]
        subprocess.run(command, cwd=ROOT, env=env, check=True)
        results["demo_data_s"] = round(time.perf_counter() - started, 1)
    districts, max_id = _sample(env)
    os.environ.update(ANJU_DATA_DIR=str(data_dir), ANJU_ADMIN_PASSWORD=ADMIN_PASSWORD)
    results.update(measure(args.requests, districts, max_id, random.Random(args.seed)))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "screens.json").write_text(json.dumps(results, indent=2))
    print_table(results)
    return 0


def measure(
    requests: int, districts: list[int], max_id: int, rng: random.Random
) -> dict[str, dict[str, Any]]:
    """Each scenario's HTML and JSON server times; the requests of all scenarios interleave."""
    from renderers.app import create_app

    timed = Timed(create_app())
    scenarios: dict[str, Callable[[], str]] = {
        "list": lambda: f"{UNITS}?limit=50",
        "list_filtered_sorted": lambda: (
            f"{UNITS}?district={rng.choice(districts)}&status=vacant&sort=monthly_rent&limit=50"
        ),
        "detail": lambda: f"{UNITS}/{rng.randint(1, max_id)}",
    }
    times: dict[str, dict[str, list[float]]] = {s: {"html": [], "json": []} for s in scenarios}
    with TestClient(timed, follow_redirects=False) as client:
        _log_in(client)
        for number in range(requests + requests // 10):  # the first tenth warms up
            for scenario, url_of in scenarios.items():
                url = url_of()
                sides = [("html", url, HTML), ("json", f"/api{url}", JSON)]
                for side, path, headers in sides if number % 2 else sides[::-1]:
                    response = client.get(path, headers=headers)
                    if response.status_code != 200:
                        sys.exit(f"{path} answered {response.status_code}: {response.text[:500]}")
                    if number >= requests // 10:
                        times[scenario][side].append(timed.times[-1])
    return {scenario: _summary(sides) for scenario, sides in times.items()}


def _log_in(client: TestClient) -> None:
    """Log in through the login form, as a browser does: the session cookie stays on `client`."""
    form = client.get("/login", headers=HTML).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, "the login form carries a CSRF token"
    body = {"username": "admin", "password": ADMIN_PASSWORD, "next": "/"}
    response = client.post("/login", data={**body, "csrf_token": token.group(1)}, headers=HTML)
    assert response.status_code == 303, response.text


def _summary(sides: dict[str, list[float]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for side, values in sides.items():
        ordered = sorted(values)
        summary[side] = {
            "median_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
        }
    for stat in ("median_ms", "p99_ms"):
        ratio = summary["html"][stat] / summary["json"][stat]
        summary[f"{stat.removesuffix('_ms')}_ratio"] = round(ratio, 2)
    summary["meets_target"] = max(summary["median_ratio"], summary["p99_ratio"]) <= TARGET
    return summary


def print_table(results: dict[str, Any]) -> None:
    print(f"{results['units']} units, {results['requests']} requests per side and scenario")
    print(
        f"{'scenario':<22} {'HTML p50':>9} {'JSON p50':>9} {'ratio':>6} "
        f"{'HTML p99':>9} {'JSON p99':>9} {'ratio':>6}  target ≤ {TARGET}×"
    )
    for scenario, s in results.items():
        if not isinstance(s, dict):
            continue
        html, api = s["html"], s["json"]
        print(
            f"{scenario:<22} {html['median_ms']:>7.2f}ms {api['median_ms']:>7.2f}ms "
            f"{s['median_ratio']:>5.2f}× {html['p99_ms']:>7.2f}ms {api['p99_ms']:>7.2f}ms "
            f"{s['p99_ratio']:>5.2f}×  {'met' if s['meets_target'] else 'NOT met'}"
        )


if __name__ == "__main__":
    sys.exit(main())
