"""A principal's access to one entity: the actions it may take, the row condition of each
action, and how each field shows to it.

Grants combine across the principal's roles: an action is allowed if any role grants it, on
the records any of those roles' scopes admit; a field shows as the most permissive of the
roles that read it. Admin and the platform itself (`SYSTEM`) are unrestricted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.expressions import Environment, SqlContext
from engine.permissions.organisations import org_table
from engine.principal import Assignment, Principal
from metamodel.models import SCOPE_WORDS, Grant


class FieldLevel(IntEnum):
    """How a field shows to a principal; a larger number shows less."""

    CLEAR = 0
    MASKED = 1
    HIDDEN = 2


@dataclass(frozen=True)
class Holding:
    """One role the principal holds, in one organisation, with the grant it has on the entity."""

    assignment: Assignment
    grant: Grant


@dataclass(frozen=True)
class RecordAccess:
    """What `principal` may do with the records of `entity`; built per request, cheaply."""

    entity: CompiledEntity
    principal: Principal
    holdings: tuple[Holding, ...] = ()
    unrestricted: bool = False
    levels: dict[str, FieldLevel] = field(default_factory=dict)

    def allows(self, action: str) -> bool:
        return self.unrestricted or any(action in h.grant.actions for h in self.holdings)

    def granting(self, action: str) -> list[Holding]:
        return [h for h in self.holdings if action in h.grant.actions]

    def level(self, name: str) -> FieldLevel:
        return self.levels.get(name, FieldLevel.CLEAR)

    def readable(self, name: str) -> bool:
        return self.level(name) < FieldLevel.HIDDEN

    def clear(self, name: str) -> bool:
        return self.level(name) == FieldLevel.CLEAR

    def writable(self, action: str) -> frozenset[str]:
        """Fields the principal may set when it takes `action` (create or update)."""
        names = self.entity.input_fields
        if self.unrestricted:
            return names
        allowed: set[str] = set()
        for holding in self.granting(action):
            rules = holding.grant.fields
            allowed.update(n for n in names if rules.get(n) not in ("readonly", "hidden"))
        return frozenset(allowed)

    def row_condition(
        self, action: str, table: sa.FromClause, context: SqlContext
    ) -> sa.ColumnElement[bool] | None:
        """The SQL condition on the records `action` may touch; None when every record."""
        if self.unrestricted:
            return None
        conditions: list[sa.ColumnElement[bool]] = []
        for holding in self.granting(action):
            for index, scope in enumerate(holding.grant.scopes):
                condition = self.scope_condition(holding, index, scope, table, context)
                if condition is None:
                    return None
                conditions.append(condition)
        return sa.or_(*conditions) if conditions else sa.false()

    def scope_condition(
        self,
        holding: Holding,
        index: int,
        scope: str,
        table: sa.FromClause,
        context: SqlContext,
    ) -> sa.ColumnElement[bool] | None:
        """One scope of one grant as SQL; None for `all`."""
        assignment = holding.assignment
        match scope:
            case "all":
                return None
            case "org":
                if assignment.org_id is None:
                    return sa.false()
                return table.c.org_id == assignment.org_id
            case "org_subtree":
                if assignment.org_path is None:
                    return sa.false()
                subtree = sa.select(org_table.c.id).where(
                    org_table.c.path.startswith(assignment.org_path, autoescape=True)
                )
                return table.c.org_id.in_(subtree.scalar_subquery())
            case "own":
                return table.c.created_by == self.principal.username
        expressions = self.entity.expressions.scopes[assignment.role]
        expression = expressions[_expression_index(holding.grant, index)]
        env = _assignment_environment(context.env, assignment)
        scoped = SqlContext(context.dialect, context.table_of, env)
        return expression.sql_condition(table, scoped)


def _expression_index(grant: Grant, index: int) -> int:
    """Scopes compile in order, skipping the words, so count the expressions before `index`."""
    return sum(1 for scope in grant.scopes[:index] if scope not in SCOPE_WORDS)


def _assignment_environment(env: Environment | None, assignment: Assignment) -> Environment:
    """`user.org_id` and `user.org_code` are those of the organisation the role is held in."""
    assert env is not None, "scopes are compiled with the request's environment"
    user: dict[str, Any] = dict(env.variables.get("user", {}))
    user.update(org_id=assignment.org_id, org_code=assignment.org_code)
    return replace(env, variables={**env.variables, "user": user})


def access_for(entity: CompiledEntity, principal: Principal) -> RecordAccess:
    """The principal's access to `entity`, from the grants of the roles it holds."""
    if principal.is_superuser:
        return RecordAccess(entity, principal, unrestricted=True)
    grants = entity.definition.permissions
    holdings = tuple(
        Holding(assignment, grants[assignment.role])
        for assignment in principal.held_roles()
        if assignment.role in grants
    )
    return RecordAccess(entity, principal, holdings, levels=_levels(entity, holdings))


def _levels(entity: CompiledEntity, holdings: tuple[Holding, ...]) -> dict[str, FieldLevel]:
    """Each field at the most permissive level among the roles that read the entity; sensitive
    fields masked unless a reading role may unmask."""
    readers = [h.grant for h in holdings if "read" in h.grant.actions]
    unmask = any("unmask" in grant.actions for grant in readers)
    levels: dict[str, FieldLevel] = {}
    for name, spec in entity.fields.items():
        shown = [_rule_level(grant.fields.get(name)) for grant in readers]
        level = min(shown) if shown else FieldLevel.HIDDEN
        if spec.sensitive and not unmask:
            level = max(level, FieldLevel.MASKED)
        if level != FieldLevel.CLEAR:
            levels[name] = level
    return levels


def _rule_level(rule: str | None) -> FieldLevel:
    if rule == "hidden":
        return FieldLevel.HIDDEN
    if rule == "masked":
        return FieldLevel.MASKED
    return FieldLevel.CLEAR
