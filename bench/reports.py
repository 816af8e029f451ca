"""Benchmark: the district × status report at 450,000 units, uncached and from the cache.

    python bench/reports.py [--units 450000] [--data-dir /tmp/anju-bench-reports]
                            [--database-url postgresql://…] [--runs 20] [--cached-runs 200]

Loads demo data into the data folder (or the PostgreSQL database) unless it already holds
the units, then runs `housing_stock.units_by_status` (districts × statuses with subtotals
and a total) through `engine.reports.run_report`: `--runs` times with the cache bypassed
(median and p95), and `--cached-runs` times from the cache (median). Targets: uncached
< 300 ms, cached < 10 ms. Writes bench/results/reports.json (reports-postgresql.json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.demo_database import units_loaded  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ADMIN_PASSWORD = "Bench#Admin2026"
REPORT = ("housing_stock", "units_by_status")
TARGETS_MS = {"uncached": 300.0, "cached": 10.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=450_000)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/anju-bench-reports"))
    parser.add_argument("--database-url", default=None, help="PostgreSQL instead of SQLite")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cached-runs", type=int, default=200)
    args = parser.parse_args(argv)
    env = {
        **os.environ,
        "ANJU_DATA_DIR": str(args.data_dir),
        "ANJU_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ANJU_JOB_THREADS": "0",
    }
    if args.database_url:
        env["ANJU_DATABASE_URL"] = args.database_url
    os.environ.update(env)
    results: dict[str, Any] = {
        "units": args.units,
        "database": "postgresql" if args.database_url else "sqlite",
    }
    if units_loaded() < args.units:
        started = time.perf_counter()
        command = [sys.executable, "run.py", "demo-data", "--units", str(args.units)]
        subprocess.run(command, cwd=ROOT, env=env, check=True)
        results["demo_data_s"] = round(time.perf_counter() - started, 1)
    results.update(measure(args.runs, args.cached_runs))
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "-postgresql" if args.database_url else ""
    (RESULTS / f"reports{suffix}.json").write_text(json.dumps(results, indent=2, default=float))
    print_table(results)
    return 0


def measure(runs: int, cached_runs: int) -> dict[str, Any]:
    """Time the report as the platform admin (the whole table in scope)."""
    from engine.principal import SYSTEM
    from engine.reports import parse_params, report_of, run_report
    from engine.runtime import Runtime
    from engine.settings import Settings

    runtime = Runtime.create(Settings())
    runtime.start()
    try:
        catalog = runtime.require_catalog()
        report = report_of(catalog, *REPORT)
        if report is None:
            sys.exit(f"the report {'.'.join(REPORT)} is not defined in apps_config")
        params = parse_params(report, {})

        def once(cache: bool) -> tuple[float, Any]:
            started = time.perf_counter()
            with runtime.engine.begin() as conn:
                result = run_report(conn, catalog, report, SYSTEM, params, cache=cache)
            return (time.perf_counter() - started) * 1000, result

        def baseline() -> float:
            """The same grouping written by hand: one GROUP BY, no subtotals, no titles."""
            table = catalog.entity("housing_stock", "housing_unit").table  # type: ignore[union-attr]
            query = sa.select(table.c.district, table.c.status, sa.func.count()).group_by(
                table.c.district, table.c.status
            )
            started = time.perf_counter()
            with runtime.engine.begin() as conn:
                conn.execute(query).all()
            return (time.perf_counter() - started) * 1000

        _, warm = once(cache=False)  # compiles the report and warms the database's pages
        baseline()
        uncached, by_hand = [], []
        for _ in range(runs):  # interleaved, so both see the same machine
            uncached.append(once(cache=False)[0])
            by_hand.append(baseline())
        uncached.sort()
        by_hand.sort()
        once(cache=True)
        cached = sorted(once(cache=True)[0] for _ in range(cached_runs))
        rows = len(warm.rows)
        total = warm.rows[-1]["units"] if warm.rows else 0
    finally:
        runtime.dispose()
    found = {
        "report": ".".join(REPORT),
        "rows": rows,
        "units_counted": total,
        "uncached": {
            "runs": runs,
            "median_ms": round(statistics.median(uncached), 2),
            "p95_ms": round(uncached[max(0, int(len(uncached) * 0.95) - 1)], 2),
        },
        "cached": {"runs": cached_runs, "median_ms": round(statistics.median(cached), 3)},
        "hand_written_group_by": {
            "runs": runs,
            "median_ms": round(statistics.median(by_hand), 2),
            "p95_ms": round(by_hand[max(0, int(len(by_hand) * 0.95) - 1)], 2),
        },
    }
    for kind, target in TARGETS_MS.items():
        found[kind]["target_ms"] = target
        found[kind]["meets_target"] = found[kind]["median_ms"] < target
    return found


def print_table(results: dict[str, Any]) -> None:
    print(
        f"{results['units']} units on {results['database']}: {results['report']} "
        f"({results['rows']} rows, {results['units_counted']} units counted)"
    )
    print(f"{'run':<10} {'median':>10} {'p95':>10} {'target':>9}")
    for kind in ("uncached", "cached"):
        s = results[kind]
        p95 = f"{s['p95_ms']:.2f}ms" if "p95_ms" in s else "-"
        verdict = "met" if s["meets_target"] else "NOT met"
        print(f"{kind:<10} {s['median_ms']:>8.2f}ms {p95:>10} {s['target_ms']:>6.0f}ms  {verdict}")
    s = results["hand_written_group_by"]
    print(f"{'by hand':<10} {s['median_ms']:>8.2f}ms {s['p95_ms']:>8.2f}ms  (one GROUP BY)")


if __name__ == "__main__":
    sys.exit(main())
