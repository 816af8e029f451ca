"""Fixtures for the auth package: a realm on a started runtime, and users made through it."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from engine.auth.realm import Realm
from engine.auth.roles import RoleGrant, known_roles
from engine.auth.tables import user_table
from engine.auth.users import UserCreate, create_user
from engine.principal import SYSTEM
from engine.runtime import Runtime
from tests.identity import USER_PASSWORD


@pytest.fixture
def realm(runtime: Runtime) -> Realm:
    return Realm.create(runtime.settings, runtime.engine)


def add_user(
    realm: Realm, username: str = "alice", *roles: str, password: str = USER_PASSWORD, **extra: Any
) -> int:
    """A user created as the platform would, returning their id."""
    data = UserCreate(
        username=username,
        password=password,
        roles=[RoleGrant(role=role) for role in roles],
        **extra,
    )
    user = create_user(realm, data, known_roles(None) + ("manager",), SYSTEM)
    user_id: int = user["id"]
    return user_id


def user_row(realm: Realm, user_id: int) -> dict[str, Any]:
    with realm.engine.connect() as conn:
        query = sa.select(user_table).where(user_table.c.id == user_id)
        return dict(conn.execute(query).mappings().one())


def set_user(realm: Realm, user_id: int, **values: Any) -> None:
    """Change stored columns directly: how tests move time for one account."""
    with realm.engine.begin() as conn:
        conn.execute(user_table.update().where(user_table.c.id == user_id).values(**values))
