"""Publishing: check a whole set of definitions, dry-run it, migrate the schema and record a
new version, all in one transaction, so a failed publish leaves nothing behind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.audit import AuditEvent, append
from engine.catalog import Catalog, CatalogOptions, compile_catalog
from engine.database import write_transaction
from engine.dry_run import DryRunReport, dry_run
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.expressions import FunctionRegistry
from engine.expressions.definitions import load_definitions
from engine.flows.migration import settle_records
from engine.records.orgs import assign_orgs, orgs_changed
from engine.records.recompute import recompute_changed
from engine.schema_migration import MigrationLog, migrate_schema
from metamodel import store
from metamodel.definitions import Definitions, Key
from metamodel.diff import DefinitionChange, diff_contents
from metamodel.errors import DefinitionsInvalid
from metamodel.loader import FieldTypes, document_from_content

Contents = dict[Key, dict[str, Any]]


class DataLossRefused(Conflict):
    code = "data_loss"


class PublishBlocked(Conflict):
    code = "publish_blocked"


@dataclass
class Plan:
    """A proposed set of definitions checked against what is published and stored."""

    base: Catalog | None
    catalog: Catalog
    contents: Contents
    changes: list[DefinitionChange]
    report: DryRunReport


@dataclass
class PublishResult:
    version: store.VersionInfo
    plan: Plan
    log: MigrationLog


def definitions_from_contents(
    contents: Contents,
    functions: FunctionRegistry | None = None,
    field_types: FieldTypes | None = None,
) -> Definitions:
    """Stored or submitted definitions, checked (`load_definitions`); a 422 lists the errors.

    Without `field_types` (None), contents checked when they were published are read back
    without checking plugin types, and plugin fields stay unbound: their values are refused.
    Wherever the definitions are served, pass the instance's (`plugin_field_types`).
    """
    documents = [document_from_content(*key, content) for key, content in contents.items()]
    try:
        return load_definitions(documents, functions, field_types)
    except DefinitionsInvalid as exc:
        raise invalid_definitions(exc) from None


def plugin_field_types(options: CatalogOptions) -> FieldTypes:
    """The field types plugins registered for an app instance; none without extensions."""
    return options.extensions.field_types if options.extensions is not None else {}


def invalid_definitions(exc: DefinitionsInvalid) -> ValidationFailed:
    details = [{**e.as_json(), "path": e.path} for e in exc.errors]
    return ValidationFailed(f"{len(details)} errors in the definitions", details)


def plan(
    conn: Connection,
    base: Catalog | None,
    contents: Contents,
    options: CatalogOptions | None = None,
) -> Plan:
    options = options or (base.options if base else CatalogOptions())
    definitions = definitions_from_contents(
        contents, options.functions, plugin_field_types(options)
    )
    version = (base.version if base else 0) + 1
    catalog = compile_catalog(version, definitions, options)
    published = base.definitions.contents if base else {}
    changes = diff_contents(published, definitions.contents)
    return Plan(base, catalog, definitions.contents, changes, dry_run(conn, base, catalog))


def publish(
    engine: sa.Engine,
    base: Catalog | None,
    contents: Contents,
    author: str,
    message: str,
    force: bool = False,
    clear_draft: bool = False,
    options: CatalogOptions | None = None,
) -> PublishResult:
    """Publish `contents` as the next version; refuses blockers, and data loss unless forced."""
    if not message.strip():
        raise ValidationFailed(
            "a publish needs a message", [{"path": "message", "message": "is required"}]
        )
    with write_transaction(engine) as conn:  # reads, then alters tables: the write lock first
        current = store.latest_version(conn)
        if current != (base.version if base else None):
            raise Conflict(f"version {current} was published meanwhile; reload and try again")
        proposal = plan(conn, base, contents, options)
        if not proposal.changes:
            raise Conflict(f"nothing to publish: the definitions equal version {current}")
        if proposal.report.blocked:
            raise PublishBlocked(
                "the change cannot be applied to the stored data", _findings(proposal, "blocker")
            )
        if proposal.report.loses_data and not force:
            raise DataLossRefused(
                "the change would lose data; publish with force to accept exactly this loss",
                _findings(proposal, "data_loss"),
            )
        log = migrate_schema(conn, base, proposal.catalog)
        for line in recompute_changed(conn, base, proposal.catalog):
            log.add(line)
        for entity in orgs_changed(base, proposal.catalog):
            log.add(f"{entity.path}: organisation set on {assign_orgs(conn, entity)} rows")
        for line in settle_records(conn, base, proposal.catalog):
            log.add(line)
        try:
            info = store.write_version(conn, proposal.contents, author, message)
        except sa.exc.IntegrityError:
            raise Conflict("another publish won the race; reload and try again") from None
        if clear_draft:
            store.discard_draft(conn)
        append(conn, _audit_event(info, proposal.changes), proposal.catalog.options.audit_hash)
    return PublishResult(info, proposal, log)


def _audit_event(info: store.VersionInfo, changes: list[DefinitionChange]) -> AuditEvent:
    """`definitions.publish`: who published which version, why, and what it changed."""
    changed = [{"app": c.app, "kind": c.kind, "name": c.name, "change": c.change} for c in changes]
    detail = {"message": info.message, "hash": info.hash, "parent": info.parent, "changes": changed}
    return AuditEvent("definitions.publish", info.author, "definitions", info.version, detail)


def _findings(proposal: Plan, severity: str) -> list[dict[str, Any]]:
    return [
        {
            "path": f"{f.entity}.{f.field}" if f.field else f.entity,
            "message": f.message,
            "rows": f.rows,
            "sample": f.sample,
        }
        for f in proposal.report.of(severity)
    ]


def draft_contents(conn: Connection, base: Catalog | None) -> Contents:
    published = base.definitions.contents if base else {}
    return store.apply_draft(published, store.read_draft(conn))


def version_contents(conn: Connection, version: int) -> Contents:
    if store.get_version(conn, version) is None:
        raise NotFound(f"no definitions version {version}")
    return store.read_contents(conn, version)
