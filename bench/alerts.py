"""Benchmark: scanning three shipped supervision alert rules at 450,000 units.

    python bench/alerts.py [--units 450000] [--data-dir /tmp/anju-bench-alerts]
                           [--database-url postgresql://…] [--rules app.rule,…] [--send]

Loads demo data (units, contracts, bills) into the data folder (or the PostgreSQL database)
unless it already holds the units — with alerts off, so the load itself opens none — then
forgets every alert and scans the rules through `engine.alerts.scanning.scan_rule`, each in
its own transaction: a first round that opens the alerts, and a second that finds nothing
new. Sending is off unless `--send` (the notifications are then counted, not queued).
ANALYZE runs first, as it should after any bulk load: without statistics SQLite counts a
contract's overdue bills through the (status, due_date) index instead of the contract's.
Forgetting the alerts is then settled (`settle_reset`: SQLite's log written back,
PostgreSQL's deleted rows vacuumed) so that the first scan does not pay for it.
Target: the three rules together < 2 s per round. Besides wall time each round reports this
process's CPU time and the load average: on a busy machine CPU time is the steadier figure
(on SQLite it is all the work; on PostgreSQL the server's share is not in it). Writes
bench/results/alerts.json (alerts-postgresql.json).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.demo_database import units_loaded  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ADMIN_PASSWORD = "Bench#Admin2026"
RULES = (
    "supervision.rent_arrears_one_month",  # contracts, counting each one's overdue bills
    "supervision.lease_expiring",  # contracts, through their unit's housing type
    "supervision.unit_vacant_too_long",  # units, by days vacant
)
TARGET_S = 2.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=450_000)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/anju-bench-alerts"))
    parser.add_argument("--database-url", default=None, help="PostgreSQL instead of SQLite")
    parser.add_argument("--rules", default=",".join(RULES), help="app.rule,… to scan")
    parser.add_argument("--send", action="store_true", help="queue the notifications too")
    args = parser.parse_args(argv)
    env = {
        **os.environ,
        "ANJU_DATA_DIR": str(args.data_dir),
        "ANJU_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ANJU_JOB_THREADS": "0",
        "ANJU_ALERTS_SEND": "1" if args.send else "0",
    }
    if args.database_url:
        env["ANJU_DATABASE_URL"] = args.database_url
    os.environ.update(env)
    rules = [tuple(rule.split(".", 1)) for rule in args.rules.split(",")]
    results: dict[str, Any] = {
        "units": args.units,
        "database": "postgresql" if args.database_url else "sqlite",
        "sending": args.send,
    }
    if units_loaded() < args.units:
        started = time.perf_counter()
        command = [sys.executable, "run.py", "demo-data", "--units", str(args.units)]
        subprocess.run(command, cwd=ROOT, env={**env, "ANJU_ALERTS_ENABLED": "0"}, check=True)
        results["demo_data_s"] = round(time.perf_counter() - started, 1)
    results.update(measure(rules))  # type: ignore[arg-type]
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "-postgresql" if args.database_url else ""
    (RESULTS / f"alerts{suffix}.json").write_text(json.dumps(results, indent=2))
    print_table(results)
    return 0


def measure(rules: list[tuple[str, str]]) -> dict[str, Any]:
    """Two rounds over `rules` after forgetting every alert: seconds and what each did."""
    from engine.alerts.scanning import scan_rule
    from engine.alerts.tables import alerts, events, recipients, rule_states
    from engine.database import write_transaction
    from engine.runtime import Runtime
    from engine.settings import Settings

    runtime = Runtime.create(Settings())
    try:
        runtime.start()
        catalog = runtime.require_catalog()
        with runtime.engine.begin() as conn:
            for table in (recipients, events, alerts, rule_states):
                conn.execute(table.delete())
            conn.exec_driver_sql("ANALYZE")  # planner statistics, as after any bulk load
        settle_reset(runtime.engine, [t.name for t in (recipients, events, alerts)])
        found: dict[str, Any] = {"rules": [f"{a}.{r}" for a, r in rules]}
        for round_name in ("first", "second"):
            scans = []
            started, cpu_started = time.perf_counter(), time.process_time()
            for app, name in rules:
                began = time.perf_counter()
                with write_transaction(runtime.engine) as conn:
                    result = scan_rule(conn, runtime, catalog, app, name, runtime.clock.now())
                scans.append({**result.as_json(), "s": round(time.perf_counter() - began, 3)})
            found[round_name] = {
                "s": round(time.perf_counter() - started, 3),
                "cpu_s": round(time.process_time() - cpu_started, 3),
                "scans": scans,
            }
        found["load_average"] = os.getloadavg()[0]
        return found
    finally:
        runtime.dispose()


def settle_reset(engine: Any, tables: list[str]) -> None:
    """Leave nothing of forgetting the alerts for the first scan to pay for, as a database
    that has run a while would not: on SQLite the write-ahead log written back (else the
    first scan's commit does it), on PostgreSQL the deleted rows vacuumed (else each insert
    checks the unique index's dead entries)."""
    driver = engine.raw_connection()
    try:
        if engine.dialect.name == "sqlite":
            driver.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            driver.driver_connection.autocommit = True  # VACUUM runs outside a transaction
            for table in tables:
                driver.cursor().execute(f"VACUUM ANALYZE {table}")
    finally:
        driver.close()


def print_table(results: dict[str, Any]) -> None:
    print(
        f"{results['units']} units on {results['database']}, sending "
        f"{'on' if results['sending'] else 'off'}"
    )
    print(f"load average {results['load_average']:.2f} (other work on the machine)")
    for round_name in ("first", "second"):
        round_ = results[round_name]
        verdict = "ok" if round_["s"] < TARGET_S else f"over the {TARGET_S} s target"
        print(
            f"{round_name} scan: {round_['s']:.3f} s ({verdict}), "
            f"{round_['cpu_s']:.3f} s of this process's CPU"
        )
        for scan in round_["scans"]:
            print(
                f"  {scan['app']}.{scan['rule']}: {scan['s']:.3f} s, matched {scan['matched']}, "
                f"opened {scan['opened']}, resolved {scan['resolved']}, "
                f"notifications {scan['notifications']}"
            )


if __name__ == "__main__":
    sys.exit(main())
