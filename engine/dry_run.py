"""What publishing a change would do to the data already stored, found before publishing.

Severities: `info` (nothing to do), `warning` (existing rows break a new rule; they stay,
and must be fixed on their next edit), `data_loss` (values that cannot be carried over;
publishing refuses unless forced) and `blocker` (the change cannot be applied at all).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from dataclasses import field as default
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.catalog import Catalog, CompiledEntity
from engine.expressions import NotExpressible
from engine.flows.versions import stranded
from engine.principal import SYSTEM
from engine.protection import DecryptionFailed, mask_value
from engine.records.evaluation import environment, sql_context
from engine.schema_migration import ValueConversion
from engine.tables import blind_index_column, storage_signature
from engine.values import ConversionError, convert, to_json
from metamodel.fields import EnumField, FieldDefinition, StringField

SAMPLE = 20


@dataclass
class Finding:
    severity: str
    entity: str
    message: str
    field: str | None = None
    rows: int | None = None
    sample: list[dict[str, Any]] = default(default_factory=list)


@dataclass
class DryRunReport:
    findings: list[Finding] = default(default_factory=list)

    def of(self, severity: str) -> list[Finding]:
        return [f for f in self.findings if f.severity == severity]

    @property
    def loses_data(self) -> bool:
        return bool(self.of("data_loss"))

    @property
    def blocked(self) -> bool:
        return bool(self.of("blocker"))

    def as_json(self) -> dict[str, Any]:
        return {
            "blocked": self.blocked,
            "loses_data": self.loses_data,
            "findings": [asdict(f) for f in self.findings],
        }


def dry_run(conn: Connection, old: Catalog | None, new: Catalog) -> DryRunReport:
    report = DryRunReport()
    tables = set(sa.inspect(conn).get_table_names())
    old_entities = old.entities if old else {}
    for key, entity in new.entities.items():
        before = old_entities.get(key)
        if before is None or entity.table.name not in tables:
            report.findings.append(
                Finding("info", entity.path, f"table {entity.table.name} will be created")
            )
            continue
        _check_entity(conn, before, entity, report)
    for key, entity in old_entities.items():
        if key not in new.entities and entity.table.name in tables:
            rows = _count(conn, entity.table)
            message = f"entity removed: table {entity.table.name} keeps its rows, no longer served"
            report.findings.append(Finding("warning", entity.path, message, rows=rows))
    for item in stranded(conn, old, new):
        if item.moved_to is None:
            message = (
                f"records in state {item.state!r}, which the new flow removes, keep their flow "
                f"version until moved; map the state in the flow's `migrate`"
            )
            report.findings.append(
                Finding("warning", item.entity.path, message, "state", item.rows)
            )
        else:
            message = f"records in removed state {item.state!r} will move to {item.moved_to!r}"
            report.findings.append(Finding("info", item.entity.path, message, "state", item.rows))
    return report


def _check_entity(
    conn: Connection, before: CompiledEntity, after: CompiledEntity, report: DryRunReport
) -> None:
    table = before.table
    total = _count(conn, table)
    add = report.findings.append
    for name, spec in after.stored_fields.items():
        old_spec = before.stored_fields.get(name)
        if old_spec is None:
            default = getattr(spec, "default", None)
            if total and default is not None:
                add(
                    Finding(
                        "info",
                        after.path,
                        f"new field; {total} existing rows get the default",
                        name,
                        total,
                    )
                )
            elif total and spec.required:
                message = "new required field has no default; existing rows stay empty until edited"
                add(Finding("warning", after.path, message, name, total))
            continue
        if old_spec == spec or not total:
            continue
        if storage_signature(old_spec) != storage_signature(spec):
            _check_conversion(conn, before, after, name, spec, report)
        elif spec.sensitive:
            _check_sensitive_constraints(conn, before, after, name, old_spec, spec, report)
        else:
            _check_constraints(conn, table, after.path, name, old_spec, spec, report)
    for name in before.stored_fields.keys() - after.stored_fields.keys():
        rows = conn.execute(sa.select(sa.func.count()).where(table.c[name].is_not(None))).scalar()
        message = "field removed; its column is kept (renamed) with the values, no longer served"
        add(Finding("info", after.path, message, name, rows))
    _check_new_unique_indexes(conn, before, after, report)
    _check_new_rules(conn, before, after, report)


def _check_conversion(
    conn: Connection,
    before: CompiledEntity,
    after: CompiledEntity,
    name: str,
    spec: FieldDefinition,
    report: DryRunReport,
) -> None:
    column = before.table.c[name]
    conversion = ValueConversion.of(after, before.fields[name], name)
    secret = conversion.old.sensitive or spec.sensitive

    def shown(value: Any) -> Any:  # samples never show a sensitive value in clear
        return mask_value(value, conversion.old.mask or spec.mask) if secret else to_json(value)

    failed: list[dict[str, Any]] = []
    undecryptable: list[dict[str, Any]] = []
    rows = conn.execute(
        sa.select(before.table.c.id, column).where(column.is_not(None)).order_by(before.table.c.id)
    )
    values: list[tuple[Any, Any]] = []
    for row_id, raw in rows:
        try:
            plain = conversion.plain(raw)
        except DecryptionFailed as exc:
            undecryptable.append({"id": row_id, "reason": str(exc)})
            continue
        try:
            values.append((row_id, convert(spec, plain)))
        except ConversionError as exc:
            failed.append({"id": row_id, "value": shown(plain), "reason": str(exc)})
    if name in after.references:
        target = after.references[name].table
        known = set(conn.execute(sa.select(target.c.id)).scalars())
        failed += [
            {"id": i, "value": v, "reason": "no such record"} for i, v in values if v not in known
        ]
    old_type, new_type = before.fields[name].type, spec.type
    if undecryptable:
        message = f"{len(undecryptable)} values cannot be decrypted, so cannot be converted"
        report.findings.append(
            Finding(
                "blocker", after.path, message, name, len(undecryptable), undecryptable[:SAMPLE]
            )
        )
    if spec.unique:
        seen: dict[Any, tuple[Any, int]] = {}
        for _, value in values:
            key = conversion.same_key(value)
            first, count = seen.get(key, (value, 0))
            seen[key] = (first, count + 1)
        collisions = [{"value": shown(v), "rows": n} for v, n in seen.values() if n > 1]
        if collisions:
            message = (
                f"converted to {new_type}, {len(collisions)} values would occur more than once"
            )
            rows = sum(c["rows"] for c in collisions)
            report.findings.append(
                Finding("blocker", after.path, message, name, rows, collisions[:SAMPLE])
            )
    if failed:
        message = (
            f"{len(failed)} values cannot convert from {old_type} to {new_type}; they would be lost"
        )
        report.findings.append(
            Finding("data_loss", after.path, message, name, len(failed), failed[:SAMPLE])
        )
    else:
        message = _conversion_message(conversion, len(values))
        report.findings.append(Finding("info", after.path, message, name, len(values)))


def _conversion_message(conversion: ValueConversion, count: int) -> str:
    old_type, new_type = conversion.old.type, conversion.new.type
    converted = f" (converted from {old_type} to {new_type})" if old_type != new_type else ""
    if conversion.encrypts:
        return f"{count} values will be encrypted, with a blind index for exact match{converted}"
    if conversion.decrypts:
        return f"{count} values will be decrypted back to clear text{converted}"
    return f"{count} values convert from {old_type} to {new_type}"


def _check_sensitive_constraints(
    conn: Connection,
    before: CompiledEntity,
    after: CompiledEntity,
    name: str,
    old: FieldDefinition,
    new: FieldDefinition,
    report: DryRunReport,
) -> None:
    """`_check_constraints` for an encrypted field: values are checked after decrypting."""
    table, path = before.table, after.path
    column = table.c[name]
    if new.required and not old.required:
        problem = "rows have no value for a field that is now required"
        _report_rows(conn, table, path, name, column.is_(None), problem, report)
    tests = _value_tests(old, new)
    if tests:
        conversion = ValueConversion.of(after, old, name)
        values, unreadable = [], 0
        for row_id, raw in conn.execute(sa.select(table.c.id, column).where(column.is_not(None))):
            try:
                values.append((row_id, conversion.plain(raw)))
            except DecryptionFailed:
                unreadable += 1
        for problem, test in tests:
            bad = [{"id": i, "value": mask_value(v, new.mask)} for i, v in values if test(v)]
            if bad:
                message = f"{len(bad)} rows {problem}"
                report.findings.append(
                    Finding("warning", path, message, name, len(bad), bad[:SAMPLE])
                )
        if unreadable:
            message = f"{unreadable} values cannot be decrypted, so were not checked"
            report.findings.append(Finding("warning", path, message, name, unreadable))
    if new.unique and not old.unique:
        _check_duplicates(conn, table, path, [blind_index_column(name)], report, shown_as=name)


def _value_tests(old: Any, new: Any) -> list[tuple[str, Any]]:
    """The changed limits of a field as (problem, test of a value that breaks it)."""
    tests: list[tuple[str, Any]] = []
    low, high = getattr(new, "min", None), getattr(new, "max", None)
    if low is not None and low != getattr(old, "min", None):
        tests.append((f"are below the new minimum {low}", lambda v: v < low))
    if high is not None and high != getattr(old, "max", None):
        tests.append((f"are above the new maximum {high}", lambda v: v > high))
    if isinstance(new, StringField) and new.max_length < getattr(old, "max_length", 0):
        limit = new.max_length
        tests.append((f"are longer than the new max_length {limit}", lambda v: len(v) > limit))
    if isinstance(new, StringField) and new.pattern and new.pattern != old.pattern:
        pattern = re.compile(new.pattern)
        tests.append(
            (f"do not match the new pattern {new.pattern}", lambda v: not pattern.fullmatch(v))
        )
    return tests


def _check_constraints(
    conn: Connection,
    table: sa.Table,
    path: str,
    name: str,
    old: FieldDefinition,
    new: FieldDefinition,
    report: DryRunReport,
) -> None:
    column = table.c[name]
    checks: list[tuple[str, sa.ColumnElement[bool]]] = []
    if new.required and not old.required:
        checks.append(("have no value for a field that is now required", column.is_(None)))
    low, high = getattr(new, "min", None), getattr(new, "max", None)
    if low is not None and low != getattr(old, "min", None):
        checks.append((f"are below the new minimum {low}", column < low))
    if high is not None and high != getattr(old, "max", None):
        checks.append((f"are above the new maximum {high}", column > high))
    if (
        isinstance(new, StringField)
        and isinstance(old, StringField)
        and new.max_length < old.max_length
    ):
        checks.append(
            (
                f"are longer than the new max_length {new.max_length}",
                sa.func.length(column) > new.max_length,
            )
        )
    if isinstance(new, EnumField):
        allowed = [o.value for o in new.options]
        checks.append(
            (
                f"hold an option that was removed (allowed: {', '.join(allowed)})",
                column.not_in(allowed),
            )
        )
    for problem, condition in checks:
        _report_rows(conn, table, path, name, condition, f"rows {problem}", report)
    if (
        isinstance(new, StringField)
        and new.pattern
        and new.pattern != getattr(old, "pattern", None)
    ):
        pattern = re.compile(new.pattern)
        query = sa.select(table.c.id, column).where(column.is_not(None))
        bad = [
            {"id": i, "value": v} for i, v in conn.execute(query) if not pattern.fullmatch(str(v))
        ]
        if bad:
            message = f"rows do not match the new pattern {new.pattern}"
            report.findings.append(Finding("warning", path, message, name, len(bad), bad[:SAMPLE]))
    if new.unique and not old.unique:
        _check_duplicates(conn, table, path, [name], report)


def _check_new_rules(
    conn: Connection, before: CompiledEntity, after: CompiledEntity, report: DryRunReport
) -> None:
    """Existing rows that a new or changed validation rule would refuse on their next edit."""
    old_rules = {rule.when for rule in before.definition.rules}
    env = environment(None, after, SYSTEM)
    for rule, expression in after.expressions.rules:
        if rule.when in old_rules:
            continue
        label = f"rule {rule.when!r}"
        try:
            with conn.begin_nested():
                condition = expression.sql_condition(before.table, sql_context(conn, after, env))
                spec = before.stored_fields.get(rule.field or "")  # ciphertext is no sample
                shown = rule.field if rule.field and spec and not spec.sensitive else "id"
                message = f"rows break the new {label}"
                _report_rows(conn, before.table, after.path, shown, condition, message, report)
        except (NotExpressible, sa.exc.DBAPIError, KeyError):
            message = f"existing rows cannot be checked against the new {label} in the database"
            report.findings.append(Finding("info", after.path, message, rule.field))


def _check_new_unique_indexes(
    conn: Connection, before: CompiledEntity, after: CompiledEntity, report: DryRunReport
) -> None:
    old = {tuple(i.fields) for i in before.definition.indexes if i.unique}
    for index in after.definition.indexes:
        existing = all(f in before.table.c for f in index.fields)
        if index.unique and tuple(index.fields) not in old and existing:
            _check_duplicates(conn, before.table, after.path, index.fields, report)


def _check_duplicates(
    conn: Connection,
    table: sa.Table,
    path: str,
    fields: list[str],
    report: DryRunReport,
    shown_as: str | None = None,
) -> None:
    columns = [table.c[f] for f in fields]
    query = (
        sa.select(*columns, sa.func.count().label("n"))
        .where(*(c.is_not(None) for c in columns))
        .group_by(*columns)
        .having(sa.func.count() > 1)
    )
    groups = conn.execute(query).all()
    if groups:
        sample = [
            {**{f: to_json(v) for f, v in zip(fields, g[:-1], strict=True)}, "rows": g[-1]}
            for g in groups[:SAMPLE]
        ]
        message = f"cannot be made unique: {len(groups)} values occur more than once"
        report.findings.append(
            Finding(
                "blocker",
                path,
                message,
                shown_as or ",".join(fields),
                sum(g[-1] for g in groups),
                sample,
            )
        )


def _report_rows(
    conn: Connection,
    table: sa.Table,
    path: str,
    name: str,
    condition: sa.ColumnElement[bool],
    message: str,
    report: DryRunReport,
) -> None:
    count = (
        conn.execute(sa.select(sa.func.count()).select_from(table).where(condition)).scalar() or 0
    )
    if count:
        sample = conn.execute(
            sa.select(table.c.id, table.c[name]).where(condition).limit(SAMPLE)
        ).all()
        rows = [{"id": i, "value": to_json(v)} for i, v in sample]
        report.findings.append(Finding("warning", path, f"{count} {message}", name, count, rows))


def _count(conn: Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0
