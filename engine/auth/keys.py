"""The signing key of tokens and cookies: `ANJU_SECRET_KEY`, else one generated on first
start and kept in `anju_secret`, so every worker (and every restart) signs alike."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from engine.auth.tables import secret_table, utcnow
from engine.database import write_transaction
from engine.settings import Settings

SECRET_NAME = "signing_key"


@dataclass(frozen=True)
class SigningKeys:
    """One key per use, derived from the secret, so a token can never pass for a cookie."""

    token: bytes  # HS256 key of access tokens
    cookie: bytes  # HMAC key of session cookies and login-form CSRF tokens

    @classmethod
    def from_secret(cls, secret: str) -> SigningKeys:
        return cls(token=_derive(secret, "token"), cookie=_derive(secret, "cookie"))

    def sign(self, value: str, purpose: str) -> str:
        """An HMAC of `value` for `purpose`, in hex: cookies are `value.signature`."""
        message = f"{purpose}:{value}".encode()
        return hmac.new(self.cookie, message, hashlib.sha256).hexdigest()

    def verify(self, value: str, purpose: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(value, purpose), signature)


def _derive(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"anju/{purpose}".encode(), hashlib.sha256).digest()


def load_keys(engine: sa.Engine, settings: Settings) -> SigningKeys:
    """The keys of the configured secret, or of the stored one (created if absent)."""
    if settings.secret_key:
        return SigningKeys.from_secret(settings.secret_key)
    return SigningKeys.from_secret(stored_secret(engine))


def stored_secret(engine: sa.Engine) -> str:
    """The generated secret; the first worker to get here inserts it, the others read it."""
    query = sa.select(secret_table.c.value).where(secret_table.c.name == SECRET_NAME)
    with engine.connect() as conn:
        found = conn.execute(query).scalar()
    if found is not None:
        return str(found)
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                secret_table.insert().values(
                    name=SECRET_NAME, value=secrets.token_urlsafe(48), created_at=utcnow()
                )
            )
    except sa.exc.IntegrityError:
        pass  # another worker inserted it first: use theirs
    with engine.connect() as conn:
        return str(conn.execute(query).scalar_one())
