"""Access tokens: HS256 JWTs (PyJWT) that live `access_token_minutes`, and their revocation.

A token is refused when its `jti` was revoked (logout), or when it was issued before the
user's `tokens_valid_after` (password change or reset, deactivation, role change).
Checking one costs two small queries: the user with the revocation, then the assignments.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import sqlalchemy as sa

from engine.auth.keys import SigningKeys
from engine.auth.principals import assignments_of, principal_from_row, user_with_org
from engine.auth.tables import as_utc, revoked_token_table, user_table, utcnow
from engine.principal import Principal

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "username", "jti", "iat", "exp"]


@dataclass(frozen=True)
class AccessToken:
    token: str
    jti: str
    expires_at: datetime
    expires_in: int  # seconds

    def as_json(self) -> dict[str, str | int]:
        return {"access_token": self.token, "token_type": "bearer", "expires_in": self.expires_in}


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    username: str
    jti: str
    issued_at: datetime
    expires_at: datetime


def issue_token(
    keys: SigningKeys, user_id: int, username: str, minutes: int, now: datetime | None = None
) -> AccessToken:
    """A signed token for the user; `iat` keeps microseconds so that a token issued just
    after a password change is told apart from one issued just before it."""
    issued = now or utcnow()
    expires = issued + timedelta(minutes=minutes)
    jti = secrets.token_urlsafe(16)
    claims = {
        "sub": str(user_id),
        "username": username,
        "jti": jti,
        "iat": issued.timestamp(),
        "exp": int(expires.timestamp()),
    }
    token = jwt.encode(claims, keys.token, algorithm=ALGORITHM)
    return AccessToken(token, jti, expires, minutes * 60)


def read_token(keys: SigningKeys, token: str) -> TokenClaims | None:
    """The claims of a well-signed, unexpired token; None for anything else."""
    try:
        claims = jwt.decode(
            token, keys.token, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS}
        )
        return TokenClaims(
            user_id=int(claims["sub"]),
            username=str(claims["username"]),
            jti=str(claims["jti"]),
            issued_at=datetime.fromtimestamp(float(claims["iat"]), UTC),
            expires_at=datetime.fromtimestamp(float(claims["exp"]), UTC),
        )
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return None


def principal_for_token(
    conn: sa.Connection, claims: TokenClaims, address: str | None
) -> Principal | None:
    """The token's user as a principal, unless the token was revoked or the user changed."""
    revoked = sa.exists().where(revoked_token_table.c.jti == claims.jti).label("revoked")
    query = user_with_org(revoked).where(user_table.c.id == claims.user_id)
    user = conn.execute(query).mappings().first()
    if user is None or not user["active"] or user["revoked"]:
        return None
    valid_after = as_utc(user["tokens_valid_after"])
    if valid_after is not None and claims.issued_at < valid_after:
        return None
    return principal_from_row(user, assignments_of(conn, user["id"], user["org_id"]), address)


def revoke_token(conn: sa.Connection, claims: TokenClaims, now: datetime | None = None) -> None:
    """Refuse the token from now on; revocations past their token's expiry are purged."""
    now = now or utcnow()
    conn.execute(revoked_token_table.delete().where(revoked_token_table.c.expires_at < now))
    exists = sa.select(revoked_token_table.c.jti).where(revoked_token_table.c.jti == claims.jti)
    if conn.execute(exists).first() is None:
        conn.execute(
            revoked_token_table.insert().values(jti=claims.jti, expires_at=claims.expires_at)
        )


def revoke_tokens_of(conn: sa.Connection, user_id: int, now: datetime | None = None) -> None:
    """Refuse every token of the user issued until now."""
    conn.execute(
        user_table.update()
        .where(user_table.c.id == user_id)
        .values(tokens_valid_after=now or utcnow())
    )
