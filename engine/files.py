"""The file store: file contents on disk, addressed by hash; rows hold a file id."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.database import write_transaction
from engine.errors import NotFound, field_error
from engine.principal import Principal
from metamodel.fields import FieldDefinition, FileField

files = sa.Table(
    "anju_file",
    sa.MetaData(),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(100)),
)


def store_file(
    engine: sa.Engine, root: Path, name: str, content_type: str, data: bytes, principal: Principal
) -> dict[str, Any]:
    with write_transaction(engine) as conn:
        return store_file_in(conn, root, name, content_type, data, principal)


def store_file_in(
    conn: sa.Connection,
    root: Path,
    name: str,
    content_type: str,
    data: bytes,
    principal: Principal,
) -> dict[str, Any]:
    """Write the contents (once per digest) and record the file in the caller's transaction;
    a rolled-back transaction leaves only an unreferenced blob behind."""
    digest = hashlib.sha256(data).hexdigest()
    path = blob_path(root, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{uuid.uuid4().hex}.part")
        temporary.write_bytes(data)
        temporary.replace(path)
    row = {
        "id": uuid.uuid4().hex,
        "name": Path(name).name[:255] or "file",
        "content_type": content_type or "application/octet-stream",
        "size": len(data),
        "sha256": digest,
        "created_at": datetime.now(UTC),
        "created_by": principal.username,
    }
    conn.execute(files.insert().values(**row))
    return row


def file_info(conn: sa.Connection, file_id: str) -> dict[str, Any]:
    row = conn.execute(sa.select(files).where(files.c.id == file_id)).mappings().first()
    if row is None:
        raise NotFound(f"file {file_id} not found")
    return dict(row)


def blob_path(root: Path, digest: str) -> Path:
    return root / digest[:2] / digest


def check_file_fields(
    conn: sa.Connection, fields: dict[str, FieldDefinition], values: dict[str, str]
) -> list[dict[str, Any]]:
    """Each file id must name a stored file whose type and size the field accepts."""
    errors = []
    for name, file_id in values.items():
        spec = fields[name]
        assert isinstance(spec, FileField)
        row = conn.execute(sa.select(files).where(files.c.id == file_id)).mappings().first()
        if row is None:
            errors.append(field_error(name, f"no stored file {file_id}"))
        elif spec.accept and not _accepted(row["content_type"], spec.accept):
            errors.append(
                field_error(
                    name, f"file type {row['content_type']} is not one of {', '.join(spec.accept)}"
                )
            )
        elif row["size"] > spec.max_size:
            errors.append(field_error(name, f"file is larger than {spec.max_size} bytes"))
    return errors


def _accepted(content_type: str, accept: list[str]) -> bool:
    major = content_type.split("/")[0]
    return any(pattern in (content_type, f"{major}/*", "*/*") for pattern in accept)
