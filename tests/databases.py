"""Isolated test databases: SQLite in a folder, or one PostgreSQL schema per use.

With `ANJU_TEST_DATABASE_URL` set (e.g. postgresql://postgres@127.0.0.1:5432/anju_test), each
use gets a fresh schema `t_<hex>`, reached through `?options=-csearch_path=<schema>` and
dropped afterwards; without it, the database is SQLite in the settings' data folder.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from engine.runtime import Runtime
from engine.settings import Settings
from tests.definitions import estate, write_folder

TEST_DATABASE_URL = os.environ.get("ANJU_TEST_DATABASE_URL")


@contextmanager
def isolated_database() -> Iterator[str | None]:
    """None (SQLite), or a PostgreSQL URL bound to a schema of its own."""
    if not TEST_DATABASE_URL:
        yield None
        return
    base = sa.make_url(TEST_DATABASE_URL)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(TEST_DATABASE_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


ADMIN_PASSWORD = "Estate-Admin-2026"  # meets the mlps3 policy; the `admin` user's password
FAST_ARGON2: dict[str, Any] = {
    "argon2_time_cost": 1,
    "argon2_memory_kib": 8,
    "argon2_parallelism": 1,
}  # the cheapest argon2id, so that logging in costs the tests nothing


def estate_settings(root: Path, database_url: str | None, **overrides: Any) -> Settings:
    """Settings with the estate definitions in `root/apps_config` and data in `root/var`,
    the admin password `ADMIN_PASSWORD`, cheap password hashing, and no job threads (tests
    run jobs with `runtime.jobs.run_pending()` or `tests.jobs`)."""
    definitions = write_folder(root / "apps_config", estate())
    return Settings(
        data_dir=root / "var",
        apps_config=definitions,
        database_url=database_url,
        **{"admin_password": ADMIN_PASSWORD, "job_threads": False, **FAST_ARGON2, **overrides},
    )


@contextmanager
def started_runtime(settings: Settings) -> Iterator[Runtime]:
    """A runtime with system tables upgraded and the folder published as version 1."""
    runtime = Runtime.create(settings)
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.dispose()
