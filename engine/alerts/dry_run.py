"""Dry runs and backtests: how many records a rule matches now, or matched on a past date —
without opening, resolving or sending anything.

A backtest evaluates `today` and `now` as the date given and counts only the records whose
`as_of` field (the date since when a record matches: a lease's start, a bill's due date) is
on or before it — or, for a rule without one, the records created by then (`created_at`;
data loaded in bulk carries the load's time, so such a backtest finds little). Records are
read with their current values — the tables keep no history of them — so a backtest is
exact only when the condition depends on nothing that has changed since; the answer says
so (`exact`, `note`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from engine.alerts.rules import CompiledRule, compile_rule, rule_of
from engine.alerts.scanning import rule_context, unresolved_alerts
from engine.catalog import Catalog
from engine.errors import NotFound
from engine.flows.services import FlowServices
from engine.publishing import draft_contents
from metamodel.alerts import AlertRule
from metamodel.fields import DateField

SAMPLE = 10
NOTE_NOW = {"zh": "按当前数据统计。", "en": "Counted on the current data."}
NOTE_AS_OF = {
    "zh": "按记录的当前值统计，仅含{field}不晚于当日的记录；之后的修改无从追溯，结果为近似值。",
    "en": "Counted on the records' current values, only those with {field} on or before "
    "the date; later changes are not kept, so the count is an estimate.",
}
NOTE_NO_FIELD = {
    "zh": "规则未设 as_of 字段：按记录的当前值统计当日已创建的记录，结果为近似值。",
    "en": "The rule has no as_of field: records created by the date are counted with their "
    "current values, so the count is an estimate.",
}


@dataclass(frozen=True)
class DryRun:
    """What a scan would find: `matches`, a `sample` of them, and (now, not in a backtest)
    how many alerts it would open and resolve."""

    matches: int
    sample: list[dict[str, Any]]
    would_open: int | None
    would_resolve: int | None
    as_of: date | None = None
    exact: bool = True
    note: dict[str, str] = field(default_factory=lambda: dict(NOTE_NOW))

    def as_json(self) -> dict[str, Any]:
        return {
            "matches": self.matches,
            "sample": self.sample,
            "would_open": self.would_open,
            "would_resolve": self.would_resolve,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "exact": self.exact,
            "note": self.note,
        }


def dry_run(
    conn: sa.Connection, catalog: Catalog, app: str, rule: AlertRule, as_of: date | None
) -> DryRun:
    """Count the records `rule` matches now (`as_of` None) or on the date `as_of`. The rule
    may be a draft: one that does not compile against the catalog is a 422."""
    published = rule_of(catalog, app, rule.name)
    compiled = published if published and published.definition == rule else None
    compiled = compiled or compile_rule(catalog, app, rule)
    now = FlowServices.of_catalog(catalog).now()
    if as_of is None:
        return _now(conn, compiled, now)
    return _backtest(conn, compiled, as_of, catalog.options.timezone)


def draft_rule(conn: sa.Connection, catalog: Catalog, app: str, name: str) -> AlertRule:
    """The rule as the shared draft has it (published if the draft leaves it alone); 404 if
    neither has it."""
    content = draft_contents(conn, catalog).get((app, "alert", name))
    if content is None:
        raise NotFound(f"no alert rule {app}/{name} in the draft")
    return AlertRule.model_validate({"name": name, **content})


def _now(conn: sa.Connection, rule: CompiledRule, now: datetime) -> DryRun:
    condition = rule.condition(rule_context(conn, rule, now))
    matching = set(conn.execute(sa.select(rule.table.c.id).where(condition)).scalars())
    unresolved = unresolved_alerts(conn, rule, None)
    would_resolve = len(unresolved.keys() - matching) if rule.definition.auto_resolve else 0
    return DryRun(
        len(matching),
        _sample(conn, rule, sorted(matching)[:SAMPLE]),
        len(matching - unresolved.keys()),
        would_resolve,
    )


def _backtest(conn: sa.Connection, rule: CompiledRule, as_of: date, timezone: str) -> DryRun:
    zone = ZoneInfo(timezone)
    day_end = datetime.combine(as_of + timedelta(days=1), time(), zone) - timedelta(microseconds=1)
    context = rule_context(conn, rule, day_end, today=as_of)
    table = rule.table
    field_name = rule.definition.as_of
    since = table.c[field_name or "created_at"]
    spec = rule.entity.fields.get(field_name) if field_name else None
    bound: Any = as_of if isinstance(spec, DateField) else day_end
    conditions = [rule.condition(context), since <= bound]
    ids = list(
        conn.execute(sa.select(table.c.id).where(*conditions).order_by(table.c.id)).scalars()
    )
    if field_name is not None:
        note = {k: v.format(field=field_name) for k, v in NOTE_AS_OF.items()}
    else:
        note = dict(NOTE_NO_FIELD)
    return DryRun(len(ids), _sample(conn, rule, ids[:SAMPLE]), None, None, as_of, False, note)


def _sample(conn: sa.Connection, rule: CompiledRule, ids: list[int]) -> list[dict[str, Any]]:
    """A few matching records: id and title."""
    if not ids:
        return []
    table = rule.table
    title_field = rule.entity.definition.title_field
    columns: list[sa.ColumnElement[Any]] = [table.c.id]
    spec = rule.entity.fields.get(title_field) if title_field else None
    if title_field and spec is not None and not spec.sensitive and title_field in table.c:
        columns.append(table.c[title_field])
    rows = conn.execute(sa.select(*columns).where(table.c.id.in_(ids)).order_by(table.c.id))
    return [
        {"id": row.id, "title": str(row[1]) if len(row) > 1 and row[1] is not None else None}
        for row in rows
    ]
