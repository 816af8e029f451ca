"""Benchmark: the cost of row scopes on the list endpoint at 450,000 units.

    python -m bench.permissions --units 450000 [--duration 15] [--connections 50] [--data-dir DIR]

Loads demo data with its organisations and staff (timed), serves the platform, and drives
`GET /api/housing_stock/housing_unit` with wrk as the unrestricted admin and as the street
officer of the street with the most units, in the same run, alternating, twice each. The
overhead is the street officer's throughput and median latency against the admin's.
Writes bench/results/permissions.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.api import ADMIN_PASSWORD, ROOT, _free_port, _python, _token, _wait, _wrk

RESULTS = ROOT / "bench" / "results"
DEMO_PASSWORD = "Bench#Staff2026"
PATH = "/api/housing_stock/housing_unit"
SCENARIOS = {  # name → query string
    "default": "",  # sorted by code, count capped at 10,000
    "vacant_by_rent": "?status=vacant&sort=monthly_rent",
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=450_000)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--data-dir", type=Path, default=None, help="data folder; reused if loaded")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="anju-bench-"))
    env = {
        **os.environ,
        "ANJU_DATA_DIR": str(data_dir),
        "ANJU_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ANJU_DEMO_PASSWORD": DEMO_PASSWORD,
    }
    results: dict[str, object] = {"units": args.units, "connections": args.connections}
    if not (data_dir / "anju.db").exists():
        started = time.perf_counter()
        command = [sys.executable, "run.py", "demo-data", "--units", str(args.units)]
        subprocess.run(command, cwd=ROOT, env=env, check=True)
        results["demo_data_s"] = round(time.perf_counter() - started, 1)
    street, in_scope = _busiest_street(env)
    results["street_officer"] = street
    results["units_in_scope"] = in_scope
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "run.py", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(port)
        base = f"http://127.0.0.1:{port}"
        tokens = {
            "admin": _token(base, "admin", ADMIN_PASSWORD),
            "street": _token(base, street, DEMO_PASSWORD),
        }
        for scenario, query in SCENARIOS.items():
            lua = f'request = function() return wrk.format("GET", "{PATH}{query}") end\n'
            runs: dict[str, list[dict[str, float]]] = {"admin": [], "street": []}
            for who in ("admin", "street"):
                _wrk(base, lua, 3, args.connections, tokens[who])  # warm-up
            for _ in range(2):
                for who in ("admin", "street"):
                    runs[who].append(_wrk(base, lua, args.duration, args.connections, tokens[who]))
            results[scenario] = _summary(runs)
    finally:
        server.terminate()
        server.wait(10)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "permissions.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


def _summary(runs: dict[str, list[dict[str, float]]]) -> dict[str, object]:
    failed = [r for rs in runs.values() for r in rs if r["non_2xx"] or not r["rps"]]
    if failed:
        sys.exit(f"requests failed; the figures would be meaningless: {runs}")
    best = {who: max(rs, key=lambda r: r["rps"]) for who, rs in runs.items()}
    admin, street = best["admin"], best["street"]
    return {
        "admin": runs["admin"],
        "street": runs["street"],
        "throughput_overhead_pct": round((admin["rps"] / street["rps"] - 1) * 100, 1),
        "p50_overhead_pct": round((street["p50_ms"] / admin["p50_ms"] - 1) * 100, 1),
    }


def _busiest_street(env: dict[str, str]) -> tuple[str, int]:
    """The username of the officer of the street with the most units, and that count."""
    code = (
        "import sqlalchemy as sa\n"
        "from engine.settings import Settings\nfrom engine.database import create_database_engine\n"
        "e = create_database_engine(Settings())\n"
        "q = '''select o.code, count(*) from housing_stock__housing_unit u\n"
        "  join anju_org o on o.id = u.org_id where o.kind = 'street'\n"
        "  group by o.code order by count(*) desc limit 1'''\n"
        "with e.connect() as c:\n"
        "    code, n = c.execute(sa.text(q)).one()\n"
        "    u = c.execute(sa.text('select u.username from anju_user u join anju_org o '\n"
        "        'on o.id = u.org_id where o.code = :c'), {'c': code}).scalars().first()\n"
        "print(u); print(n)\n"
    )
    username, count = _python(env, code)[-2:]
    return username, int(count)


if __name__ == "__main__":
    sys.exit(main())
