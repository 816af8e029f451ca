"""Hashing audit entries into a chain: each entry's hash covers its content and the hash of
the entry before it, so editing, deleting or reordering any entry breaks every later link."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes

GENESIS = "0" * 64
ALGORITHMS = ("sha256", "sm3")
HASHED_FIELDS = (
    "seq",
    "at",
    "actor",
    "actor_org_id",
    "address",
    "action",
    "target",
    "record_id",
    "outcome",
    "detail",
    "algorithm",
    "prev_hash",
)


def digest(algorithm: str, data: bytes) -> str:
    """SHA-256, or SM3 (GB/T 32905) where configured; both give 64 hex characters."""
    if algorithm == "sha256":
        return hashlib.sha256(data).hexdigest()
    if algorithm == "sm3":
        hasher = hashes.Hash(hashes.SM3())
        hasher.update(data)
        return hasher.finalize().hex()
    raise ValueError(f"unknown audit hash {algorithm!r}; expected one of {', '.join(ALGORITHMS)}")


def entry_hash(entry: Mapping[str, Any]) -> str:
    """The hash of one stored entry, from its own fields (which include the previous hash):
    canonical JSON (sorted keys, no spaces, UTF-8) of `HASHED_FIELDS`, `at` as `_utc_text`."""
    content = {name: entry[name] for name in HASHED_FIELDS}
    content["at"] = _utc_text(content["at"])
    return digest(entry["algorithm"], orjson.dumps(content, option=orjson.OPT_SORT_KEYS))


def _utc_text(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds, whatever the database returns: SQLite gives the
    UTC time without a zone, PostgreSQL an aware time in the session's zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")
