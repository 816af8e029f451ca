"""Password hashes: argon2id (argon2-cffi) with the parameters of the app's settings.

Hashing is deliberately slow and CPU-bound; the HTTP layer runs it in a bounded thread pool
so that logins never stall the event loop. A hash made with older parameters is replaced at
the next successful login (`needs_rehash`).
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from engine.settings import Settings


def hasher_for(settings: Settings) -> PasswordHasher:
    """An argon2id hasher with the settings' time, memory (KiB) and parallelism costs."""
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def hash_password(hasher: PasswordHasher, password: str) -> str:
    return hasher.hash(password)


def verify_password(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    """True when `password` matches; a malformed stored hash never matches."""
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(hasher: PasswordHasher, password_hash: str) -> bool:
    """True when the hash was made with other parameters than the hasher's."""
    try:
        return hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
