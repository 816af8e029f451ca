"""What one app instance needs to authenticate: settings, database, hasher, policy, keys."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

import sqlalchemy as sa
from argon2 import PasswordHasher

from engine.audit import AuditEvent, append
from engine.auth.keys import SigningKeys, load_keys
from engine.auth.passwords import hash_password, hasher_for
from engine.auth.policies import PasswordPolicy, policy_for
from engine.settings import Settings


@dataclass
class Realm:
    """Built once per app (never process-global); the keys are read from the database at
    first use, after the runtime has created the system tables."""

    settings: Settings
    engine: sa.Engine
    hasher: PasswordHasher
    policy: PasswordPolicy
    _keys: SigningKeys | None = None
    _dummy_hash: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, settings: Settings, engine: sa.Engine) -> Realm:
        return cls(settings, engine, hasher_for(settings), policy_for(settings))

    def keys(self) -> SigningKeys:
        keys = self._keys
        if keys is None:
            with self._lock:
                if self._keys is None:
                    self._keys = load_keys(self.engine, self.settings)
                keys = self._keys
        return keys

    def dummy_hash(self) -> str:
        """A hash to verify unknown usernames against, so they cost as much as known ones."""
        if self._dummy_hash is None:
            self._dummy_hash = hash_password(self.hasher, secrets.token_urlsafe(16))
        return self._dummy_hash

    def audit(self, conn: sa.Connection, event: AuditEvent) -> None:
        append(conn, event, algorithm=self.settings.audit_hash)
