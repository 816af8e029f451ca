"""Scanning a rule: one SQL query finds the records its condition holds for, then set
operations against the rule's unresolved alerts open the new ones, resolve those whose
record no longer matches (with `auto_resolve`) and escalate those left unhandled for
`after_days`. Nothing is evaluated per record in Python but the messages and recipients of
the alerts being opened or escalated.

    with write_transaction(runtime.engine) as conn:
        result = scan_rule(conn, runtime, catalog, "supervision", "lease_expiring", now)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.alerts.delivery import Delivery, deliver
from engine.alerts.many_rows import collector_paused, id_list, insert_many
from engine.alerts.messages import AlertText, MessageRenderer
from engine.alerts.recipients import RecipientResolver
from engine.alerts.rules import CompiledRule, rule_of
from engine.alerts.state import save_scan
from engine.alerts.statuses import OPEN, RESOLVED, UNHANDLED
from engine.alerts.tables import alerts, recipients
from engine.alerts.timeline import add_events, audit_scan
from engine.catalog import Catalog, CompiledEntity
from engine.errors import NotFound
from engine.expressions import SqlContext
from engine.principal import SYSTEM
from engine.records.evaluation import environment
from engine.records.sealing import unseal

if TYPE_CHECKING:
    from engine.runtime import Runtime

CHUNK = 900  # ids per IN list: well inside SQLite's bound-parameter limit
BATCH = 5000  # alerts opened per statement: tens of thousands stay a few statements
ALERT_VALUES = ("record_id", "org_id", "title", "body", "title_en", "body_en")  # per alert


@dataclass(frozen=True)
class ScanResult:
    """What one scan (or one on-change check) did."""

    matched: int
    opened: int
    resolved: int
    escalated: int
    app: str = ""
    rule: str = ""
    notifications: int = 0  # queued, or counted when sending is off

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def scan_rule(
    conn: sa.Connection,
    runtime: Runtime | None,
    catalog: Catalog,
    app: str,
    rule_name: str,
    now: datetime,
) -> ScanResult:
    """Scan every record of the rule's entity, in the caller's transaction."""
    rule = rule_of(catalog, app, rule_name)
    if rule is None:
        raise NotFound(f"no alert rule {app}/{rule_name}")
    query = sa.select(rule.table.c.id).where(rule.condition(rule_context(conn, rule, now)))
    matching = set(conn.execute(query).scalars())
    result = apply_matches(conn, runtime, rule, now, matching, None)
    save_scan(conn, rule.key, now, len(matching))
    return result


def check_records(
    conn: sa.Connection,
    runtime: Runtime | None,
    rule: CompiledRule,
    ids: Sequence[int],
    now: datetime,
) -> ScanResult:
    """Check only `ids` (just written): open or resolve their alerts, escalate none."""
    context = rule_context(conn, rule, now)
    matching: set[int] = set()
    for chunk in chunks(sorted(set(ids))):
        condition = sa.and_(rule.table.c.id.in_(chunk), rule.condition(context))
        matching.update(conn.execute(sa.select(rule.table.c.id).where(condition)).scalars())
    return apply_matches(conn, runtime, rule, now, matching, ids)


def rule_context(
    conn: sa.Connection, rule: CompiledRule, now: datetime, today: date | None = None
) -> SqlContext:
    """How the condition compiles: this database, the catalog's tables, and `now` with its
    date in the settings' time zone as `today` (a backtest gives its own `today`)."""
    env = environment(None, rule.entity, SYSTEM, {}, now)
    if today is not None:
        env.today = today
    catalog = rule.entity.catalog
    assert catalog is not None, "entities belong to a catalog"
    return SqlContext(conn.dialect.name, catalog.table_of, env)


def apply_matches(
    conn: sa.Connection,
    runtime: Runtime | None,
    rule: CompiledRule,
    now: datetime,
    matching: set[int],
    only: Sequence[int] | None,
) -> ScanResult:
    """Open, resolve and (on full scans, `only` None) escalate against what matches now."""
    unresolved = unresolved_alerts(conn, rule, only)
    new = sorted(matching - unresolved.keys())
    opened, sent = open_alerts(conn, runtime, rule, now, new)
    gone = [(a, record_id) for record_id, a in unresolved.items() if record_id not in matching]
    resolved = resolve_alerts(conn, rule, now, gone) if rule.definition.auto_resolve else []
    escalated = 0
    if only is None and rule.definition.escalation is not None:
        escalated, more = escalate_alerts(conn, runtime, rule, now)
        sent += more
    return ScanResult(len(matching), opened, len(resolved), escalated, *rule.key, sent)


