"""The caller of every engine operation; permissions will read it, every call passes it now."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    username: str
    roles: tuple[str, ...] = ()
    org_id: int | None = None


SYSTEM = Principal("system", roles=("system",))
ANONYMOUS = Principal("anonymous")
