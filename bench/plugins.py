"""Benchmark: what plugins cost — loading them, the lifecycle hooks on every write, and the
lottery draw with its public re-run.

    python -m bench.plugins [--records 2000] [--participants 10000] [--units 1000]

1. Loading: building one app instance's extensions (every built-in plugin and the installed
   entry points), median of 20.
2. Writes: `--records` creates through the records service (SQLite, one transaction each)
   with no plugins at all — the baseline — then with the built-in plugins and a no-op
   `anju_before_save` and `anju_after_save` plugin, same run, same definitions.
3. The lottery: a draw of `--participants` for `--units` and its verification from the
   published seed (what anyone re-running the draw pays), against `random.shuffle` of the
   same list as the floor.
Writes bench/results/plugins.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.api import ROOT
from engine.principal import SYSTEM
from engine.records.writing import create_record
from engine.runtime import Runtime
from engine.settings import Settings
from plugins.manager import build_extensions

RESULTS = ROOT / "bench" / "results"
NOOP_PLUGIN = '''"""Listens to every write and does nothing: the cost of the hook call itself."""
from plugins.hookspecs import hookimpl


@hookimpl
def anju_before_save(event):
    return None


@hookimpl
def anju_after_save(event):
    return None
'''
APP: dict[str, dict[str, Any]] = {
    "bench/app.yaml": {"label": "Bench"},
    "bench/roles.yaml": {"roles": {"clerk": {"label": "Clerk"}}},
    "bench/entities/note.yaml": {
        "fields": {
            "title": {"type": "string", "required": True, "max_length": 100},
            "amount": {"type": "integer"},
        },
        "title_field": "title",
    },
}


def loading(settings: Settings, rounds: int = 20) -> dict[str, Any]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        extensions = build_extensions(settings)
        times.append(time.perf_counter() - started)
    active = [p.name for p in extensions.plugins if p.status == "active"]
    return {"median_ms": round(statistics.median(times) * 1000, 2), "plugins": active}


def writes(folder: Path, records: int, **settings: Any) -> float:
    """Records created per second through the records service."""
    config = folder / "apps_config"
    for name, content in APP.items():
        path = config / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    runtime = Runtime.create(
        Settings(data_dir=folder / "var", apps_config=config, job_threads=False, **settings)
    )
    runtime.start()
    try:
        entity = runtime.require_catalog().entity("bench", "note")
        assert entity is not None
        started = time.perf_counter()
        for number in range(records):
            create_record(
                runtime.engine, entity, {"title": f"note {number}", "amount": number}, SYSTEM
            )
        return records / (time.perf_counter() - started)
    finally:
        runtime.dispose()


def lottery(participants: int, units: int) -> dict[str, Any]:
    from plugins.builtin.lottery import draw as draws

    groups = ["disabled", "elderly", "hardship"]
    people = [
        {"id": number, "groups": [groups[number % 7]] if number % 7 < 3 else []}
        for number in range(1, participants + 1)
    ]
    seed = draws.new_seed()
    started = time.perf_counter()
    result = draws.draw(seed, people, groups, units, "one_of_two")
    drawn = time.perf_counter() - started
    digest = draws.participant_digest(people)
    started = time.perf_counter()
    report = draws.verify(seed, draws.seed_hash(seed), people, digest, result.model_dump())
    verified = time.perf_counter() - started
    shuffled = list(people)
    started = time.perf_counter()
    random.Random(seed).shuffle(shuffled)
    floor = time.perf_counter() - started
    return {
        "participants": participants,
        "units": units,
        "draw_ms": round(drawn * 1000, 1),
        "verify_ms": round(verified * 1000, 1),
        "shuffle_floor_ms": round(floor * 1000, 1),
        "verified": report["verified"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--units", type=int, default=1000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "noop_listener.py").write_text(NOOP_PLUGIN, encoding="utf-8")
        sys.path.insert(0, str(root))
        loaded = loading(Settings(data_dir=root / "load"))
        bare = writes(root / "bare", args.records, plugin_loader="")
        hooked = writes(root / "hooked", args.records, plugins=["plugins.builtin", "noop_listener"])
    results = {
        "loading": loaded,
        "writes": {
            "records": args.records,
            "no_plugins_per_s": round(bare, 1),
            "with_plugins_per_s": round(hooked, 1),
            "overhead_percent": round((bare / hooked - 1) * 100, 1),
        },
        "lottery": lottery(args.participants, args.units),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "plugins.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
