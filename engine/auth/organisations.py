"""Organisations: a tree (city → district → street → community; enterprises) kept as a
materialised path, `/1/4/17/` for org 17 under 4 under 1, so subtree scopes are one LIKE."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from engine.audit import AuditEvent
from engine.auth.realm import Realm
from engine.auth.tables import as_utc, org_table, utcnow
from engine.database import write_transaction
from engine.errors import Conflict, NotFound, ValidationFailed, field_error
from engine.principal import Principal

KINDS = ("city", "district", "street", "community", "enterprise", "other")
OrgKind = Literal["city", "district", "street", "community", "enterprise", "other"]
OrgCode = Annotated[
    str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
]
OrgName = Annotated[str, Field(min_length=1, max_length=100)]


class OrgCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: OrgCode
    name: OrgName
    kind: OrgKind
    parent_id: int | None = None


class OrgChange(BaseModel):
    """The fields to change; `parent_id: null` sent explicitly moves the org to the top."""

    model_config = ConfigDict(extra="forbid")

    code: OrgCode | None = None
    name: OrgName | None = None
    kind: OrgKind | None = None
    parent_id: int | None = None
    active: bool | None = None


def org_view(row: sa.RowMapping) -> dict[str, Any]:
    return {
        "id": row["id"],
        "code": row["code"],
        "name": row["name"],
        "kind": row["kind"],
        "parent_id": row["parent_id"],
        "path": row["path"],
        "active": row["active"],
        "created_at": as_utc(row["created_at"]),
    }


def get_org(conn: sa.Connection, org_id: int) -> dict[str, Any]:
    row = conn.execute(sa.select(org_table).where(org_table.c.id == org_id)).mappings().first()
    if row is None:
        raise NotFound(f"no organisation {org_id}")
    return org_view(row)


def org_by_code(conn: sa.Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(org_table).where(org_table.c.code == code)).mappings().first()
    return None if row is None else org_view(row)


def list_orgs(
    conn: sa.Connection, under: int | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """Organisations in tree order (parents before children); `under`: that org's subtree."""
    query = sa.select(org_table)
    if under is not None:
        path = get_org(conn, under)["path"]
        query = query.where(org_table.c.path.startswith(path))
    if kind is not None:
        query = query.where(org_table.c.kind == kind)
    orgs = [org_view(row) for row in conn.execute(query).mappings()]
    return sorted(orgs, key=lambda org: [int(part) for part in org["path"].strip("/").split("/")])


def org_tree(orgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The flat list as nested `children`; an org whose parent is not listed is a root."""
    nodes = {org["id"]: {**org, "children": []} for org in orgs}
    roots: list[dict[str, Any]] = []
    for node in nodes.values():
        parent = nodes.get(node["parent_id"])
        (parent["children"] if parent else roots).append(node)
    return roots


def create_org(realm: Realm, data: OrgCreate, actor: Principal) -> dict[str, Any]:
    try:
        with write_transaction(realm.engine) as conn:
            parent_path = _parent_path(conn, data.parent_id)
            org_id: int = conn.execute(
                org_table.insert()
                .values(
                    code=data.code,
                    name=data.name,
                    kind=data.kind,
                    parent_id=data.parent_id,
                    path="/",
                    active=True,
                    created_at=utcnow(),
                )
                .returning(org_table.c.id)
            ).scalar_one()
            path = f"{parent_path}{org_id}/"
            conn.execute(org_table.update().where(org_table.c.id == org_id).values(path=path))
            org = get_org(conn, org_id)
            realm.audit(conn, _event(actor, "org.create", org_id, {"values": _audited(org)}))
            return org
    except sa.exc.IntegrityError:
        raise _code_taken(data.code) from None


def update_org(realm: Realm, org_id: int, change: OrgChange, actor: Principal) -> dict[str, Any]:
    values = change.model_dump(exclude_unset=True)
    try:
        with write_transaction(realm.engine) as conn:
            before = get_org(conn, org_id)
            if "parent_id" in values and values["parent_id"] != before["parent_id"]:
                _move(conn, before, values["parent_id"])
            fields = {k: v for k, v in values.items() if k != "parent_id" and v is not None}
            if fields:
                conn.execute(org_table.update().where(org_table.c.id == org_id).values(**fields))
            after = get_org(conn, org_id)
            changes = {
                name: [before[name], after[name]]
                for name in ("code", "name", "kind", "parent_id", "path", "active")
                if before[name] != after[name]
            }
            if changes:
                realm.audit(conn, _event(actor, "org.update", org_id, {"changes": changes}))
            return after
    except sa.exc.IntegrityError:
        raise _code_taken(str(values.get("code"))) from None


def _move(conn: sa.Connection, org: dict[str, Any], parent_id: int | None) -> None:
    """Put `org` under `parent_id`, rewriting the paths of its whole subtree."""
    parent_path = _parent_path(conn, parent_id)
    if parent_path.startswith(org["path"]):
        raise ValidationFailed(
            "an organisation cannot move under itself or its own descendants",
            [field_error("parent_id", "is the organisation itself or one of its descendants")],
        )
    old_path, new_path = org["path"], f"{parent_path}{org['id']}/"
    rest = sa.func.substr(org_table.c.path, len(old_path) + 1)
    conn.execute(
        org_table.update()
        .where(org_table.c.path.startswith(old_path))
        .values(path=sa.literal(new_path, sa.String) + rest)
    )
    conn.execute(org_table.update().where(org_table.c.id == org["id"]).values(parent_id=parent_id))


def _parent_path(conn: sa.Connection, parent_id: int | None) -> str:
    if parent_id is None:
        return "/"
    found = conn.execute(sa.select(org_table.c.path).where(org_table.c.id == parent_id)).scalar()
    if found is None:
        raise ValidationFailed(
            "the parent organisation does not exist",
            [field_error("parent_id", f"no organisation {parent_id}")],
        )
    return str(found)


def _audited(org: dict[str, Any]) -> dict[str, Any]:
    return {k: org[k] for k in ("code", "name", "kind", "parent_id", "path")}


def _code_taken(code: str) -> Conflict:
    return Conflict(
        f"an organisation with code {code!r} exists",
        [field_error("code", "is taken by another organisation")],
    )


def _event(actor: Principal, action: str, record_id: int, detail: dict[str, Any]) -> AuditEvent:
    return AuditEvent.by(actor, action, "org", record_id, detail)
