"""A fingerprint of the encryption key kept in the database, so a process started with another
key (a second host without `ANJU_ENCRYPTION_KEY`, a lost key file) refuses to start instead of
writing values nobody else can read."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import sqlalchemy as sa

from engine.auth.tables import secret_table
from engine.database import write_transaction
from engine.protection.keys import KeyProblem, KeyRing, MasterKey

NAME = "encryption_key_fingerprint"


def fingerprint(key: MasterKey) -> str:
    """Identifies a key without revealing it: an HMAC under a key derived for this purpose."""
    digest = hmac.new(key.derive("fingerprint", 32), b"anju", hashlib.sha256).hexdigest()
    return f"{key.key_id}:{digest[:32]}"


def check_key(engine: sa.Engine, keys: KeyRing) -> None:
    """Record the current key's fingerprint on a new database; afterwards accept only the same
    key, or a rotation whose old keys include the recorded one."""
    current = fingerprint(keys.current)
    with write_transaction(engine) as conn:
        query = sa.select(secret_table.c.value).where(secret_table.c.name == NAME)
        stored = conn.execute(query).scalar()
        if stored is None:
            conn.execute(
                secret_table.insert().values(name=NAME, value=current, created_at=datetime.now(UTC))
            )
            return
        if stored == current:
            return
        if stored in {fingerprint(key) for key in keys.old}:
            conn.execute(
                secret_table.update().where(secret_table.c.name == NAME).values(value=current)
            )
            return
    raise KeyProblem(
        "the encryption key is not the one this database's sensitive values were written with "
        f"(recorded key {stored.split(':')[0]!r}); give the same ANJU_ENCRYPTION_KEY to every "
        "process, or the old key in ANJU_ENCRYPTION_OLD_KEYS when rotating"
    )
