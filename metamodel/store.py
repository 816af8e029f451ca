"""The versioned definition store: published versions like commits, plus one shared draft.

A version is immutable: its entries point at content-addressed blobs, so an unchanged
definition is stored once however many versions carry it. Rollback publishes old content
as a new version; nothing is ever rewritten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from metamodel.canonical import canonical_json, content_hash
from metamodel.definitions import Key

metadata = sa.MetaData()

versions = sa.Table(
    "anju_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("parent", sa.Integer, nullable=True),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("author", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
)

blobs = sa.Table(
    "anju_definition_blob",
    metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("content", sa.Text, nullable=False),
)

entries = sa.Table(
    "anju_version_entry",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("app", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("blob", sa.String(64), nullable=False),
)

drafts = sa.Table(
    "anju_draft",
    metadata,
    sa.Column("app", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("content", sa.Text, nullable=True),  # NULL: the draft removes the definition
    sa.Column("author", sa.String(100), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class VersionInfo:
    version: int
    parent: int | None
    hash: str
    author: str
    created_at: datetime
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "parent": self.parent,
            "author": self.author,
            "created_at": self.created_at.isoformat(),
            "message": self.message,
            "hash": self.hash,
        }


def set_hash(contents: dict[Key, dict[str, Any]]) -> str:
    """The hash of a whole version: its sorted keys and their content hashes."""
    return content_hash([[*key, content_hash(contents[key])] for key in sorted(contents)])


def latest_version(conn: Connection) -> int | None:
    return conn.execute(sa.select(sa.func.max(versions.c.version))).scalar()


def list_versions(conn: Connection) -> list[VersionInfo]:
    rows = conn.execute(sa.select(versions).order_by(versions.c.version)).all()
    return [_info(row) for row in rows]


def get_version(conn: Connection, version: int) -> VersionInfo | None:
    row = conn.execute(sa.select(versions).where(versions.c.version == version)).first()
    return _info(row) if row else None


def read_contents(conn: Connection, version: int) -> dict[Key, dict[str, Any]]:
    query = (
        sa.select(entries.c.app, entries.c.kind, entries.c.name, blobs.c.content)
        .join(blobs, blobs.c.hash == entries.c.blob)
        .where(entries.c.version == version)
    )
    return {(a, k, n): json.loads(c) for a, k, n, c in conn.execute(query)}


def write_version(
    conn: Connection, contents: dict[Key, dict[str, Any]], author: str, message: str
) -> VersionInfo:
    """Append a version holding `contents`; a concurrent publish makes this fail on the key."""
    parent = latest_version(conn)
    known = set(conn.execute(sa.select(blobs.c.hash)).scalars())
    new_blobs: dict[str, str] = {}
    rows = []
    for (app, kind, name), content in sorted(contents.items()):
        digest = content_hash(content)
        if digest not in known:
            new_blobs[digest] = canonical_json(content)
        rows.append({"app": app, "kind": kind, "name": name, "blob": digest})
    info = VersionInfo(
        version=(parent or 0) + 1,
        parent=parent,
        hash=set_hash(contents),
        author=author,
        created_at=datetime.now(UTC),
        message=message,
    )
    conn.execute(versions.insert(), [_row(info)])
    if new_blobs:
        conn.execute(blobs.insert(), [{"hash": h, "content": c} for h, c in new_blobs.items()])
    conn.execute(entries.insert(), [{"version": info.version, **row} for row in rows])
    return info


def read_draft(conn: Connection) -> dict[Key, dict[str, Any] | None]:
    """Pending changes: content per key, or None where the draft removes the definition."""
    rows = conn.execute(sa.select(drafts.c.app, drafts.c.kind, drafts.c.name, drafts.c.content))
    return {(a, k, n): (json.loads(c) if c is not None else None) for a, k, n, c in rows}


def put_draft(conn: Connection, key: Key, content: dict[str, Any] | None, author: str) -> None:
    app, kind, name = key
    conn.execute(drafts.delete().where(*_key_filter(drafts, key)))
    conn.execute(
        drafts.insert().values(
            app=app,
            kind=kind,
            name=name,
            content=None if content is None else canonical_json(content),
            author=author,
            updated_at=datetime.now(UTC),
        )
    )


def discard_draft(conn: Connection, key: Key | None = None) -> None:
    conn.execute(drafts.delete().where(*_key_filter(drafts, key)) if key else drafts.delete())


def apply_draft(
    published: dict[Key, dict[str, Any]], draft: dict[Key, dict[str, Any] | None]
) -> dict[Key, dict[str, Any]]:
    """Published content with the draft's changes laid over it."""
    merged = dict(published)
    for key, content in draft.items():
        if content is None:
            merged.pop(key, None)
        else:
            merged[key] = content
    return merged


def _key_filter(table: sa.Table, key: Key) -> list[sa.ColumnElement[bool]]:
    app, kind, name = key
    return [table.c.app == app, table.c.kind == kind, table.c.name == name]


def _info(row: Any) -> VersionInfo:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return VersionInfo(row.version, row.parent, row.hash, row.author, created, row.message)


def _row(info: VersionInfo) -> dict[str, Any]:
    return {
        "version": info.version,
        "parent": info.parent,
        "hash": info.hash,
        "author": info.author,
        "created_at": info.created_at,
        "message": info.message,
    }
