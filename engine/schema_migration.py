"""Bringing entity tables in line with a new catalog, inside the publishing transaction.

Alembic compares the compiled tables with the live database and its operations apply the
difference. Nothing is dropped: a removed field's column is renamed and kept, and a type
change adds a new column, converts the values into it and swaps the names. A field turning
sensitive (or back) converts the same way, encrypting (or decrypting) in Python in batches;
the clear values of a field that turned sensitive are erased from its kept column.
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
from engine.protection import Protector, field_place
from engine.protection.blind_index import normalise
from engine.protection.plaintext import to_text
from engine.tables import blind_index_column, column_type, storage_signature
from engine.values import ConversionError, convert, value_kind
from metamodel.fields import FieldDefinition

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


@dataclass(frozen=True)
class ValueConversion:
    """How a field's stored values become the new definition's: decrypt, convert, encrypt.

    The dry run and the migration share it, so the dry run counts exactly what is converted.
    """

    old: FieldDefinition
    new: FieldDefinition
    place: str  # "app.entity.field", which ciphertexts and digests are bound to
    protector: Protector | None

    @classmethod
    def of(cls, entity: CompiledEntity, old: FieldDefinition, name: str) -> ValueConversion:
        catalog = entity.catalog
        protector = catalog.options.protector if catalog else None
        conversion = cls(old, entity.fields[name], field_place(entity.path, name), protector)
        if (old.sensitive or conversion.new.sensitive) and protector is None:
            raise RuntimeError(
                f"{conversion.place} is sensitive: the catalog needs a Protector "
                "(CatalogOptions.protector, built by Runtime.create from the settings)"
            )
        return conversion

    @property
    def encrypts(self) -> bool:
        return bool(self.new.sensitive and not self.old.sensitive)

    @property
    def decrypts(self) -> bool:
        return bool(self.old.sensitive and not self.new.sensitive)

    def plain(self, raw: Any) -> Any:
        """A stored value of the old field, decrypted if it was sensitive (DecryptionFailed)."""
        if self.old.sensitive and raw is not None:
            assert self.protector is not None
            return self.protector.unseal(self.place, value_kind(self.old), raw)
        return raw

    def value(self, raw: Any) -> Any:
        """The new field's value for a stored one; raises ConversionError or DecryptionFailed."""
        return convert(self.new, self.plain(raw))

    def stored(self, value: Any) -> tuple[Any, str | None]:
        """A converted value as the new column holds it, with its blind index if sensitive."""
        if not self.new.sensitive or value is None:
            return value, None
        assert self.protector is not None
        sealed = self.protector.seal(self.place, value)
        return sealed.ciphertext, sealed.blind_index

    def same_key(self, value: Any) -> Any:
        """What `unique` compares: the value, or for a sensitive field its normalised text."""
        return normalise(to_text(value)) if self.new.sensitive else value


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
        conversion = ValueConversion.of(after, old_spec, name)
        digests = _prepare_blind_index(conn, operations, after, name, live)
        referenced = after.references[name].table.name if name in after.references else None
        log.converted += _backfill(conn, table, name, staging, conversion, digests, referenced)
        kept = kept_column_name(name, version, "old")
        operations.alter_column(table, name, new_column_name=kept)
        operations.alter_column(table, staging, new_column_name=name)
        log.add(_conversion_step(after.path, name, conversion, kept))
        if conversion.encrypts:  # clear text must not stay at rest beside its ciphertext
            conn.execute(sa.table(table, sa.column(kept)).update().values({kept: None}))


def _conversion_step(path: str, name: str, conversion: ValueConversion, kept: str) -> str:
    old, new = conversion.old, conversion.new
    if conversion.encrypts:
        done = f"encrypted, with a blind index; old column {kept} kept, its clear values erased"
    elif conversion.decrypts:
        done = f"decrypted; old column {kept} kept with the ciphertexts"
    else:
        done = f"old column {kept} kept"
    protection_only = old.sensitive != new.sensitive and old.type == new.type
    changed = "converted" if protection_only else f"changed from {old.type} to {new.type}"
    return f"{path}: field {name} {changed}; {done}"


def _prepare_blind_index(
    conn: Connection, operations: Operations, entity: CompiledEntity, name: str, live: set[str]
) -> str | None:
    """The blind index column a conversion fills, added or emptied first; None if not sensitive."""
    if not entity.fields[name].sensitive:
        return None
    column = blind_index_column(name)
    if column in live:
        conn.execute(sa.table(entity.table.name, sa.column(column)).update().values({column: None}))
    else:
        _add_column(
            conn, operations, entity.table.name, _fresh_column(column, entity.table.c[column])
        )
        live.add(column)
    return column


def _backfill(
    conn: Connection,
    table: str,
    source: str,
    target: str,
    conversion: ValueConversion,
    digests: str | None,
    target_table: str | None,
) -> int:
    """Convert every value of `source` into `target` (and its digest into `digests`, for a
    sensitive field); values that cannot convert stay null, values that cannot be decrypted
    stop the publish."""
    spec = conversion.new
    columns: list[sa.ColumnClause[Any]] = [sa.column("id"), sa.column(source), sa.column(target)]
    t = sa.table(table, *columns, *([sa.column(digests)] if digests else []))
    assignments: dict[str, Any] = {target: sa.bindparam("value", type_=column_type(spec))}
    if digests:
        assignments[digests] = sa.bindparam("digest", type_=sa.String())
    update = sa.update(t).where(t.c.id == sa.bindparam("row_id")).values(assignments)
    converted = 0
    for batch in _batches(conn, t, source):
        rows = []
        for row_id, raw in batch:
            try:
                rows.append({"row_id": row_id, "value": conversion.value(raw)})
            except ConversionError:
                continue
        if spec.type == "reference" and rows:
            rows = _existing_targets(conn, target_table, rows)
        for row in rows:
            row["value"], digest = conversion.stored(row["value"])
            if digests:
                row["digest"] = digest
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
            added.add((table_name, column.name))
            log.add(f"{table_name}: added column {column.name}")
        elif kind == "remove_column":
            _, _, table_name, column = diff
            kept = kept_column_name(column.name, new.version, "removed")
            operations.alter_column(table_name, column.name, new_column_name=kept)
            log.add(f"{table_name}: column {column.name} not defined; kept as {kept}")
    for table_name, column_name in sorted(added):  # once all are added: digests too
        _fill_default(conn, new, table_name, column_name)
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
    if entity is None or spec is None or default is None:
        return
    table = entity.table
    values: dict[str, Any] = {column: default}
    if spec.sensitive:  # one ciphertext for all: equal values show as equal digests anyway
        protector = entity.catalog.options.protector if entity.catalog else None
        assert protector is not None, "a catalog with sensitive fields has a protector"
        sealed = protector.seal(field_place(entity.path, column), default)
        values = {column: sealed.ciphertext, blind_index_column(column): sealed.blind_index}
    conn.execute(sa.update(table).where(table.c[column].is_(None)).values(values))
