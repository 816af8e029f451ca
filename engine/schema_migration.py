"""Bringing entity tables in line with a new catalog, inside the publishing transaction.

Alembic compares the compiled tables with the live database and its operations apply the
difference. Nothing is dropped: a removed field's column is renamed and kept, and a type
change adds a new column, converts the values into it and swaps the names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from engine.catalog import Catalog, CompiledEntity
from engine.tables import column_type, storage_signature
from engine.values import ConversionError, convert

BATCH = 5_000


@dataclass
class MigrationLog:
    """What a migration did, in order, for the publish report."""

    steps: list[str] = field(default_factory=list)
    converted: int = 0

    def add(self, step: str) -> None:
        self.steps.append(step)


def kept_column_name(field_name: str, version: int, reason: str) -> str:
    return f"_{reason}_{field_name}__v{version}"


def migrate_schema(conn: Connection, old: Catalog | None, new: Catalog) -> MigrationLog:
    log = MigrationLog()
    operations = Operations(MigrationContext.configure(conn))
    existing = set(sa.inspect(conn).get_table_names())
    for key, entity in new.entities.items():
        before = old.entities.get(key) if old else None
        if before is None or entity.table.name not in existing:
            continue
        live = {c["name"] for c in sa.inspect(conn).get_columns(entity.table.name)}
        _convert_changed_types(conn, operations, before, entity, new.version, live, log)
        for name in before.stored_fields.keys() - entity.stored_fields.keys():
            if name in live:
                kept = kept_column_name(name, new.version, "removed")
                operations.alter_column(entity.table.name, name, new_column_name=kept)
                log.add(f"{entity.path}: removed field {name}; column kept as {kept}")
    _apply_comparison(conn, operations, new, log)
    return log


def _convert_changed_types(
    conn: Connection,
    operations: Operations,
    before: CompiledEntity,
    after: CompiledEntity,
    version: int,
    live: set[str],
    log: MigrationLog,
) -> None:
    for name, spec in after.stored_fields.items():
        old_spec = before.stored_fields.get(name)
        if old_spec is None or name not in live:
            continue
        if storage_signature(old_spec) == storage_signature(spec):
            continue
        table = after.table.name
        staging = f"{name}__new"
        _add_column(conn, operations, table, _fresh_column(staging, after.table.c[name]))
        referenced = after.references[name].table.name if name in after.references else None
        log.converted += _backfill(conn, table, name, staging, spec, referenced)
        kept = kept_column_name(name, version, "old")
        operations.alter_column(table, name, new_column_name=kept)
        operations.alter_column(table, staging, new_column_name=name)
        log.add(
            f"{after.path}: field {name} changed from {old_spec.type} to {spec.type}; "
            f"old column kept as {kept}"
        )


def _backfill(
    conn: Connection, table: str, source: str, target: str, spec: Any, target_table: str | None
) -> int:
    """Convert every value of `source` into `target`; values that cannot convert stay null."""
    t = sa.table(table, sa.column("id"), sa.column(source), sa.column(target))
    value = sa.bindparam("value", type_=column_type(spec))
    update = sa.update(t).where(t.c.id == sa.bindparam("row_id")).values({target: value})
    converted = 0
    for batch in _batches(conn, t, source):
        rows = []
        for row_id, raw in batch:
            try:
                rows.append({"row_id": row_id, "value": convert(spec, raw)})
            except ConversionError:
                continue
        if spec.type == "reference" and rows:
            rows = _existing_targets(conn, target_table, rows)
        if rows:
            conn.execute(update, rows)
            converted += len(rows)
    return converted


def _existing_targets(
    conn: Connection, table: str | None, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Keep only rows whose new value is the id of a record in the referenced table."""
    target = sa.table(table or "", sa.column("id"))
    wanted = {row["value"] for row in rows}
    found = set(conn.execute(sa.select(target.c.id).where(target.c.id.in_(wanted))).scalars())
    return [row for row in rows if row["value"] in found]