def unresolved_alerts(
    conn: sa.Connection, rule: CompiledRule, only: Sequence[int] | None
) -> dict[int, int]:
    """The ids of the rule's unresolved alerts by record id (of `only` those records, if
    given): plain integers, so that reading tens of thousands stays cheap."""
    base = sa.select(alerts.c.record_id, alerts.c.id).where(
        alerts.c.app == rule.app, alerts.c.rule == rule.name, alerts.c.status != RESOLVED
    )
    if only is None:
        return {row[0]: row[1] for row in conn.execute(base)}
    found: dict[int, int] = {}
    for chunk in chunks(sorted(set(only))):
        found.update(
            (row[0], row[1]) for row in conn.execute(base.where(alerts.c.record_id.in_(chunk)))
        )
    return found


def open_alerts(
    conn: sa.Connection,
    runtime: Runtime | None,
    rule: CompiledRule,
    now: datetime,
    record_ids: Sequence[int],
) -> tuple[int, int]:
    """Open an alert per record (one that is already open is left alone); (opened, sent).
    Each batch is read in one query and written in one statement per table."""
    if not record_ids:
        return 0, 0
    renderer = MessageRenderer(rule, now)
    resolver = RecipientResolver(conn, rule, now)
    context = rule_context(conn, rule, now)
    severity = rule.definition.severity
    opened: list[tuple[int, int]] = []
    deliveries: list[Delivery] = []
    with collector_paused():
        for batch in chunks(record_ids, BATCH):
            records = load_records(conn, rule, now, batch)
            resolver.load_org_paths(r.get("org_id") for r in records.values())
            resolver.load_expressions(context, list(records))
            texts = {rid: renderer.render(record, severity) for rid, record in records.items()}
            inserted = insert_new(conn, rule, severity, now, records, texts)
            pairs: list[tuple[int, str]] = []
            for alert_id, record_id in inserted:
                users = resolver.recipients(records[record_id])
                pairs += [(alert_id, u) for u in users]
                record = records[record_id]
                variants = renderer.variants(record, severity) if rule.variants else {}
                deliveries.append(Delivery(alert_id, texts[record_id], users, "open", variants))
            add_recipients(conn, pairs)
            opened += inserted
        add_events(conn, [a for a, _ in opened], "open", now)
        audit_scan(conn, _algorithm(rule), rule.key, "open", *_split(opened))
        return len(opened), deliver(conn, runtime, rule, deliveries)


def resolve_alerts(
    conn: sa.Connection, rule: CompiledRule, now: datetime, gone: Sequence[tuple[int, int]]
) -> list[int]:
    """Resolve the alerts (alert id, record id) whose record no longer matches; their ids."""
    ids = [alert_id for alert_id, _ in gone]
    values = {"status": RESOLVED, "resolved_at": now, "resolved_by": SYSTEM.username}
    for chunk in chunks(ids):
        where = sa.and_(alerts.c.id.in_(chunk), alerts.c.status != RESOLVED)
        conn.execute(alerts.update().where(where).values(**values, resolution="auto"))
    add_events(conn, ids, "resolve", now, comment="auto")
    audit_scan(conn, _algorithm(rule), rule.key, "resolve", ids, [r for _, r in gone])
    return ids


