"""The first administrator: user `admin` with role `admin`, created on a new database."""

from __future__ import annotations

import secrets
import string

import sqlalchemy as sa

from engine.audit import AuditEvent
from engine.auth.passwords import hash_password
from engine.auth.policies import check_new_password
from engine.auth.realm import Realm
from engine.auth.roles import RoleGrant, write_grants
from engine.auth.tables import user_table, utcnow
from engine.auth.users import insert_user
from engine.database import write_transaction
from engine.principal import SYSTEM
from engine.settings import Settings

ADMIN = "admin"
SYMBOLS = "!#%+-=?@^_"


def ensure_admin(engine: sa.Engine, settings: Settings) -> str | None:
    """Create `admin` unless any user exists, with `ANJU_ADMIN_PASSWORD` or a generated
    password printed once; returns the generated password (None when none was made)."""
    with engine.connect() as conn:
        if conn.execute(sa.select(user_table.c.id).limit(1)).first() is not None:
            return None
    realm = Realm.create(settings, engine)
    generated = None if settings.admin_password else generate_password()
    password = settings.admin_password or generated
    assert password is not None
    check_new_password(realm.policy, realm.hasher, password, ADMIN, path="ANJU_ADMIN_PASSWORD")
    password_hash = hash_password(realm.hasher, password)
    now = utcnow()
    try:
        with write_transaction(engine) as conn:
            user_id = insert_user(conn, ADMIN, "Administrator", password_hash, None, now)
            write_grants(conn, user_id, [RoleGrant(role=ADMIN)])
            detail = {"values": {"username": ADMIN, "roles": [ADMIN]}}
            event = AuditEvent("user.create", SYSTEM.username, "user", user_id, detail)
            realm.audit(conn, event)
    except sa.exc.IntegrityError:
        return None  # another worker created it at the same moment
    if generated:
        print(f"admin password: {generated}", flush=True)
    return generated


def generate_password(length: int = 20) -> str:
    """A random password meeting every policy: each character class, no common words."""
    alphabet = string.ascii_letters + string.digits + SYMBOLS
    classes = (string.ascii_uppercase, string.ascii_lowercase, string.digits, SYMBOLS)
    chars = [secrets.choice(c) for c in classes]
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)