def _batches(conn: Connection, t: sa.TableClause, source: str) -> Iterator[list[tuple[Any, Any]]]:
    last = 0
    while True:
        query = (
            sa.select(t.c.id, t.c[source])
            .where(t.c.id > last, t.c[source].is_not(None))
            .order_by(t.c.id)
            .limit(BATCH)
        )
        rows = [tuple(row) for row in conn.execute(query)]
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _apply_comparison(
    conn: Connection, operations: Operations, new: Catalog, log: MigrationLog
) -> None:
    ours = {table.name for table in new.metadata.tables.values()}

    def include(obj: Any, name: str | None, type_: str, reflected: bool, _other: Any) -> bool:
        if type_ == "table":
            return name in ours
        if type_ == "column":
            return not (name or "").startswith("_")
        return True

    context = MigrationContext.configure(
        conn,
        opts={"compare_type": False, "compare_server_default": False, "include_object": include},
    )
    diffs = compare_metadata(context, new.metadata)
    new_tables = [d[1] for d in diffs if d[0] == "add_table"]
    if new_tables:
        new.metadata.create_all(conn, tables=new_tables)
        log.steps.extend(f"created table {t.name}" for t in new_tables)
    added: set[tuple[str, str]] = set()
    for diff in diffs:
        if not isinstance(diff, tuple):
            continue
        kind = diff[0]
        if kind == "add_column":
            _, _, table_name, column = diff
            _add_column(conn, operations, table_name, _fresh_column(column.name, column))
            _fill_default(conn, new, table_name, column.name)
            added.add((table_name, column.name))
            log.add(f"{table_name}: added column {column.name}")
        elif kind == "remove_column":
            _, _, table_name, column = diff
            kept = kept_column_name(column.name, new.version, "removed")
            operations.alter_column(table_name, column.name, new_column_name=kept)
            log.add(f"{table_name}: column {column.name} not defined; kept as {kept}")
    for diff in diffs:
        if not isinstance(diff, tuple):
            continue
        kind = diff[0]
        if kind == "remove_index":
            operations.drop_index(diff[1].name, table_name=diff[1].table.name)
            log.add(f"dropped index {diff[1].name}")
        elif kind == "remove_fk" and conn.dialect.name != "sqlite" and diff[1].name:
            operations.drop_constraint(diff[1].name, diff[1].table.name, type_="foreignkey")
    for diff in diffs:
        if isinstance(diff, tuple) and diff[0] == "add_index":
            diff[1].create(conn)
            log.add(f"created index {diff[1].name}")


def _fresh_column(name: str, column: sa.Column) -> sa.Column:  # type: ignore[type-arg]
    """A detached, nullable copy of a compiled column under `name`, ready to be added."""
    foreign_keys = [sa.ForeignKey(fk.target_fullname) for fk in column.foreign_keys]
    return sa.Column(name, column.type, *foreign_keys, nullable=True)


def _add_column(conn: Connection, operations: Operations, table: str, column: sa.Column) -> None:  # type: ignore[type-arg]
    """Add a nullable column; on SQLite a reference is added inline, which batch mode cannot do
    without copying the table (and SQLite's DROP TABLE checks the rows that refer to it)."""
    foreign_keys = list(column.foreign_keys)
    if conn.dialect.name == "sqlite" and foreign_keys:
        target = foreign_keys[0].target_fullname.split(".")[0]
        plain = sa.Column(column.name, column.type)
        ddl = sa.schema.CreateColumn(plain).compile(dialect=conn.dialect)
        preparer = conn.dialect.identifier_preparer
        conn.exec_driver_sql(
            f"ALTER TABLE {preparer.quote(table)} ADD COLUMN {ddl} "
            f"REFERENCES {preparer.quote(target)}(id)"
        )
        return
    operations.add_column(table, column)


def _fill_default(conn: Connection, catalog: Catalog, table_name: str, column: str) -> None:
    entity = next((e for e in catalog.entities.values() if e.table.name == table_name), None)
    spec = entity.fields.get(column) if entity else None
    default = getattr(spec, "default", None) if spec else None
    if entity is not None and default is not None:
        table = entity.table
        conn.execute(sa.update(table).where(table.c[column].is_(None)).values({column: default}))