def escalate_alerts(
    conn: sa.Connection, runtime: Runtime | None, rule: CompiledRule, now: datetime
) -> tuple[int, int]:
    """Raise the severity of alerts unhandled (open or acknowledged) for `after_days`, once,
    and tell everyone again, the escalation's recipients too; (escalated, sent)."""
    escalation = rule.definition.escalation
    assert escalation is not None
    query = sa.select(alerts.c.id, alerts.c.record_id).where(
        alerts.c.app == rule.app,
        alerts.c.rule == rule.name,
        alerts.c.status.in_(UNHANDLED),
        alerts.c.escalated_at.is_(None),
        alerts.c.opened_at <= now - timedelta(days=escalation.after_days),
    )
    due = [(row[0], row[1]) for row in conn.execute(query.order_by(alerts.c.id))]
    resolver = RecipientResolver(conn, rule, now)
    renderer = MessageRenderer(rule, now)
    context = rule_context(conn, rule, now)
    deliveries: list[Delivery] = []
    for chunk in chunks([alert_id for alert_id, _ in due]):
        where = sa.and_(alerts.c.id.in_(chunk), alerts.c.escalated_at.is_(None))
        conn.execute(
            alerts.update().where(where).values(severity=escalation.severity, escalated_at=now)
        )
        rows = conn.execute(sa.select(alerts).where(alerts.c.id.in_(chunk))).mappings().all()
        records = load_records(conn, rule, now, [r["record_id"] for r in rows])
        resolver.load_org_paths(r["org_id"] for r in rows)
        resolver.load_expressions(context, list(records))
        known = _recipients_of(conn, chunk)
        added: list[tuple[int, str]] = []
        for row in rows:
            record = records.get(row["record_id"]) or {
                "id": row["record_id"],
                "org_id": row["org_id"],
            }
            extra = [
                u for u in resolver.recipients(record, escalation=True) if u not in known[row["id"]]
            ]
            added += [(row["id"], u) for u in extra]
            text = AlertText(row["title"], row["body"], row["title_en"], row["body_en"])
            variants = renderer.variants(record, escalation.severity) if rule.variants else {}
            people = [*known[row["id"]], *extra]
            deliveries.append(Delivery(row["id"], text, people, "escalate", variants))
        add_recipients(conn, added)
        conn.execute(
            recipients.update().where(recipients.c.alert_id.in_(chunk)).values(read_at=None)
        )
    ids = [alert_id for alert_id, _ in due]
    add_events(conn, ids, "escalate", now, comment=escalation.severity)
    audit_scan(conn, _algorithm(rule), rule.key, "escalate", ids, [r for _, r in due])
    return len(due), deliver(conn, runtime, rule, deliveries)


def load_records(
    conn: sa.Connection, rule: CompiledRule, now: datetime, ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """The records by id, with the fields the rule's messages and recipients read (sensitive
    ones decrypted, virtual ones computed)."""
    entity: CompiledEntity = rule.entity
    context = rule_context(conn, rule, now)
    virtual = entity.expressions.virtual
    columns: list[sa.ColumnElement[Any]] = [entity.table.c[n] for n in rule.record_columns]
    columns += [virtual[n].sql(entity.table, context).label(n) for n in rule.message_fields]
    result = conn.execute(sa.select(*columns).where(entity.table.c.id.in_(id_list(conn, ids))))
    names = list(result.keys())
    sealed = any(n in entity.sensitive_fields for n in names)
    found: dict[int, dict[str, Any]] = {}
    for row in result:
        record = dict(zip(names, row, strict=True))
        found[record["id"]] = unseal(entity, record) if sealed else record
    return found


def insert_new(
    conn: sa.Connection,
    rule: CompiledRule,
    severity: str,
    now: datetime,
    records: dict[int, dict[str, Any]],
    texts: dict[int, AlertText],
) -> list[tuple[int, int]]:
    """Insert an alert per record with its texts in one statement, skipping any whose
    (rule, record) already has an unresolved one (the partial unique index); the
    (alert id, record id) of those inserted, by alert id."""
    same = {
        "app": rule.app,
        "rule": rule.name,
        "family": rule.definition.family,
        "entity": rule.entity.path,
        "severity": severity,
        "status": OPEN,
        "opened_at": now,
        "def_version": rule.version,
    }
    given = [
        (rid, records[rid].get("org_id"), t.title, t.body, t.title_en, t.body_en)
        for rid in sorted(records)  # alert ids in record order, on either database
        for t in (texts[rid],)
    ]
    inserted = insert_many(
        conn, alerts, ALERT_VALUES, given, same, skip_conflicts=True, returning=["id", "record_id"]
    )
    return [(row[0], row[1]) for row in inserted]


def add_recipients(conn: sa.Connection, pairs: Sequence[tuple[int, str]]) -> None:
    """Make each (alert id, username) a recipient, unread."""
    insert_many(conn, recipients, ["alert_id", "username"], pairs)


def _recipients_of(conn: sa.Connection, alert_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {i: [] for i in alert_ids}
    query = sa.select(recipients.c.alert_id, recipients.c.username).where(
        recipients.c.alert_id.in_(alert_ids)
    )
    for row in conn.execute(query.order_by(recipients.c.username)):
        found[row.alert_id].append(row.username)
    return found


def _split(pairs: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    return [a for a, _ in pairs], [r for _, r in pairs]


def _algorithm(rule: CompiledRule) -> str:
    catalog = rule.entity.catalog
    return catalog.options.audit_hash if catalog is not None else "sha256"


def chunks(items: Sequence[int], size: int = CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
