"""When rules are scanned: `every` an interval after the last scan, or at `cron` times in the
settings' time zone. `scan_due(runtime)` is the periodic job's body: it scans each enabled
rule whose time has come, each in its own transaction, claimed so that several workers
never scan one rule twice (`state.claim`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from engine.alerts.rules import CompiledRule, rules_of
from engine.alerts.scanning import ScanResult, scan_rule
from engine.alerts.state import claim, ensure_state, read_states, reschedule, save_error
from engine.catalog import Catalog
from engine.database import write_transaction

if TYPE_CHECKING:
    from engine.runtime import Runtime

log = logging.getLogger("anju.alerts")


def next_scan_time(rule: CompiledRule, after: datetime, timezone: str) -> datetime | None:
    """The rule's next scan after a scan at `after`; None for rules scanned only on change."""
    if rule.interval is not None:
        return after + rule.interval
    if rule.cron is not None:
        return rule.cron.next_after(after, timezone)
    return None


def first_scan_time(rule: CompiledRule, now: datetime, timezone: str) -> datetime | None:
    """A rule seen for the first time: an interval rule scans at once, a cron rule at its
    next fire time."""
    return now if rule.interval is not None else next_scan_time(rule, now, timezone)


def scan_due(runtime: Runtime) -> list[ScanResult]:
    """Scan every enabled rule whose scan is due by the runtime clock; what each did."""
    if not runtime.settings.alerts_enabled:
        return []
    catalog = runtime.require_catalog()
    now = runtime.clock.now()
    timezone = catalog.options.timezone
    scheduled = [r for r in rules_of(catalog).values() if r.definition.enabled and r.scheduled]
    if not scheduled:
        return []
    with runtime.engine.connect() as conn:
        states = read_states(conn)
    if any(_stale(states.get(rule.key), rule) for rule in scheduled):
        with write_transaction(runtime.engine) as conn:
            for rule in scheduled:
                state = states.get(rule.key)
                first = first_scan_time(rule, now, timezone)
                if state is None and first is not None:
                    ensure_state(conn, rule.key, rule.schedule_text, first)
                elif _stale(state, rule) and first is not None:
                    reschedule(conn, rule.key, rule.schedule_text, first)
            states = read_states(conn)
    results = []
    for rule in scheduled:
        due = states[rule.key]["next_scan_at"] if rule.key in states else None
        if due is not None and due <= now:
            result = scan_claimed(runtime, catalog, rule, due, now)
            if result is not None:
                results.append(result)
    return results


def scan_claimed(
    runtime: Runtime, catalog: Catalog, rule: CompiledRule, due: datetime, now: datetime
) -> ScanResult | None:
    """Claim the rule's due scan and run it in one transaction; None if another worker has
    claimed it. A failing scan is logged on the rule's state and tried at its next time."""
    following = next_scan_time(rule, now, catalog.options.timezone)
    try:
        with write_transaction(runtime.engine) as conn:
            if not claim(conn, rule.key, due, following):
                return None
            return scan_rule(conn, runtime, catalog, rule.app, rule.name, now)
    except Exception as exc:  # one broken rule must not stop the others' scans
        log.exception("alert rule %s.%s: the scan failed", *rule.key)
        with write_transaction(runtime.engine) as conn:
            if claim(conn, rule.key, due, following):
                save_error(conn, rule.key, now, f"{type(exc).__name__}: {exc}")
        return None


def _stale(state: dict[str, object] | None, rule: CompiledRule) -> bool:
    return state is None or state.get("schedule") != rule.schedule_text
