"""The caller of every engine operation: who, in which organisation, with which roles, from where.

Authentication builds a principal per request; the engine decides from it what the caller may
see and do. `SYSTEM` is the platform itself (imports, demo data, timers) and bypasses
permissions, as does the `admin` role.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

SUPERUSER_ROLES = frozenset({"system", "admin"})


@dataclass(frozen=True)
class Assignment:
    """A role held in an organisation: scopes such as `org_subtree` are relative to `org_id`."""

    role: str
    org_id: int | None = None
    org_path: str | None = None  # "/1/4/17/": the org and its ancestors, for subtree scopes
    org_code: str | None = None


@dataclass(frozen=True)
class Principal:
    username: str
    roles: tuple[str, ...] = ()
    org_id: int | None = None
    user_id: int | None = None
    org_code: str | None = None
    org_path: str | None = None
    assignments: tuple[Assignment, ...] = ()
    address: str | None = None  # the client's IP address, for the audit trail

    @property
    def is_superuser(self) -> bool:
        return not SUPERUSER_ROLES.isdisjoint(self.roles)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None or self.username == "system"

    def held_roles(self) -> tuple[Assignment, ...]:
        """Explicit assignments, or the principal's roles in its own organisation."""
        if self.assignments:
            return self.assignments
        return tuple(
            Assignment(role, self.org_id, self.org_path, self.org_code) for role in self.roles
        )

    def from_address(self, address: str | None) -> Principal:
        return replace(self, address=address)


SYSTEM = Principal("system", roles=("system",))
ANONYMOUS = Principal("anonymous")
